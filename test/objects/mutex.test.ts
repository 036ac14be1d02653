import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { threadId } from '../../runtime/gsm/native';
import { ObjectError } from '../../runtime/objects/errors';
import { createTestGsm, startActor } from '../helpers/gsm';

describe('global mutexes across processes', () => {
  const t = createTestGsm('mutex');
  after(() => t.cleanup());
  const here = t.objects(0);

  it('never loses an increment under contention from three processes', async () => {
    const mutex = await here.createMutex('counter-lock');
    const counter = await here.createSection('counter', 8);
    const actors = await Promise.all([1, 2, 3].map((n) => startActor(t.name, n)));
    try {
      for (const a of actors) {
        await a.call('openMutex', { name: 'counter-lock' });
        await a.call('openSection', { name: 'counter' });
      }
      const iterations = 3000;
      const results = await Promise.all(
        actors.map((a) => a.call<Record<string, number>>('incrementLoop', { mutex: 'counter-lock', section: 'counter', iterations })),
      );
      for (const r of results) assert.deepEqual(r, { OK: iterations });
      const buf = counter.readBytes(0, 4);
      assert.equal(new DataView(buf.buffer).getUint32(0, true), 3 * iterations);
      const state = mutex.state();
      assert.equal(state.state, 'free');
      assert.ok(state.lockCount >= 3 * iterations);
    } finally {
      await Promise.all(actors.map((a) => a.kill()));
    }
  });

  it('reports ABANDONED to the next locker when the holder is SIGKILLed, and to a waiter already blocked', async () => {
    await here.createMutex('abandon-me');
    const holder = await startActor(t.name, 1);
    const waiter = await startActor(t.name, 2);
    try {
      await holder.call('openMutex', { name: 'abandon-me' });
      await waiter.call('openMutex', { name: 'abandon-me' });
      void holder.send('lockAndHold', { name: 'abandon-me' });
      await holder.mark('holding:abandon-me:OK');
      const m = await here.openMutex('abandon-me');
      const s = m.state();
      assert.equal(s.state, 'held');
      assert.equal(s.holder?.pid, holder.pid);
      assert.equal(s.holder?.node, 1);
      const waited = waiter.call<string>('lock', { name: 'abandon-me' });
      while (m.state().waiters.length === 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal(m.state().waiters[0].node, 2, 'the waiter is visible to status tools');
      await holder.kill('SIGKILL');
      assert.equal(await waited, 'ABANDONED', 'the kernel woke the blocked waiter with owner-died');
      assert.equal(m.state().state, 'inconsistent');
      assert.equal(m.state().abandonCount, 1);
      await waiter.call('markConsistent', { name: 'abandon-me' });
      assert.equal(await waiter.call('unlock', { name: 'abandon-me' }), 'OK');
      assert.equal(m.tryLock(), 'OK', 'consistent again: the next locker gets OK');
      m.unlock();
    } finally {
      await holder.kill();
      await waiter.kill();
    }
  });

  it('a holder of several mutexes, released out of order, is SIGKILLed: every mutex it still held is ABANDONED', async () => {
    const names = ['nest-a', 'nest-b', 'nest-c', 'nest-d'];
    const mine = await Promise.all(names.map((n) => here.createMutex(n)));
    const holder = await startActor(t.name, 1);
    try {
      for (const n of names) await holder.call('openMutex', { name: n });
      for (const n of ['nest-a', 'nest-b', 'nest-c']) assert.equal(await holder.call('lock', { name: n }), 'OK');
      assert.equal(await holder.call('unlock', { name: 'nest-b' }), 'OK', 'released from the middle of its robust list');
      assert.equal(await holder.call('lock', { name: 'nest-d' }), 'OK');
      assert.equal(await holder.call('unlock', { name: 'nest-d' }), 'OK', 'released the newest');
      assert.equal(await holder.call('lock', { name: 'nest-d' }), 'OK');
      await holder.kill('SIGKILL');
      const [a, b, c, d] = mine;
      assert.equal(await a.lock(1000), 'ABANDONED');
      assert.equal(await b.lock(1000), 'OK', 'the mutex it released is not abandoned');
      assert.equal(await c.lock(1000), 'ABANDONED');
      assert.equal(await d.lock(1000), 'ABANDONED');
      for (const m of [a, c, d]) {
        assert.equal(m.state().abandonedBy?.pid, holder.pid);
        m.markConsistent();
      }
      for (const m of mine) assert.equal(m.unlock(), 'OK');
    } finally {
      await holder.kill();
    }
  });

  it('becomes NOT_RECOVERABLE when an ABANDONED holder unlocks without marking it consistent', async () => {
    const m = await here.createMutex('poisoned');
    const holder = await startActor(t.name, 1);
    try {
      await holder.call('openMutex', { name: 'poisoned' });
      void holder.send('lockAndHold', { name: 'poisoned' });
      await holder.mark('holding:poisoned:OK');
      await holder.kill('SIGKILL');
      assert.equal(await m.lock(), 'ABANDONED');
      assert.equal(m.unlock(), 'NOT_RECOVERABLE');
      assert.equal(m.state().state, 'not-recoverable');
      assert.equal(await m.lock(), 'NOT_RECOVERABLE');
      assert.equal(m.tryLock(), 'NOT_RECOVERABLE');
    } finally {
      await holder.kill();
    }
  });

  it('times out while another process holds the lock', async () => {
    await here.createMutex('busy');
    const holder = await startActor(t.name, 1);
    try {
      await holder.call('openMutex', { name: 'busy' });
      void holder.send('lockAndHold', { name: 'busy' });
      await holder.mark('holding:busy:OK');
      const m = await here.openMutex('busy');
      assert.equal(await m.lock(30), 'TIMEOUT');
      assert.equal(m.lockSync(10), 'TIMEOUT');
      assert.equal(m.tryLock(), 'TIMEOUT');
      assert.equal(m.state().waiters.length, 0, 'timed-out waiters leave the waiter list');
    } finally {
      await holder.kill();
    }
  });

  it('lets only the owner unlock, and refuses to lock twice from one thread', async () => {
    const m = await here.createMutex('owned');
    const other = await startActor(t.name, 1);
    try {
      await other.call('openMutex', { name: 'owned' });
      assert.equal(m.tryLock(), 'OK');
      assert.throws(() => m.tryLock(), (e) => e instanceof ObjectError && /not recursive/.test(e.message));
      await assert.rejects(other.call('unlock', { name: 'owned' }), /held by node 0 pid \d+ tid \d+, not by this thread/);
      assert.equal(m.state().holder?.tid, threadId());
      assert.equal(m.unlock(), 'OK');
      assert.throws(() => m.unlock(), (e) => e instanceof ObjectError && e.code === 'not-owner');
    } finally {
      await other.kill();
    }
  });

  it('rejects locking through a handle whose mutex was reclaimed', async () => {
    const node5 = t.objects(5);
    const m = await node5.createMutex('gone-soon');
    const mine = await here.openMutex(m.id);
    await here.ns.reclaimNode(0);
    await m.delete();
    await assert.rejects(mine.lock(), (e) => e instanceof ObjectError && e.code === 'invalid-id');
  });
});
