// The distributed debugger against real node processes (paper §5.3): every node
// runs the debuggee app (a main thread and one worker thread); commands go
// through the control API as `mcs debug` and the console send them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DebugState } from '../../runtime/control/api';
import { createControlBackend } from '../../runtime/control/backend';
import { dispatch } from '../../runtime/control/dispatch';
import { debugClient, states, untilThreads, type DebugClient } from '../helpers/debugger';
import { sleep, startTestMulticomputer, testApp, type TestMulticomputer } from '../helpers/multicomputer';

const NODES = 3;

describe('the distributed debugger on a 3-node multicomputer', () => {
  let t: TestMulticomputer;
  let dbg: DebugClient;
  before(async () => {
    // A generous heartbeat timeout: this file is about the debugger's commands, and
    // a loaded 2-core machine must not fence a node while V8 enables its debugger.
    t = await startTestMulticomputer({ nodes: NODES, apps: [testApp('debuggee')], heartbeatTimeoutMs: 1500 });
    await untilThreads(t.mc, NODES * 2);
    dbg = debugClient(t.mc);
    // the worker threads' code has loaded once it answers
    await dbg.until('print debuggeeRole', (r) => !r.text.includes('error'));
  });
  after(async () => {
    await t?.stop();
  });

  /** Back to a clean state between tests: no actions, everything running, all-stop. */
  async function reset() {
    await dbg.run('delete all').catch(() => undefined);
    await dbg.run('stopmodel all');
    await dbg.run('focus [all]');
    await dbg.run('go');
    await dbg.until('threads', (r) => states(r).every((s) => s.state === 'running'));
  }

  it('lists every thread as node.thread: 1 is the main thread, 2 the worker', async () => {
    const r = await dbg.run('threads');
    const ids = states(r).map((s) => s.id);
    assert.deepEqual(ids, ['0.1', '0.2', '1.1', '1.2', '2.1', '2.2']);
    assert.ok(states(r).every((s) => s.state === 'running'));
  });

  it('print across a set merges equal values under one set header', async () => {
    const r = await dbg.run('print debuggeeRole');
    assert.equal(r.text, '[0.1, 1.1, 2.1]  "main"\n[0.2, 1.2, 2.2]  "worker"');
    const byNode = await dbg.run('[*.1] print debuggeeNode * 0 + 7');
    assert.equal(byNode.text, '[0.1, 1.1, 2.1]  7');
    const per = await dbg.run('[1:2.*] print debuggeeNode');
    assert.equal(per.text, '[1.*]  1\n[2.*]  2');
  });

  it('a breakpoint broadcast to [all] stops every thread of every node (all-stop)', async () => {
    await reset();
    const set = await dbg.run('break debuggee.ts:12');
    assert.match(set.text, /^break \d+ at debuggee\.ts:12 on \[all\] \(6 threads now/);
    const w = await dbg.run('wait -timeout 20000');
    assert.equal((w.data as { done: boolean }).done, true, `${w.text}\n${(await dbg.run('threads')).text}\n${(await dbg.events(0)).map((e) => e.text).join('\n')}`);
    const rows = states(await dbg.run('threads'));
    assert.ok(rows.every((s) => s.state === 'stopped'), JSON.stringify(rows));
    const hit = rows.filter((s) => s.reason?.startsWith('breakpoint'));
    assert.ok(hit.length >= 1);
    for (const s of hit) assert.deepEqual([s.where?.fn, s.where?.line], ['work', 12]);
    // the frozen nodes are still members
    assert.deepEqual(t.mc.members(), [0, 1, 2]);
    const where = await dbg.run(`[${hit[0]!.id}] where`);
    assert.match(where.text, /#0 work \(debuggee\.ts:12\)/);
    await reset();
  });

  it('steps a stopped thread: next, print, finish', async () => {
    await reset();
    await dbg.run('stopmodel independent');
    await dbg.run('[0.1] break debuggee.ts:12');
    await dbg.run('[0.1] wait');
    const n = Number((await dbg.run('[0.1] print n')).text.split(/\s+/)[1]);
    assert.ok(Number.isInteger(n));
    const next = await dbg.run('[0.1] next');
    assert.equal(next.text, '[0.1]  work (debuggee.ts:13)');
    assert.equal((await dbg.run('[0.1] print doubled')).text, `[0.1]  ${n * 2}`);
    const fin = await dbg.run('[0.1] finish');
    assert.match(fin.text, /^\[0\.1\]  \(anonymous\) \(debuggee\.ts:\d+\)$/);
    // the independent model left every other thread running
    const rows = states(await dbg.run('threads'));
    assert.ok(rows.filter((s) => s.id !== '0.1').every((s) => s.state === 'running'));
    await reset();
  });

  it('list shows the TypeScript source around the current line of the set\'s stopped thread, or around FILE:LINE', async () => {
    await reset();
    await assert.rejects(dbg.run('[0.1] list'), /no stopped thread in \[0\.1\]: give FILE\[:LINE\]/);
    await dbg.run('stopmodel independent');
    await dbg.run('[0.1] break debuggee.ts:12');
    await dbg.run('[0.1] wait');
    const l = await dbg.run('[0.*] list -context 1');
    const data = l.data as { thread: string; file: string; line: number; first: number; lines: string[]; total: number };
    assert.equal(data.thread, '0.1', 'the stopped thread of the set, not the running worker');
    assert.ok(data.file.endsWith('test/fixtures/apps/debuggee.ts'), data.file);
    assert.deepEqual([data.line, data.first, data.lines.length], [12, 11, 3]);
    // the developer's TypeScript (tsx's source map carries it), not esbuild's output
    assert.equal(data.lines[0], 'export function work(n: number): number {');
    assert.match(l.text.split('\n')[2]!, /^>12 {2}\s*const doubled = n \* 2;/);
    const worker = (await dbg.run('[0.2] list debuggee-worker.ts:9 -context 0')).data as { lines: string[]; line: number | null };
    assert.deepEqual([worker.lines, worker.line], [['  const next = n + 1; // line 9'], null]);
    await assert.rejects(dbg.run('[0.1] list nosuchfile.ts:3'), /nosuchfile\.ts is not loaded in thread 0\.1/);
    await reset();
  });

  it('debugState shows the lease of each frozen node, and of a thawed one until it beats again; a node only asked something has none', async () => {
    await reset();
    const state = () => dispatch(createControlBackend(t.mc), 'debugState', {}) as Promise<DebugState>;
    await dbg.run('print 1');
    assert.deepEqual((await state()).leases, []);
    await dbg.run('[1.*] freeze');
    const frozen = (await state()).leases;
    assert.deepEqual(frozen.map((l) => [l.node, l.state, l.reason]), [[1, 'frozen', 'halt']]);
    assert.ok(frozen[0]!.leaseMs > 1000, `the lease is renewed ahead: ${frozen[0]!.leaseMs} ms`);
    await dbg.run('[1.*] thaw');
    const deadline = Date.now() + 10_000;
    while ((await state()).leases.length > 0) {
      assert.ok(Date.now() < deadline, 'the thawed node beat again and its lease was let go');
      await sleep(50);
    }
    await reset();
  });

  it('a global breakpoint (-stop SET) stops its whole stop set when one member hits it, and only that set', async () => {
    await reset();
    await dbg.run('stopmodel independent');
    await dbg.run('[1.1] break work -stop [1.*, 2.1]');
    const w = await dbg.run('[1.*, 2.1] wait -timeout 20000');
    assert.equal((w.data as { done: boolean }).done, true, w.text);
    const rows = new Map(states(await dbg.run('threads')).map((s) => [s.id, s]));
    assert.equal(rows.get('1.1')!.where?.fn, 'work', 'the function breakpoint hit in 1.1');
    for (const id of ['1.2', '2.1']) assert.equal(rows.get(id)!.state, 'stopped', id);
    for (const id of ['0.1', '0.2', '2.2']) assert.equal(rows.get(id)!.state, 'running', id);
    await reset();
  });

  it('a barrier holds arriving threads until the whole set has arrived; go does not release them early', async () => {
    await reset();
    await dbg.run('stopmodel independent');
    await dbg.run('[1.1] halt');
    await dbg.run('[0.1, 1.1] barrier work');
    await dbg.until('[0.1] threads', (r) => states(r)[0]!.state === 'held');
    await dbg.run('[0.1] go');
    await sleep(300);
    assert.equal(states(await dbg.run('[0.1] threads'))[0]!.state, 'held', 'go leaves a thread held at an unsatisfied barrier');
    await dbg.run('[1.1] go');
    await dbg.until('[0.1, 1.1] threads', (r) => states(r).every((s) => s.state === 'stopped' && s.where?.fn === 'work'));
    const evs = await dbg.events(0);
    assert.ok(evs.some((e) => e.kind === 'barrier' && /satisfied: all 2 threads arrived/.test(e.text)));
    await reset();
  });

  it('aggregates the console output of every thread into one stream, filterable by set', async () => {
    await reset();
    await dbg.events(0); // skip what came before
    await dbg.run('print console.log("hello from " + debuggeeRole)');
    await dbg.run('[1.1] print console.log("only one")');
    const out = await dbg.until('output -last 3', (r) => r.text.includes('only one'));
    assert.equal(out.text.split('\n').slice(-3).join('\n'), '[0.1, 1.1, 2.1]  hello from main\n[0.2, 1.2, 2.2]  hello from worker\n[1.1]            only one');
    const filtered = await dbg.run('[*.2] output -last 1');
    assert.equal(filtered.text, '[0.2, 1.2, 2.2]  hello from worker');
    const evs = (await dbg.events(0)).filter((e) => e.kind === 'output');
    assert.deepEqual(
      evs.map((e) => `${e.thread} ${e.text}`),
      ['[0.1, 1.1, 2.1] hello from main', '[0.2, 1.2, 2.2] hello from worker', '[1.1] only one'],
    );
  });

  it('a breakpoint broadcast to a set reaches the threads of a node that starts later', async () => {
    await reset();
    await dbg.run('stopmodel independent');
    await dbg.run('[*.2] break spin');
    const w = await dbg.run('[*.2] wait -timeout 20000');
    assert.equal((w.data as { done: boolean }).done, true, w.text);
    // [*.2] is a formula: the worker of a restarted node 2 (a new incarnation) is in it
    await t.mc.restartNode(2);
    const r = await dbg.until('[2.*] threads', (x) => states(x).some((s) => s.id === '2.2' && s.state === 'stopped'), 30_000);
    assert.equal(states(r).find((s) => s.id === '2.2')!.where?.fn, 'spin');
    assert.equal(states(r).find((s) => s.id === '2.1')!.state, 'running', 'the independent model stops only the thread that hit');
    await reset();
  });
});
