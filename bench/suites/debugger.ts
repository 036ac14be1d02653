// npm run bench -- debugger
// The distributed debugger (issue #10 §6), on real node processes:
//   broadcast_break_ms   one breakpoint set on every thread of 4 nodes x 8 threads
//                        (the debuggee app with 7 worker threads per node), until
//                        every agent has applied it (median of 5; the first, which
//                        also enables V8's debugger in every thread, in the note)
//   all_stop_ms          all-stop model: first breakpoint hit until all 32 threads
//                        are paused (median of 5)
//   freeze_all_ms        `freeze` of all 32 threads until all are paused (median of 5)
//   false_ejections      a freeze of node 1 (heartbeat 100 ms, timeout 250 ms) held
//                        FREEZE_S seconds: node 1 must never be failed (target 0)
//   killed_while_frozen_detect_ms
//                        during that freeze node 2 is SIGKILLed: until the supervisor
//                        has published the new generation and every non-frozen
//                        survivor has installed it (the frozen node installs it when
//                        thawed)
//   attached_overhead_ratio
//                        a throughput app's ops/s with the debugger attached (a client
//                        session open, output captured, no breakpoint) over a run with
//                        no debugger at all; the Web cache is not in this branch yet, so
//                        this is measured on test/fixtures/apps/throughput.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMulticomputer, type Supervisor } from '../../runtime/cluster/supervisor';
import { createControlBackend } from '../../runtime/control/backend';
import { dispatch } from '../../runtime/control/dispatch';
import type { DebugReply } from '../../runtime/control/api';
import { ObjectType } from '../../runtime/gsm/layout';
import { monotonicNs } from '../../runtime/gsm/native';
import { metric, quantile, type Suite } from '../metric';

const NODES = 4;
const WORKERS = 7;
const FREEZE_S = Number(process.env.MCS_BENCH_FREEZE_S ?? 10);
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/apps');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`bench debugger: timed out waiting for ${what}`);
    await sleep(5);
  }
}

function client(mc: Supervisor) {
  const backend = createControlBackend(mc);
  let session: string | undefined;
  return {
    async run(line: string): Promise<DebugReply> {
      const r = (await dispatch(backend, 'debugCommand', { session, line })) as DebugReply;
      session = r.session;
      return r;
    },
    async poll(ms: number) {
      const end = Date.now() + ms;
      while (Date.now() < end) await dispatch(backend, 'debugEvents', { session: session!, waitMs: Math.min(200, Math.max(1, end - Date.now())) });
    },
  };
}

async function start(name: string, apps: string[], opts: { debugger?: boolean; heartbeatTimeoutMs?: number } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), `mcs-bench-${name}-`));
  const mc = await startMulticomputer({
    name: `bench-${name}-${process.pid}`,
    stateDir: dir,
    nodes: NODES,
    gsmMb: 4,
    apps,
    heartbeatMs: 100,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    debugger: opts.debugger,
  });
  return {
    mc,
    async stop() {
      await mc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const threadsStopped = (mc: Supervisor) => mc.debugger!.threads().every((t) => t.state === 'stopped' || t.state === 'held');

async function measureDebugger(report: (m: ReturnType<typeof metric>) => void) {
  process.env.MCS_DEBUGGEE_WORKERS = String(WORKERS);
  // Breakpoint work is debugger business, not a failure: a 1 s timeout keeps a
  // node that is merely starved on a loaded 2-core machine from being fenced here.
  const { mc, stop } = await start('dbg', [path.join(fixtures, 'debuggee.ts')], { heartbeatTimeoutMs: 1000 });
  try {
    const want = NODES * (WORKERS + 1);
    // Worker threads load the TypeScript loader each: on a loaded machine that takes
    // a while. Measure on as many as exist after 90 s (the note says how many).
    await until(() => mc.debugger!.threads().length >= want, 90_000, `${want} threads`).catch(() => undefined);
    const dbg = client(mc);
    const threads = mc.debugger!.threads().length;

    const broadcast: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await dbg.run('break inside -if false');
      broadcast.push((r.data as { broadcastMs: number }).broadcastMs);
      await dbg.run('delete all');
    }
    report(metric('debugger', 'broadcast_break_ms', 'ms', quantile(broadcast.slice(1), 0.5), null,
      `${threads} threads on ${NODES} nodes, median of 5; first (enables V8's debugger everywhere) ${broadcast[0]!.toFixed(1)} ms; target <= 200 ms`));

    const allStop: number[] = [];
    for (let i = 0; i < 5; i++) {
      const first = { ns: 0 };
      await dbg.run('break work');
      await until(() => mc.debugger!.threads().some((t) => t.state === 'stopped'), 30_000, 'a hit');
      first.ns = monotonicNs();
      await until(() => threadsStopped(mc), 30_000, 'all threads paused');
      allStop.push((monotonicNs() - first.ns) / 1e6);
      await dbg.run('delete all');
      await dbg.run('go');
      await until(() => mc.debugger!.threads().every((t) => t.state === 'running'), 30_000, 'all running');
    }
    report(metric('debugger', 'all_stop_ms', 'ms', quantile(allStop, 0.5), null,
      `${threads} threads, from the supervisor seeing the first hit to all paused; median of 5; target <= 100 ms`));

    const freeze: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = monotonicNs();
      await dbg.run('freeze');
      await until(() => threadsStopped(mc), 30_000, 'all frozen');
      freeze.push((monotonicNs() - t0) / 1e6);
      await dbg.run('thaw');
      await until(() => mc.debugger!.frozenNodes().length === 0, 30_000, 'thawed');
    }
    report(metric('debugger', 'freeze_all_ms', 'ms', quantile(freeze, 0.5), null, `${threads} threads on ${NODES} nodes, median of 5`));
    await dbg.run('quit');
  } finally {
    await stop();
    delete process.env.MCS_DEBUGGEE_WORKERS;
  }
}

async function measureFreeze(report: (m: ReturnType<typeof metric>) => void) {
  const { mc, stop } = await start('freeze', [path.join(fixtures, 'debuggee.ts')], { heartbeatTimeoutMs: 250 });
  try {
    await until(() => mc.debugger!.threads().length >= NODES * 2, 60_000, 'threads');
    const dbg = client(mc);
    await dbg.run('[1.*] freeze');
    await until(() => mc.debugger!.frozenNodes().includes(1), 10_000, 'node 1 frozen');
    const frozenSince = Date.now();
    await dbg.poll(1000);
    // SIGKILL node 2 in the middle of the freeze
    const before = mc.generation();
    const pid = mc.nodes().find((n) => n.id === 2)!.pid!;
    const t0 = monotonicNs();
    process.kill(pid, 'SIGKILL');
    let detectMs = NaN;
    await until(() => mc.generation() > before, 10_000, 'a new generation');
    const g = mc.generation();
    const others = mc.members().filter((n) => n !== 1);
    await until(() => others.every((n) => mc.installedAt(n).generation >= g), 10_000, 'survivors installed');
    detectMs = (Math.max(...others.map((n) => mc.installedAt(n).atNs)) - t0) / 1e6;
    await dbg.poll(FREEZE_S * 1000 - (Date.now() - frozenSince));
    const ejected = mc.query.query({ kinds: ['node.failed'] }, { limit: 100 }).rows.filter((r) => {
      const d = (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as { node: number };
      return d.node !== 2;
    }).length;
    await dbg.run('thaw');
    report(metric('debugger', 'false_ejections', 'count', ejected, null,
      `node 1 frozen ${FREEZE_S} s (the issue asks 60 s), heartbeat 100 ms, timeout 250 ms, debuggee load; target 0`));
    report(metric('debugger', 'killed_while_frozen_detect_ms', 'ms', detectMs, null,
      'SIGKILL of node 2 during the freeze until every non-frozen survivor installed the new generation; target <= 100 ms'));
    await dbg.run('quit');
  } finally {
    await stop();
  }
}

async function opsPerSecond(mc: Supervisor, ms: number): Promise<number> {
  const offsets = mc.members().map((n) => mc.namespace.resolve(`throughput.node${n}`, ObjectType.Section).dataOffset);
  const read = () => offsets.reduce((s, o) => s + mc.gsm.map.load64n(o), 0);
  const a = read();
  const t0 = performance.now();
  await sleep(ms);
  return (read() - a) / ((performance.now() - t0) / 1000);
}

async function measureOverhead(report: (m: ReturnType<typeof metric>) => void) {
  const app = [path.join(fixtures, 'throughput.ts')];
  const rates = { detached: [] as number[], attached: [] as number[] };
  // Alternate the two setups so machine-load drift hits both alike.
  for (let round = 0; round < 2; round++) {
    for (const kind of ['detached', 'attached'] as const) {
      const { mc, stop } = await start(`ovh-${kind}`, app, { debugger: kind === 'attached', heartbeatTimeoutMs: 1000 });
      try {
        await until(() => mc.members().every((n) => { try { return mc.namespace.resolve(`throughput.node${n}`, ObjectType.Section) !== null; } catch { return false; } }), 30_000, 'apps started');
        if (kind === 'attached') {
          await until(() => mc.debugger!.threads().length >= NODES, 60_000, 'agents');
          const dbg = client(mc);
          await dbg.run('status');
          const keep = dbg.poll(3500);
          await sleep(500);
          rates[kind].push(await opsPerSecond(mc, 2500));
          await keep;
          await dbg.run('quit');
        } else {
          await sleep(500);
          rates[kind].push(await opsPerSecond(mc, 2500));
        }
      } finally {
        await stop();
      }
    }
  }
  const d = quantile(rates.detached, 0.5);
  const a = quantile(rates.attached, 0.5);
  report(metric('debugger', 'attached_overhead_ratio', 'ops/s', a, d,
    `throughput app (the Web cache is not merged here yet), attached over detached, ${NODES} nodes, median of 2 runs each; target ratio >= 0.95`));
}

const suite: Suite = async (report) => {
  await measureDebugger(report);
  await measureFreeze(report);
  await measureOverhead(report);
};
export default suite;
