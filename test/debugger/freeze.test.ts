// The heartbeat-safe freeze (paper §5.3, docs/debugger.md): a node the debugger
// holds stopped is not ejected and does not make other nodes' waits time out,
// while real deaths and hangs are still detected, and the freeze ends by itself
// when the debugger goes away. Heartbeat 100 ms, timeout 500 ms.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { debugClient, states, untilThreads, type DebugClient } from '../helpers/debugger';
import { sleep, startTestMulticomputer, testApp, until, type TestMulticomputer } from '../helpers/multicomputer';

const TIMEOUT_MS = 500;

describe('the heartbeat-safe freeze', () => {
  let t: TestMulticomputer;
  let dbg: DebugClient;
  before(async () => {
    t = await startTestMulticomputer({ nodes: 3, apps: [testApp('debuggee')], heartbeatMs: 100, heartbeatTimeoutMs: TIMEOUT_MS });
    // (the session lease: a client that stops polling for 1.5 s has gone away)
    (t.mc.debugger as unknown as { sessionLeaseMs: number }).sessionLeaseMs = 1500;
    await untilThreads(t.mc, 6);
    dbg = debugClient(t.mc);
  });
  after(async () => {
    await t?.stop();
  });

  const rows = (kind: string) =>
    t.mc.query.query({ kinds: [kind] }, { limit: 1000 }).rows.map((r) => ({ ...r, details: (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as Record<string, unknown> }));
  const state = (node: number) => t.mc.nodes().find((n) => n.id === node)?.state;
  /** A client that keeps polling, as `mcs debug` and the console do. */
  async function hold(ms: number) {
    const end = Date.now() + ms;
    while (Date.now() < end) await dbg.events(Math.min(200, Math.max(1, end - Date.now())));
  }
  async function thawAll() {
    await dbg.run('delete all');
    await dbg.run('stopmodel all');
    await dbg.run('thaw');
    await until('every node thawed', () => t.mc.debugger!.frozenNodes().length === 0);
  }
  async function restart(node: number) {
    await t.mc.restartNode(node);
    await untilThreads(t.mc, 6).catch((e: Error) => {
      throw new Error(`${e.message}; nodes ${JSON.stringify(t.mc.nodes().map((n) => [n.id, n.state]))}; failures ${JSON.stringify(rows('node.failed').map((r) => r.details))}`);
    });
  }

  it('a node stopped at a breakpoint inside a critical section stays a member past many timeouts, and waits on its mutex do not time out', async () => {
    await dbg.run('stopmodel independent');
    const generation = t.mc.generation();
    await dbg.run('[1.1] break inside');
    const w = await dbg.run('[1.1] wait -timeout 20000');
    assert.equal((w.data as { done: boolean }).done, true, w.text);
    assert.deepEqual(t.mc.debugger!.frozenNodes(), [1]);
    const timeoutsBefore = rows('debuggee.timeout').length;
    // 1.1 holds debuggee.lock; nodes 0 and 2 wait for it with a 300 ms timeout.
    await hold(6 * TIMEOUT_MS);
    assert.equal(state(1) === 'up' || state(1) === 'suspect', true, `node 1 is ${state(1)}`);
    assert.equal(t.mc.generation(), generation, 'no membership change, so no recovery');
    assert.equal(rows('debuggee.timeout').length, timeoutsBefore, 'no wait on the frozen holder timed out');
    await thawAll();
    // once thawed, the waiters get the lock and the node beats again
    await hold(3 * TIMEOUT_MS);
    assert.equal(state(1), 'up');
    const freeze = rows('debug.freeze').filter((r) => r.details.node === 1);
    const thaw = rows('debug.thaw').filter((r) => r.details.node === 1);
    assert.ok(freeze.length >= 1 && thaw.length >= 1, 'the event log has the freeze and the thaw');
    assert.ok((thaw.at(-1)!.details.frozenMs as number) >= 6 * TIMEOUT_MS);
  });

  it('a node SIGKILLed while another is frozen is still detected, and the frozen one is not', async () => {
    await dbg.run('[1.*] freeze');
    await until('node 1 frozen', () => t.mc.debugger!.frozenNodes().includes(1));
    const victim = t.mc.nodes().find((n) => n.id === 2)!;
    process.kill(victim.pid!, 'SIGKILL');
    await until('node 2 failed', () => state(2) === 'failed');
    assert.ok(!t.mc.members().includes(2));
    await hold(2 * TIMEOUT_MS);
    assert.ok(t.mc.members().includes(1), 'the frozen node stayed');
    await thawAll();
    await restart(2);
  });

  it('a node that hangs while another is frozen is fenced after the heartbeat timeout', async () => {
    await dbg.run('[1.*] freeze');
    await until('node 1 frozen', () => t.mc.debugger!.frozenNodes().includes(1));
    const hung = t.mc.nodes().find((n) => n.id === 0)!;
    process.kill(hung.pid!, 'SIGSTOP');
    await until('node 0 failed', () => rows('node.failed').some((r) => r.details.node === 0));
    const failed = rows('node.failed').filter((r) => r.details.node === 0).at(-1)!;
    assert.match(String(failed.details.cause), /^hung/);
    assert.ok(t.mc.members().includes(1));
    await thawAll();
    await restart(0);
  });

  it('a frozen node whose process dies is failed at once, and its freeze ends', async () => {
    await dbg.run('[1.*] freeze');
    await until('node 1 frozen', () => t.mc.debugger!.frozenNodes().includes(1));
    const frozen = t.mc.nodes().find((n) => n.id === 1)!;
    process.kill(frozen.pid!, 'SIGKILL');
    await until('node 1 failed', () => rows('node.failed').some((r) => r.details.node === 1));
    assert.match(String(rows('node.failed').filter((r) => r.details.node === 1).at(-1)!.details.cause), /exit/, 'failed by its process exit');
    await until('its freeze ended', () => t.mc.debugger!.frozenNodes().length === 0);
    assert.match(String(rows('debug.thaw').at(-1)!.details.reason), /agent gone/);
    await thawAll();
    await restart(1);
  });

  it('the freeze ends by itself when the debugger goes away (its client stops polling)', async () => {
    await dbg.run('quit');
    const gone = debugClient(t.mc);
    await gone.run('[1.*] freeze');
    await until('node 1 frozen', () => t.mc.debugger!.frozenNodes().includes(1));
    // the client vanishes: no quit, no more calls
    await until('the lease expired and node 1 thawed', () => t.mc.debugger!.frozenNodes().length === 0, 10_000);
    const thaw = rows('debug.thaw').at(-1)!;
    assert.equal(thaw.details.node, 1);
    assert.match(String(thaw.details.reason), /lease expired/);
    await sleep(3 * TIMEOUT_MS);
    assert.equal(state(1), 'up', 'it runs again and beats: not ejected');
    assert.ok(states(await debugClient(t.mc).run('[1.*] threads')).every((s) => s.state === 'running'));
  });
});
