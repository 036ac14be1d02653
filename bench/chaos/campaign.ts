// The fault campaign (issue #8 §4): N random faults under Web-cache load, chosen
// by a seeded PRNG, with the invariants checked after each fault and at the end:
//   corrupt     every 200/206 body is byte-identical to the file on disk
//   hang        no request goes unanswered past the bound
//   badStatus   no wrong status for an existing file (5xx and resets are clean failures)
//   mutex       no mutex wedged: none held by a dead process, none held past the
//               bound while others wait, no deadlock cycle in the wait-for graph
//   membership  every running node installs the current generation, members = running nodes
//   serving     every running node's server answers again
//   consistency the cache structures pass the SDK's consistency check (when it has one)
//   master      the cache component has a master among its members whose contribution
//               houses the master area; after a master kill, a new master (another
//               node, or a new incarnation) and a relocated master area
//   threads     every running node runs its revalidation worker thread again
//   logGap      no (node, incarnation) has a gap in its event-log sequence
// Faults: SIGKILL at random moments, two at once, a second one during the first's
// recovery, SIGSTOP/SIGCONT, memory-region failures, node restarts, worker-thread
// deaths (kill-thread, at once or holding a chain mutex) and kills of the cache
// component's master (sometimes while a recovery runs). The last two need the
// global cache: the other modes have no shared structures, threads or master.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CacheMode } from '../../runtime/apps/webcache/cache-api';
import { checkCacheConsistency } from '../../runtime/apps/webcache/cache-check';
import { WEBCACHE_COMPONENT } from '../../runtime/apps/webcache/global-cache';
import { REVALIDATOR_THREAD } from '../../runtime/apps/webcache/revalidator';
import { prng } from '../../runtime/apps/webcache/sample-site';
import type { ComponentInfo } from '../../runtime/control/api';
import { createControlBackend } from '../../runtime/control/backend';
import { buildWaitGraph } from '../../runtime/control/wait-graph';
import { contribution } from '../../runtime/gsm/layout';
import { probe } from '../http-probe';
import { benchSite, modeAvailable, startWebcacheCluster, type WebcacheCluster } from '../webcache-cluster';
import { VerifyingLoad } from './verifying-load';

export const CHECKS = ['corrupt', 'hang', 'badStatus', 'mutex', 'membership', 'serving', 'consistency', 'master', 'threads', 'logGap'] as const;
export type Check = (typeof CHECKS)[number];

export const FAULT_KINDS = ['kill', 'kill-two', 'kill-during-recovery', 'stop-cont', 'memory', 'restart', 'thread', 'master'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface CampaignOptions {
  faults: number;
  seed: number;
  nodes?: number;
  mode?: CacheMode;
  /** A request (and each convergence) must complete within this. */
  boundMs?: number;
  concurrency?: number;
}

export interface FaultRecord {
  fault: number;
  kind: FaultKind;
  nodes: number[];
  /** Why it could not be injected as drawn (then a restart was injected instead). */
  substituted?: string;
  violations: Partial<Record<Check, number>>;
  details: string[];
}

export interface CampaignReport {
  faults: number;
  violations: number;
  checks: Record<Check, number>;
  seed: number;
  mode: CacheMode;
  requests: number;
  ok: number;
  failedRequests: number;
  byKind: Partial<Record<FaultKind, number>>;
  /** Checks or faults this build cannot run, with the reason. */
  unavailable: string[];
  durationS: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SDK's cache consistency check in global mode: problems found, [] when consistent. */
type ConsistencyCheck = (c: WebcacheCluster, bytesOf: Map<string, Buffer>, boundMs: number) => Promise<string[]>;
function consistencyCheckFor(mode: CacheMode): ConsistencyCheck | null {
  if (mode !== 'global') return null;
  return async (c, bytesOf, boundMs) => {
    // Cached bytes are compared with the file on disk, as well as the structure.
    const verify = (key: string, _stamp: unknown, bytes: Uint8Array) => {
      const want = bytesOf.get(key);
      return !want || Buffer.compare(want, bytes) === 0;
    };
    const deadline = Date.now() + boundMs;
    for (;;) {
      const r = checkCacheConsistency(c.mc.gsm, c.mc.namespace, { verify });
      if (!r.recovering) return r.problems;
      if (Date.now() > deadline) return [`still recovering ${boundMs} ms after the fault${r.undetected?.length ? `, failed memory still on chains: ${r.undetected.slice(0, 3).join('; ')}` : ''}`];
      await sleep(20);
    }
  };
}

export async function runCampaign(o: CampaignOptions, onFault: (f: FaultRecord) => void = () => {}): Promise<CampaignReport> {
  const t0 = Date.now();
  const rand = prng(o.seed);
  const nodes = o.nodes ?? 4;
  const boundMs = o.boundMs ?? 15_000;
  const mode: CacheMode = o.mode ?? (modeAvailable('global') ? 'global' : 'shared-nothing');
  const gsmMb = 8;
  const { site, manifest } = await benchSite({ files: 300, largeBytes: gsmMb * 1024 * 1024, largeFiles: 1 });
  const files = manifest.files.map((f) => ({ path: f.path, bytes: readFileSync(path.join(site, f.path)) }));
  const c = await startWebcacheCluster({ name: 'chaos', nodes, mode, cacheMb: 4, gsmMb, site, manifest, heartbeatMs: 100, heartbeatTimeoutMs: 1000 });
  const { mc } = c;
  const backend = createControlBackend(mc);
  const checks = Object.fromEntries(CHECKS.map((k) => [k, 0])) as Record<Check, number>;
  const byKind: Partial<Record<FaultKind, number>> = {};
  const unavailable: string[] = [];
  const consistency = consistencyCheckFor(mode);
  if (!consistency) unavailable.push(`consistency: no cache consistency check for mode ${mode} in this build (only the global cache has shared structures)`);
  const bytesOf = new Map(files.map((f) => [f.path, f.bytes]));
  // Faults this mode cannot have are not drawn (never replaced by another fault under their name).
  const global = mode === 'global';
  const drawable = FAULT_KINDS.filter((k) => global || (k !== 'thread' && k !== 'master'));
  if (!global) {
    unavailable.push(`thread: the ${mode} cache runs no worker threads (the global cache's revalidation thread); not drawn`);
    unavailable.push(`master: the ${mode} cache has no component master; not drawn`);
    unavailable.push(`master, threads: checks of the global cache only`);
  }
  /** Master kills whose outcome the next check verifies: the master and its area before the kill. */
  let masterKilled: { node: number; incarnation: number; area: string | null } | null = null;
  const cacheComponent = () => (backend.components({}) as ComponentInfo[]).find((x) => x.name === WEBCACHE_COMPONENT);
  const small = files.find((f) => f.bytes.length < 16384 && !f.path.startsWith('large/'))!;

  const load = new VerifyingLoad(() => [...c.endpoints().values()], files, { zipf: 0.9, seed: o.seed, concurrency: o.concurrency ?? 6, boundMs });
  let reported = 0;
  const running = () => mc.nodes().filter((n) => n.state === 'up' || n.state === 'suspect');
  const pickNodes = (k: number) => {
    const ids = running().map((n) => n.id);
    const out: number[] = [];
    while (out.length < k && ids.length) out.push(ids.splice(Math.floor(rand() * ids.length), 1)[0]!);
    return out;
  };
  const kill = (id: number) => mc.killNode(id).catch(() => undefined);

  async function inject(kind: FaultKind, rec: FaultRecord): Promise<void> {
    // Keep two nodes serving: with fewer, kills become restarts.
    if ((kind === 'kill' || kind === 'kill-two' || kind === 'kill-during-recovery' || kind === 'thread' || kind === 'master') && running().length <= 2) {
      rec.substituted = 'fewer than 3 nodes running';
      kind = rec.kind = 'restart';
    }
    await sleep(rand() * 300); // a random moment in the traffic
    switch (kind) {
      case 'kill': {
        rec.nodes = pickNodes(1);
        await Promise.all(rec.nodes.map(kill));
        break;
      }
      case 'kill-two': {
        rec.nodes = pickNodes(2);
        await Promise.all(rec.nodes.map(kill));
        break;
      }
      case 'kill-during-recovery': {
        rec.nodes = pickNodes(2);
        const first = kill(rec.nodes[0]!);
        await sleep(rand() * 30);
        await Promise.all([first, kill(rec.nodes[1]!)]);
        break;
      }
      case 'stop-cont': {
        rec.nodes = pickNodes(1);
        const id = rec.nodes[0]!;
        mc.stopNode(id);
        await sleep(50 + rand() * 1450);
        try {
          mc.contNode(id);
        } catch {
          rec.details.push(`node ${id} was fenced while stopped`);
        }
        break;
      }
      case 'memory': {
        rec.nodes = pickNodes(1);
        const id = rec.nodes[0]!;
        const { layout } = mc.gsm;
        const length = 4096 * (1 + Math.floor(rand() * 16));
        const offset = contribution(layout, id) + 4096 * Math.floor(rand() * ((layout.contributionBytes - length) / 4096));
        await mc.failMemory({ offset, length });
        rec.details.push(`failed ${length} bytes at ${offset} in node ${id}'s contribution`);
        break;
      }
      case 'thread': {
        rec.nodes = pickNodes(1);
        const id = rec.nodes[0]!;
        const holding = rand() < 0.5;
        try {
          const r = await backend.killThread({ node: id, name: REVALIDATOR_THREAD, holding });
          rec.details.push(`thread ${r.name} (tid ${r.tid}) of node ${id} killed ${holding ? 'right after it took a chain mutex' : 'at once'}`);
        } catch (e) {
          // Not running yet (its node restarted a moment ago): nothing was injected.
          rec.details.push(`no thread killed on node ${id} (${(e as Error).message})`);
        }
        break;
      }
      case 'master': {
        const comp = cacheComponent();
        const live = new Set(running().map((n) => n.id));
        const id = comp?.master ?? null;
        if (id === null || !live.has(id)) {
          rec.substituted = `no running master (${id})`;
          rec.kind = 'kill';
          rec.nodes = pickNodes(1);
          await Promise.all(rec.nodes.map(kill));
          break;
        }
        rec.nodes = [id];
        masterKilled = { node: id, incarnation: mc.nodes().find((n) => n.id === id)!.incarnation, area: comp!.masterArea };
        if (rand() < 0.5) {
          // While its recovery runs: an operator-requested one, the master killed a random moment into it.
          backend.triggerRecovery({ component: WEBCACHE_COMPONENT });
          await sleep(rand() * 40);
          rec.details.push(`master node ${id} killed ${cacheComponent()?.recovering ? 'during' : 'just after'} a recovery`);
        } else rec.details.push(`master node ${id} killed`);
        await kill(id);
        break;
      }
      case 'restart': {
        rec.nodes = mc.nodes().length ? [mc.nodes()[Math.floor(rand() * mc.nodes().length)]!.id] : [];
        for (const id of rec.nodes) await mc.restartNode(id).catch((e: Error) => rec.details.push(`restart ${id}: ${e.message}`));
        break;
      }
    }
  }

  async function until(cond: () => boolean | Promise<boolean>, ms = boundMs): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await cond()) return true;
      await sleep(20);
    }
    return false;
  }

  async function check(rec: FaultRecord): Promise<void> {
    const fail = (k: Check, detail: string) => {
      checks[k]++;
      rec.violations[k] = (rec.violations[k] ?? 0) + 1;
      rec.details.push(`${k}: ${detail}`);
    };
    // Failed nodes come back (node restarts are part of the campaign), one at a time.
    for (const n of mc.nodes()) if (n.state === 'failed') await mc.restartNode(n.id).catch((e: Error) => rec.details.push(`restart ${n.id}: ${e.message}`));
    const converged = await until(() => {
      const live = running().map((n) => n.id).sort((a, b) => a - b);
      const g = mc.generation();
      return mc.nodes().every((n) => n.state !== 'starting') && JSON.stringify(mc.members()) === JSON.stringify(live) && live.every((id) => mc.installedAt(id).generation === g);
    });
    if (!converged) fail('membership', `not converged within ${boundMs} ms: members ${mc.members().join(',')}, generation ${mc.generation()}`);
    try {
      const eps = await c.waitServing(undefined, boundMs);
      await Promise.all(
        [...eps].map(async ([id, url]) => {
          const ok = await until(async () => {
            const r = await probe(`${url}/${small.path}`, 2000).catch(() => null);
            return r?.status === 200 && r.body.equals(small.bytes);
          });
          if (!ok) fail('serving', `node ${id} (${url}) does not serve within ${boundMs} ms`);
        }),
      );
    } catch (e) {
      fail('serving', (e as Error).message);
    }
    const mutexes = await backend.mutexes({});
    const alive = new Set(running().map((n) => n.pid));
    for (const m of mutexes) {
      if (m.holder && m.state === 'held' && !alive.has(m.holder.pid)) fail('mutex', `${m.name} (${m.id}) held by dead pid ${m.holder.pid}`);
      else if (m.holder && m.waiterCount > 0 && m.holder.heldMs > boundMs) fail('mutex', `${m.name} (${m.id}) held ${Math.round(m.holder.heldMs)} ms with ${m.waiterCount} waiting`);
    }
    for (const cycle of buildWaitGraph(mutexes).cycles) fail('mutex', `deadlock cycle of ${cycle.length} threads`);
    if (consistency) for (const problem of await consistency(c, bytesOf, boundMs)) fail('consistency', problem);
    if (global) {
      let comp: ComponentInfo | undefined;
      await until(() => {
        comp = cacheComponent();
        return !!comp && !comp.recovering;
      });
      const master = comp?.master ?? null;
      const housed = comp?.masterArea ? (() => {
        try {
          return mc.namespace.resolve(comp!.masterArea!).ownerNode;
        } catch {
          return null;
        }
      })() : null;
      if (!comp) fail('master', 'the cache component is gone');
      else if (comp.recovering) fail('master', `still recovering ${boundMs} ms after the fault (${comp.cause})`);
      else if (master === null || !comp.members.includes(master)) fail('master', `master ${master} is not a member (${comp.members.join(',')})`);
      else if (housed !== master) fail('master', `master area ${comp.masterArea} lies in node ${housed}'s contribution, not the master ${master}'s`);
      else if (masterKilled) {
        const inc = mc.nodes().find((n) => n.id === master)!.incarnation;
        if (master === masterKilled.node && inc === masterKilled.incarnation) fail('master', `node ${master} incarnation ${inc} is still master after it was killed`);
        else if (comp.masterArea === masterKilled.area) fail('master', `the master area ${comp.masterArea} was not relocated`);
        else rec.details.push(`new master: node ${master}.${inc}, area ${masterKilled.area} -> ${comp.masterArea}`);
      }
      masterKilled = null;
      const missing = () => running().filter((n) => n.state === 'up' && !n.threads?.some((x) => x.name === REVALIDATOR_THREAD && x.state === 'running')).map((n) => n.id);
      if (!(await until(() => missing().length === 0))) fail('threads', `node ${missing().join(', ')} runs no ${REVALIDATOR_THREAD} thread ${boundMs} ms after the fault`);
    }
    const pairs = mc.store.statement('SELECT DISTINCT node, incarnation FROM events WHERE node >= 0').all() as { node: number; incarnation: number }[];
    for (const p of pairs) for (const gap of mc.query.checkGaps(p.node, p.incarnation)) fail('logGap', `node ${p.node}.${p.incarnation}: seq ${gap.from}..${gap.to} missing`);
    // Request-level violations seen since the last check.
    for (const v of load.violations.slice(reported)) fail(v.check, v.detail);
    reported = load.violations.length;
  }

  try {
    await c.waitServing();
    load.start();
    for (let i = 1; i <= o.faults; i++) {
      const kind = drawable[Math.floor(rand() * drawable.length)]!;
      const rec: FaultRecord = { fault: i, kind, nodes: [], violations: {}, details: [] };
      await inject(kind, rec);
      byKind[rec.kind] = (byKind[rec.kind] ?? 0) + 1;
      await sleep(100 + rand() * 400); // traffic through the aftermath
      await check(rec);
      onFault(rec);
    }
    await load.stop();
    const final: FaultRecord = { fault: o.faults + 1, kind: 'restart', nodes: [], violations: {}, details: ['final check'] };
    await check(final);
  } finally {
    await load.stop();
    await c.stop();
  }
  const violations = Object.values(checks).reduce((a, b) => a + b, 0);
  return {
    faults: o.faults,
    violations,
    checks,
    seed: o.seed,
    mode,
    requests: load.counts.requests,
    ok: load.counts.ok,
    failedRequests: load.counts.failed,
    byKind,
    unavailable,
    durationS: (Date.now() - t0) / 1000,
  };
}
