import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gsm } from '../../runtime/gsm/gsm';
import { BLOCK_HEADER_BYTES, BlockState, DUMMY_BYTE, contribution } from '../../runtime/gsm/layout';
import { ObjectError } from '../../runtime/objects/errors';
import { GlobalObjects } from '../../runtime/objects/global-objects';
import { checkNamespace } from '../../runtime/objects/namespace';
import { PINNED_SLOT } from '../../runtime/objects/allocator';
import { MUTEX_WORD } from '../../runtime/objects/mutex';
import { threadId } from '../../runtime/gsm/native';
import { startActor } from '../helpers/gsm';
import { isAlive, sleep, startTestMulticomputer, testApp, until, type TestMulticomputer } from '../helpers/multicomputer';

/** Every node incarnation's installed generations, from the log, in seq order. */
function installsByIncarnation(t: TestMulticomputer) {
  const out = new Map<string, { generation: number; members: number[] | null }[]>();
  for (const row of t.mc.query.iterate({ kinds: ['membership.install'] })) {
    const key = `${row.node}/${row.incarnation}`;
    const d = JSON.parse(row.details) as { generation: number; members: number[] | null };
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(d);
  }
  return out;
}

/**
 * A node added to `h` takes "shared.lock" (housed on node 9: this test process)
 * and is SIGKILLed while we wait for it; returns once our wait got ABANDONED.
 */
async function abandonSharedLockToUs(h: TestMulticomputer, gsm: Gsm) {
  const { mc } = h;
  // A node is up at its first heartbeat, before its apps have started: let node
  // 0's holder app finish, or it too could find shared.lock and take it.
  await until('node 0 started its app', () => mc.query.query({ kinds: ['app.start'], nodes: [0] }).rows.length === 1);
  const here = new GlobalObjects(gsm, { node: 9, incarnation: 1 });
  const shared = await here.createMutex('shared.lock');
  const node = await mc.addNode();
  await until('the new node holds shared.lock', () =>
    mc.query.query({ kinds: ['holder.locked'], object: shared.id, nodes: [node] }).rows.length === 1,
  );
  assert.equal(shared.state().holder?.node, node);
  const waited = shared.lock(10_000);
  await until('we are queued', () => shared.state().waiters.length === 1);
  process.kill(mc.nodes().find((n) => n.id === node)!.pid!, 'SIGKILL');
  assert.equal(await waited, 'ABANDONED');
  return { shared, node };
}

describe('a multicomputer under node failures', () => {
  let t: TestMulticomputer;
  before(async () => {
    // Four churning nodes can starve each other's event loops on a 2-core machine;
    // these tests are about kills, so a generous timeout keeps a starved node from
    // being fenced as hung (the SIGSTOP test still exercises that path).
    t = await startTestMulticomputer({ nodes: 4, apps: [testApp('churn')], heartbeatTimeoutMs: 1000 });
  });
  after(async () => {
    await t?.stop();
  });

  it('survives SIGKILLs at random moments (two at once too): survivors install one ordered generation sequence and no node log has a gap', async () => {
    const { mc } = t;
    let rng = 42;
    const random = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 6; round++) {
      await sleep(50 + random() * 250);
      const running = mc.nodes().filter((n) => n.state === 'up');
      const victims = round % 3 === 2 ? running.slice(0, 2) : [running[Math.floor(random() * running.length)]];
      for (const v of victims) process.kill(v.pid!, 'SIGKILL');
      await until('the victims are failed', () => victims.every((v) => mc.nodes().find((n) => n.id === v.id)!.state === 'failed'));
      for (const v of victims) assert.equal(isAlive(v.pid!), false);
      await Promise.all(victims.map((v) => mc.restartNode(v.id)));
    }
    await sleep(200);
    assert.ok(mc.generations().length >= 4 + 6 * 2, 'every failure and rejoin made a generation');

    const history = new Map(mc.generations().map((g) => [g.generation, g.members]));
    for (const [who, installs] of installsByIncarnation(t)) {
      const gens = installs.map((i) => i.generation);
      for (let i = 1; i < gens.length; i++) assert.equal(gens[i], gens[i - 1] + 1, `${who} installed generations in order without skipping: ${gens}`);
      for (const i of installs) assert.deepEqual(i.members, history.get(i.generation), `${who} agrees on generation ${i.generation}`);
    }
    const incarnations = new Set<string>();
    for (const row of mc.query.iterate({ kinds: ['node.start'] })) incarnations.add(`${row.node}/${row.incarnation}`);
    assert.ok(incarnations.size >= 4 + 7);
    for (const key of incarnations) {
      const [node, inc] = key.split('/').map(Number);
      assert.deepEqual(mc.query.checkGaps(node, inc), [], `node ${node} incarnation ${inc} has no gap in its event sequence`);
    }
    await until('the supervisor kept running and every node is back', () => mc.nodes().every((n) => n.state === 'up'));
  });

  it('a SIGKILLed holder: its waiter gets ABANDONED, its memory reads the dummy pattern, its ids are invalid', async () => {
    const h = await startTestMulticomputer({ nodes: 2, apps: [testApp('holder')] });
    const gsm = Gsm.attach(`/mcs-${h.name}`);
    try {
      const { mc } = h;
      await until('both holders hold', () => mc.query.query({ kinds: ['holder.locked'] }).rows.length === 2);
      // This test process waits as node 9 (a slot the supervisor does not use).
      const observer = new GlobalObjects(gsm, { node: 9, incarnation: 1 });
      const held = await observer.openMutex('held.node1');
      assert.equal(held.state().state, 'held');
      const waited = held.lock(10_000);
      await until('we are queued', () => held.state().waiters.length === 1);
      const idsOfVictim = mc.namespace.list().filter((r) => r.ownerNode === 1).map((r) => r.id);
      assert.ok(idsOfVictim.length >= 1);
      process.kill(mc.nodes().find((n) => n.id === 1)!.pid!, 'SIGKILL');
      // The kernel marks the dead thread's robust mutexes owner-died at exit and
      // wakes a waiter: it learns of the death before any heartbeat could. This
      // mutex lives in the dead node's memory, and a waiter checks the memory
      // after each wake: one that runs after the detector has fenced the node
      // (at once since it waits on pidfds) is told MEMORY_FAILED instead. Either
      // way it learns of the death from the kernel's wake, and holds nothing.
      assert.ok(['ABANDONED', 'MEMORY_FAILED'].includes(await waited), 'the waiter learns of the death');
      await until('node 1 failed and its objects were handled', () =>
        mc.query.query({ kinds: ['object.orphaned', 'object.reclaimed'] }).rows.length > 0,
      );
      const before = gsm.memoryFailures();
      const out = new Uint8Array(16);
      assert.equal(gsm.map.read(contribution(gsm.layout, 1), out), 16, 'all 16 bytes were failed memory');
      assert.ok(out.every((b) => b === DUMMY_BYTE));
      assert.ok(gsm.memoryFailures() > before, 'the memory-failure count went up');
      assert.equal(held.unlock(), 'MEMORY_FAILED', 'the mutex itself lived in the failed contribution');
      for (const id of idsOfVictim)
        assert.throws(() => mc.namespace.resolve(id), (e) => e instanceof ObjectError && e.code === 'invalid-id', `${id} is invalid`);
      assert.equal(mc.query.query({ kinds: ['node.failed'] }).rows.length, 1);
    } finally {
      gsm.close();
      await h.stop();
    }
  });

  it('a node dies holding a mutex housed on another node: the waiter gets ABANDONED and the mutex stays usable', async () => {
    const h = await startTestMulticomputer({ nodes: 1, apps: [testApp('holder')] });
    const gsm = Gsm.attach(`/mcs-${h.name}`);
    try {
      const { mc } = h;
      const { shared } = await abandonSharedLockToUs(h, gsm);
      shared.markConsistent();
      assert.equal(shared.unlock(), 'OK');
      assert.equal(shared.tryLock(), 'OK', 'housed on a live node, it is usable again');
      shared.unlock();
      await until('the abandonment is in the log', () => mc.query.query({ kinds: ['mutex.abandoned'], object: shared.id }).rows.length === 1);
      await shared.close();
    } finally {
      gsm.close();
      await h.stop();
    }
  });

  it("never takes a mutex away from the survivor repairing it: the death's backstop acts on dead threads only", async () => {
    const h = await startTestMulticomputer({ nodes: 1, apps: [testApp('holder')] });
    const gsm = Gsm.attach(`/mcs-${h.name}`);
    try {
      const { mc } = h;
      const { shared, node } = await abandonSharedLockToUs(h, gsm);
      // We are mid-repair: the supervisor now handles the death, backstop included.
      await until('the failure was handled', () => mc.query.query({ kinds: ['node.failed'], object: `node${node}` }).rows.length === 1);
      await until('its objects were reclaimed', () => mc.query.query({ kinds: ['object.reclaimed', 'object.orphaned'] }).rows.length > 0);
      const s = shared.state();
      assert.equal(s.state, 'inconsistent', 'still ours, still being repaired');
      assert.equal(s.holder?.pid, process.pid);
      const contender = await startActor(`/mcs-${h.name}`, 10);
      try {
        await contender.call('openMutex', { name: 'shared.lock' });
        assert.equal(await contender.call('lock', { name: 'shared.lock', timeoutMs: 0 }), 'TIMEOUT', 'a third thread cannot get in while we hold it');
        shared.markConsistent();
        assert.equal(shared.unlock(), 'OK');
        assert.equal(await contender.call('lock', { name: 'shared.lock', timeoutMs: 1000 }), 'OK', 'consistent again');
        assert.equal(await contender.call('unlock', { name: 'shared.lock' }), 'OK');
      } finally {
        await contender.kill();
      }
      assert.equal(mc.query.query({ kinds: ['mutex.abandoned'], object: shared.id }).rows.length, 1, 'the abandonment is logged once');
      await shared.close();
    } finally {
      gsm.close();
      await h.stop();
    }
  });

  it('a waiter that swallowed a wake and was killed: its slot is cleared and the next waiter gets the lock', async () => {
    // Node 0's copy of the app does nothing; the added node's waits.
    // A long heartbeat timeout: the busy node must die by our hand, not be fenced.
    const h = await startTestMulticomputer({ nodes: 1, apps: [testApp('waitbusy')], heartbeatTimeoutMs: 10_000 });
    const gsm = Gsm.attach(`/mcs-${h.name}`);
    try {
      const { mc } = h;
      const here = new GlobalObjects(gsm, { node: 9, incarnation: 1 });
      const shared = await here.createMutex('shared.lock');
      assert.equal(shared.tryLock(), 'OK');
      // A node whose app queues on the lock, then wedges its own JS thread.
      const busy = await mc.addNode();
      await until('the busy node waits', () => shared.state().waiters.length === 1);
      await sleep(200); // its helper thread is asleep on the word, and its JS thread spins
      // A second waiter, in another process, queued behind it.
      const behind = await startActor(`/mcs-${h.name}`, 10);
      await behind.call('openMutex', { name: 'shared.lock' });
      const got = behind.call('lock', { name: 'shared.lock' });
      await until('both wait', () => shared.state().waiters.length === 2, 60_000);
      shared.unlock(); // wakes the first waiter: the busy node, which will never retry
      await sleep(100);
      process.kill(mc.nodes().find((n) => n.id === busy)!.pid!, 'SIGKILL');
      const outcome = await Promise.race([got, sleep(8000).then(() => 'still waiting' as const)]);
      assert.equal(outcome, 'OK', 'the swallowed wake was passed on when the dead waiter was cleared');
      // The kernel may have woken the second waiter rather than the busy node
      // (a futex wake picks any sleeper): then the dead slot is cleared only when
      // the supervisor handles the failure, which can come after that lock.
      await until('no dead waiter is listed', () => shared.state().waiters.length === 0 && shared.state().waiterCount === 0, 10_000);
      assert.ok(mc.query.query({ kinds: ['mutex.waiters-cleared'], object: shared.id }).rows.length >= 1);
      await behind.kill();
    } finally {
      gsm.close();
      await h.stop();
    }
  });

  it('a restarted node does not reuse the block of a mutex a live thread still holds: it stays pinned until released', async () => {
    const h = await startTestMulticomputer({ nodes: 2, apps: [testApp('housing')] });
    const gsm = Gsm.attach(`/mcs-${h.name}`);
    try {
      const { mc } = h;
      const housedBy = (inc: number) => mc.query.query({ kinds: ['housing.created'], nodes: [1] }).rows.filter((r) => r.incarnation === inc);
      await until('node 1 houses its mutex', () => housedBy(1).length === 1);
      const here = new GlobalObjects(gsm, { node: 9, incarnation: 1 });
      const housed = await here.openMutex('housed.node1');
      const offset = housed.record.dataOffset;
      assert.equal(housed.tryLock(), 'OK', 'held by this (live) thread; its word carries our robust-list link');
      await mc.killNode(1);
      await mc.restartNode(1);
      await until('the new incarnation houses its own mutex', () => housedBy(2).length === 1);
      const pinned = () => mc.namespace.heap(1).walk().blocks.filter((b) => b.objectSlot === PINNED_SLOT && b.state === BlockState.Used);
      assert.deepEqual(pinned().map((b) => b.offset + BLOCK_HEADER_BYTES), [offset], 'its block kept its place');
      assert.notEqual(mc.namespace.resolve('housed.node1').dataOffset, offset, 'the new incarnation allocated around it');
      assert.equal(gsm.map.load32(offset) & MUTEX_WORD.FUTEX_TID_MASK, threadId(), 'our word, and our link in it, untouched');
      assert.deepEqual(checkNamespace(mc.namespace), []);
      assert.equal(housed.unlock(), 'OK');
      await mc.namespace.sweep();
      assert.deepEqual(pinned(), [], 'released, so unpinned');
      assert.deepEqual(checkNamespace(mc.namespace), []);
      // Our robust list is intact: a lock taken and dropped now unlinks cleanly.
      const other = await here.openMutex('housed.node0');
      assert.equal(other.tryLock(), 'OK');
      assert.equal(other.unlock(), 'OK');
      await other.close();
    } finally {
      gsm.close();
      await h.stop();
    }
  });

  it('a restarted node gets its whole contribution back, though it was failed memory', async () => {
    const h = await startTestMulticomputer({ nodes: 2, apps: [testApp('bigsection')] });
    try {
      const { mc } = h;
      const created = (inc: number) => mc.query.query({ kinds: ['big.created'], nodes: [1] }).rows.filter((r) => r.incarnation === inc).length;
      await until('node 1 filled its contribution', () => created(1) === 1);
      await mc.killNode(1);
      await mc.restartNode(1);
      await until('the new incarnation filled it again', () => created(2) === 1 || mc.query.query({ kinds: ['big.error'] }).rows.length > 0);
      assert.deepEqual(mc.query.query({ kinds: ['big.error'] }).rows.map((r) => r.details), []);
      assert.deepEqual(checkNamespace(mc.namespace), []);
    } finally {
      await h.stop();
    }
  });

  it('fences a SIGSTOPped node: declared failed after the heartbeat timeout, killed, and out of the generation', async () => {
    const { mc } = t;
    const victim = mc.nodes().find((n) => n.state === 'up')!;
    const gen = mc.generation();
    mc.stopNode(victim.id);
    await until('the hung node is failed', () => mc.nodes().find((n) => n.id === victim.id)!.state === 'failed');
    await until('it was killed', () => !isAlive(victim.pid!));
    assert.ok(mc.generation() > gen);
    assert.ok(!mc.members().includes(victim.id));
    const failed = mc.query.query({ kinds: ['node.failed'], object: `node${victim.id}` }).rows.at(-1)!;
    assert.match((failed.details as { cause: string }).cause, /^hung \d+ ms$/);
    assert.ok(mc.query.query({ kinds: ['heartbeat.suspect'], object: `node${victim.id}` }).rows.length >= 1, 'a suspicion came first');
    await mc.restartNode(victim.id);
  });
});
