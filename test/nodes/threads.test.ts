import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LockCode } from '../../runtime/gsm/native';
import { readMutexState } from '../../runtime/objects/mutex';
import { startTestMulticomputer, testApp, until, type TestMulticomputer } from '../helpers/multicomputer';

describe('threads of a node are first-class: listed, and a thread that ends holding a mutex abandons it', () => {
  let t: TestMulticomputer;
  before(async () => {
    t = await startTestMulticomputer({ nodes: 1, apps: [testApp('thread-holder')], heartbeatTimeoutMs: 2000 });
    await until('every holder thread ended', () => [...t.mc.query.iterate({ kinds: ['threads.done'] })].length > 0, 30_000);
  });
  after(async () => {
    await t?.stop();
  });

  for (const mode of ['end', 'throw', 'terminate', 'raw']) {
    it(`a worker that takes a global mutex with lockSync and ${mode === 'end' ? 'ends its script' : mode === 'throw' ? 'throws' : mode === 'terminate' ? 'is terminate()d' : 'ends (a raw Worker, not started through AppContext)'}: another process's next lock gets ABANDONED`, async () => {
      const r = t.mc.namespace.resolve(`th.${mode}.0`);
      await until(`th.${mode}.0 is no longer held by a dead thread`, () => readMutexState(t.mc.gsm.map, r.dataOffset).state !== 'held');
      assert.equal(readMutexState(t.mc.gsm.map, r.dataOffset).state, 'abandoned');
      const code = t.mc.gsm.map.mutexLock(r.dataOffset, 2000);
      assert.equal(code, LockCode.ABANDONED, `lock code ${code}`);
      t.mc.gsm.map.mutexConsistent(r.dataOffset);
      t.mc.gsm.map.mutexUnlock(r.dataOffset);
    });
  }

  it('the control API lists every thread with its name, tid and state; workers got the node, incarnation and members', async () => {
    const [node] = t.mc.nodes();
    const threads = node.threads!;
    const main = threads.find((x) => x.name === 'main')!;
    assert.equal(main.state, 'running');
    assert.equal(main.tid, node.pid, 'the main thread tid is the process id');
    for (const mode of ['end', 'throw', 'terminate']) {
      const th = threads.find((x) => x.name === `holder-${mode}`);
      assert.ok(th, `holder-${mode} listed`);
      assert.equal(th.state, 'exited');
      assert.ok(th.tid > 0 && th.tid !== main.tid);
    }
    const locked = [...t.mc.query.iterate({ kinds: ['thread.locked'] })].map((r) => ({ row: r, d: JSON.parse(r.details) as { status: string; node: number; incarnation: number } }));
    assert.equal(locked.length, 3, 'each thread logged into its node event log');
    for (const l of locked) {
      assert.equal(l.d.status, 'OK');
      assert.equal(l.row.node, 0);
      assert.deepEqual([l.d.node, l.d.incarnation], [0, node.incarnation], 'bound to the node and incarnation');
    }
    const exits = [...t.mc.query.iterate({ kinds: ['thread.exit'] })].map((r) => ({ name: r.object, d: JSON.parse(r.details) as { error: string | null } }));
    assert.match(exits.find((e) => e.name === 'holder-throw')!.d.error ?? '', /died holding/);
  });
});
