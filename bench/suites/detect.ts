// npm run bench -- detect [--quick]
// Failure detection on 4-node multicomputers with a 100 ms heartbeat:
//
//   crash_detect_p50/p99_ms     SIGKILL a node; time until every survivor has
//                               installed the new generation (>= 20 kills).
//   hang_detect_p99_ms          the same for a SIGSTOPped node on a quiet machine;
//                               baseline one period, target <= 3 periods + 10 ms.
//   supervisor_busy_false_ejections
//                               the supervisor's main thread saturated for 5 s
//                               (a busy loop): healthy nodes ejected (target 0).
//   stall_false_ejections       the whole multicomputer (supervisor in its own
//                               process, and every node) SIGSTOPped 10 x 1 s and
//                               5 x 5 s, resumed in random order with the
//                               supervisor first or last (target 0).
//   overload_false_ejections    4 nodes running the counter app while outside
//                               programs oversubscribe the CPUs 4x for 3 minutes
//                               (target 0), and during it
//   hang_detect_overload_p99_ms the hang figure under that overload.
//
// --quick shortens the pauses and the overload for development.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Supervisor, startMulticomputer } from '../../runtime/cluster/supervisor';
import { N, nodeRecord } from '../../runtime/gsm/layout';
import { monotonicNs } from '../../runtime/gsm/native';
import type { EventQuery } from '../../runtime/log/query';
import { startChildMulticomputer } from '../../test/helpers/child-multicomputer';
import { metric, quantile, type Suite } from '../metric';

const KILLS = 24;
const HANGS = 10;
const HEARTBEAT_MS = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until every member of the current generation has installed it; returns when the last did (ns). */
async function allInstalled(mc: Supervisor, generationAtLeast: number): Promise<{ generation: number; lastNs: number }> {
  for (;;) {
    const g = mc.generation();
    if (g >= generationAtLeast) {
      const members = mc.members();
      const seen = members.map((n) => mc.installedAt(n));
      if (seen.every((s) => s.generation >= g)) return { generation: g, lastNs: Math.max(...seen.map((s) => s.atNs)) };
    }
    // The installs carry their own timestamps: polling slowly costs no precision.
    await sleep(1);
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
  while (mc.nodes().find((n) => n.id === victim)!.state !== 'failed') await sleep(1);
  await restart(mc, victim);
  return ms;
}

/** Restarts that did not start in time (a starved machine) and were tried again. */
let retriedStarts = 0;

/** Brings a node back; under the overload a start can exceed its timeout, so it is tried three times. */
async function restart(mc: Supervisor, id: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await mc.restartNode(id);
      return;
    } catch (err) {
      const failed = mc.query.query({ kinds: ['node.failed', 'node.stderr'], object: `node${id}` }, { limit: 3 }).rows.map((r) => JSON.stringify(r.details));
      console.error(`bench detect: node ${id} did not start (attempt ${attempt}): ${failed.join(' | ')}`);
      if (attempt === 3) throw err;
      retriedStarts++;
    }
  }
}

/**
 * node.failed rows for incarnations nobody meant to fail. A restart that did not
 * finish starting in time (the supervisor's start timeout on a starved machine)
 * is no verdict of the detector's: it is counted apart.
 */
function unexpectedFailures(mc: Supervisor, expected: Set<string>): number {
  return [...mc.query.iterate({ kinds: ['node.failed'] })].filter((r) => {
    const d = JSON.parse(r.details) as { node: number; incarnation: number; cause: string };
    return !expected.has(`${d.node}/${d.incarnation}`) && d.cause !== 'did not start';
  }).length;
}

const rowsOf = (q: EventQuery, kind: string) => [...q.iterate({ kinds: [kind] })].length;

const load = () => `load avg ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} CPUs (machine shared with other work)`;

async function quietFigures(report: Parameters<Suite>[0], dir: string) {
  const mc = await startMulticomputer({ name: `bench-detect-${process.pid}`, stateDir: dir, nodes: 4, gsmMb: 4, apps: [], heartbeatMs: HEARTBEAT_MS, restart: 'never' });
  try {
    const crash: number[] = [];
    for (let i = 0; i < KILLS; i++) crash.push(await measure(mc, 1 + (i % 3), 'SIGKILL'));
    report(metric('detect', 'crash_detect_p50_ms', 'ms', quantile(crash, 0.5), null, `${KILLS} SIGKILLs, 4 nodes, until all survivors installed`));
    report(metric('detect', 'crash_detect_p99_ms', 'ms', quantile(crash, 0.99), null, 'target <= 50 ms'));
    const hang: number[] = [];
    for (let i = 0; i < HANGS; i++) hang.push(await measure(mc, 1 + (i % 3), 'SIGSTOP'));
    report(
      metric('detect', 'hang_detect_p99_ms', 'ms', quantile(hang, 0.99), HEARTBEAT_MS,
        `heartbeat ${HEARTBEAT_MS} ms, timeout ${mc.heartbeatTimeoutMs} ms; baseline = 1 period, target ratio <= ${3 + 10 / HEARTBEAT_MS}; ${load()}`),
    );

    // The supervisor's main thread saturated: detection runs on its own thread.
    const generation = mc.generation();
    const failedBefore = rowsOf(mc.query, 'node.failed');
    const until = Date.now() + 5000;
    while (Date.now() < until);
    await sleep(1000);
    const ejected = rowsOf(mc.query, 'node.failed') - failedBefore;
    report(metric('detect', 'supervisor_busy_false_ejections', 'nodes', ejected, null,
      `main thread busy 5 s; generation ${generation} -> ${mc.generation()}; target 0`));
  } finally {
    await mc.stop();
  }
}

async function stallFigures(report: Parameters<Suite>[0], quick: boolean) {
  const pauses = quick ? [1000, 1000, 1000, 2000] : [...Array(10).fill(1000), ...Array(5).fill(5000)];
  const c = await startChildMulticomputer({ nodes: 4, heartbeatMs: HEARTBEAT_MS, apps: ['counter'] });
  let rng = 20261130;
  const random = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const count = (n: number) => c.gsm.map.load64n(nodeRecord(c.gsm.layout, n) + N.heartbeatCount);
  let log;
  try {
    for (const ms of pauses) {
      const pids = c.allPids();
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      await sleep(ms);
      const nodes = c.nodePids.slice().sort(() => random() - 0.5);
      const order = random() < 0.5 ? [c.supervisorPid, ...nodes] : [...nodes, c.supervisorPid];
      for (const pid of order) process.kill(pid, 'SIGCONT');
      // Ten heartbeats of every member (as they count them) before the next pause.
      const from = [0, 1, 2, 3].map(count);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && ![0, 1, 2, 3].every((n, i) => !c.members().includes(n) || count(n) - from[i] >= 10)) await sleep(10);
    }
  } finally {
    log = await c.stop();
  }
  try {
    const failed = rowsOf(log.query, 'node.failed');
    const stalls = rowsOf(log.query, 'detector.stall');
    const n1 = pauses.filter((p) => p === 1000).length;
    const nLong = pauses.length - n1;
    report(metric('detect', 'stall_false_ejections', 'nodes', failed, null,
      `${n1} x 1 s + ${nLong} x ${quick ? 2 : 5} s all-stops of supervisor and 4 nodes, random resume order; ${stalls} detector stalls seen; target 0`));
  } finally {
    log.close();
  }
}

/** Processes that only burn CPU: `factor` per CPU. */
function oversubscribe(factor: number): ChildProcess[] {
  return Array.from({ length: factor * os.availableParallelism() }, () =>
    spawn('/bin/sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }),
  );
}

async function overloadFigures(report: Parameters<Suite>[0], dir: string, quick: boolean) {
  const runMs = quick ? 20_000 : 180_000;
  const hangs = quick ? 2 : 8;
  const mc = await startMulticomputer({ name: `bench-detect-ov-${process.pid}`, stateDir: dir, nodes: 4, gsmMb: 4, apps: ['counter'], heartbeatMs: HEARTBEAT_MS, restart: 'never' });
  const hogs = oversubscribe(4);
  const loadAtStart = load();
  try {
    const expected = new Set<string>();
    const hang: number[] = [];
    const started = Date.now();
    let stoppedBy = '';
    // Quiet stretches between hangs: most of the run is for false ejections.
    for (let i = 0; i < hangs && !stoppedBy; i++) {
      await sleep(runMs / (hangs + 1));
      try {
        const victim = mc.nodes().find((n) => n.id === 1 + (i % 3))!;
        if (victim.state === 'failed') await restart(mc, victim.id);
        const fresh = mc.nodes().find((n) => n.id === victim.id)!;
        expected.add(`${fresh.id}/${fresh.incarnation}`);
        hang.push(await measure(mc, fresh.id, 'SIGSTOP'));
      } catch (err) {
        // A hung node that cannot be brought back ends the hang samples, not the run.
        stoppedBy = `; hang samples stopped: ${(err as Error).message}`;
      }
    }
    await sleep(Math.max(0, runMs - (Date.now() - started)));
    const ejected = unexpectedFailures(mc, expected);
    report(metric('detect', 'overload_false_ejections', 'nodes', ejected, null,
      `4 nodes running counter, ${hogs.length} CPU hogs (4x ${os.availableParallelism()} CPUs) for ${Math.round(runMs / 1000)} s; ${loadAtStart}; target 0`));
    report(metric('detect', 'hang_detect_overload_p99_ms', 'ms', quantile(hang, 0.99), HEARTBEAT_MS,
      `${hang.length} SIGSTOPs under that overload; baseline = 1 period; ${retriedStarts} restarts of a hung node needed another try${stoppedBy}`));
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
    await mc.stop();
  }
}

const suite: Suite = async (report, { quick }) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcs-bench-detect-'));
  const dir2 = mkdtempSync(path.join(os.tmpdir(), 'mcs-bench-detect-ov-'));
  try {
    await quietFigures(report, dir);
    await stallFigures(report, quick);
    await overloadFigures(report, dir2, quick);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(dir2, { recursive: true, force: true });
  }
};
export default suite;
