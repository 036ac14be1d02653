// npm run bench -- recovery
// Four nodes under Web-cache load with 64 GSM sections in use (16 per node, like
// the paper's "64 application GSM areas"); SIGKILL a node and time from the kill
// until every survivor serves again: a request issued after the kill succeeds,
// with the right bytes, on every surviving port. Over 12 kills, the killed node
// restarted between runs. MCS reported under 2 s; the target is p99 <= 100 ms.
// The mode is `global` when this build has it; otherwise the metrics carry the
// mode's name (a shared-nothing cache has no shared state to rebuild, so its
// figure is only the floor: detection plus one request).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../../runtime/apps/webcache/load';
import { monotonicNs } from '../../runtime/gsm/native';
import { probe } from '../http-probe';
import { metric, quantile, type Suite } from '../metric';
import { benchSite, modeAvailable, startWebcacheCluster } from '../webcache-cluster';

const KILLS = 12;
const SECTIONS_PER_NODE = 16;
const sectionsApp = path.join(path.dirname(fileURLToPath(import.meta.url)), '../apps/sections.ts');

const suite: Suite = async (report) => {
  const mode = modeAvailable('global') ? 'global' : 'shared-nothing';
  const suffix = mode === 'global' ? '' : `_${mode.replace('-', '_')}`;
  const { site, manifest } = await benchSite();
  const c = await startWebcacheCluster({
    name: 'brec', nodes: 4, mode, cacheMb: 8, gsmMb: 16, site, manifest, heartbeatTimeoutMs: 1000,
    extraApps: [{ app: sectionsApp, config: { count: SECTIONS_PER_NODE } }],
  });
  const files = manifest.files.map((f) => f.path);
  const small = manifest.files.find((f) => f.size < 16 * 1024 && !f.path.startsWith('large/'))!;
  const want = readFileSync(path.join(site, small.path));
  const samples: number[] = [];
  let minObjects = Infinity;
  let stoppedBy: string | null = null;
  try {
    for (let i = 0; i < KILLS; i++) {
      let eps: Map<number, string>;
      try {
        eps = await c.waitServing();
      } catch (e) {
        // A node that does not come back is a finding, not a number: say so and report what was measured.
        stoppedBy = (e as Error).message;
        break;
      }
      const deadline = Date.now() + 30_000;
      while (c.mc.namespace.list().length < 4 * SECTIONS_PER_NODE && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      minObjects = Math.min(minObjects, c.mc.namespace.list().length);
      const victim = 1 + (i % 3);
      const survivors = [...eps].filter(([id]) => id !== victim);
      const stopLoad = new AbortController();
      const load = runLoad({ urls: [...eps.values()], files, zipf: 0.9, durationS: 60, connections: 8, rps: 400, signal: stopLoad.signal, timeoutS: 2 });
      await new Promise((r) => setTimeout(r, 300));
      const pid = c.mc.nodes().find((n) => n.id === victim)!.pid!;
      const t0 = monotonicNs();
      process.kill(pid, 'SIGKILL');
      const served = await Promise.all(
        survivors.map(async ([, url]) => {
          for (;;) {
            try {
              const r = await probe(`${url}/${small.path}`, 2000);
              if (r.status === 200 && r.body.equals(want)) return monotonicNs();
            } catch {
              // not serving yet
            }
            await new Promise((r) => setTimeout(r, 1));
          }
        }),
      );
      samples.push((Math.max(...served) - t0) / 1e6);
      stopLoad.abort();
      await load;
      while (c.mc.nodes().find((n) => n.id === victim)!.state !== 'failed') await new Promise((r) => setTimeout(r, 5));
      await c.mc.restartNode(victim);
    }
    if (stoppedBy) console.error(`bench recovery: stopped after ${samples.length} of ${KILLS} kills: ${stoppedBy}`);
    if (!samples.length) return;
    report(metric('recovery', `recovery_p50_ms${suffix}`, 'ms', quantile(samples, 0.5), null, `${samples.length} SIGKILLs, 4 nodes under load, mode ${mode}, >= ${minObjects} GSM objects at each kill`));
    report(metric('recovery', `recovery_p99_ms${suffix}`, 'ms', quantile(samples, 0.99), null, 'target <= 100 ms (MCS: < 2 s)'));
  } finally {
    await c.stop();
  }
};
export default suite;
