// npm run bench -- detect
// On a 4-node multicomputer: SIGKILL a node and time until every survivor has
// installed the new membership generation (crash_detect_p50/p99_ms over >= 20
// kills); SIGSTOP a node and time the same (hang_detect_p99_ms, with its ratio
// in heartbeat periods: the target is at most 3 periods + 10 ms).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Supervisor, startMulticomputer } from '../../runtime/cluster/supervisor';
import { monotonicNs } from '../../runtime/gsm/native';
import { metric, quantile, type Suite } from '../metric';

const KILLS = 24;
const HANGS = 10;
const HEARTBEAT_MS = 100;

/** Waits until every member of the current generation has installed it; returns when the last did (ns). */
async function allInstalled(mc: Supervisor, generationAtLeast: number): Promise<{ generation: number; lastNs: number }> {
  for (;;) {
    const g = mc.generation();
    if (g >= generationAtLeast) {
      const members = mc.members();
      const seen = members.map((n) => mc.installedAt(n));
      if (seen.every((s) => s.generation >= g)) return { generation: g, lastNs: Math.max(...seen.map((s) => s.atNs)) };
    }
    await new Promise((r) => setImmediate(r));
  }
}

async function measure(mc: Supervisor, victim: number, signal: 'SIGKILL' | 'SIGSTOP'): Promise<number> {
  const before = mc.generation();
  const pid = mc.nodes().find((n) => n.id === victim)!.pid!;
  const t0 = monotonicNs();
  process.kill(pid, signal);
  const { lastNs } = await allInstalled(mc, before + 1);
  const ms = (lastNs - t0) / 1e6;
  // Let the failure handling finish, then bring the node back for the next round.
  while (mc.nodes().find((n) => n.id === victim)!.state !== 'failed') await new Promise((r) => setTimeout(r, 1));
  await mc.restartNode(victim);
  return ms;
}

const suite: Suite = async (report) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcs-bench-detect-'));
  const mc = await startMulticomputer({ name: `bench-detect-${process.pid}`, stateDir: dir, nodes: 4, gsmMb: 4, apps: [], heartbeatMs: HEARTBEAT_MS });
  try {
    const crash: number[] = [];
    for (let i = 0; i < KILLS; i++) crash.push(await measure(mc, 1 + (i % 3), 'SIGKILL'));
    report(metric('detect', 'crash_detect_p50_ms', 'ms', quantile(crash, 0.5), null, `${KILLS} SIGKILLs, 4 nodes, until all survivors installed`));
    report(metric('detect', 'crash_detect_p99_ms', 'ms', quantile(crash, 0.99), null, 'target <= 50 ms'));
    const hang: number[] = [];
    for (let i = 0; i < HANGS; i++) hang.push(await measure(mc, 1 + (i % 3), 'SIGSTOP'));
    report(
      metric('detect', 'hang_detect_p99_ms', 'ms', quantile(hang, 0.99), HEARTBEAT_MS,
        `heartbeat ${HEARTBEAT_MS} ms, timeout ${mc.heartbeatTimeoutMs} ms; baseline = 1 period, target ratio <= ${3 + 10 / HEARTBEAT_MS}`),
    );
  } finally {
    await mc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
export default suite;
