import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ObjectError } from '../../runtime/objects/errors';
import { createTestGsm, startActor } from '../helpers/gsm';

describe('global events, mailboxes and hardware locks across processes', () => {
  const t = createTestGsm('events');
  after(() => t.cleanup());
  const here = t.objects(0);

  it('a manual-reset event releases every waiting process and stays signaled', async () => {
    const ev = await here.createEvent('go', { manualReset: true });
    const waiters = await Promise.all([1, 2].map((n) => startActor(t.name, n)));
    try {
      for (const w of waiters) await w.call('openEvent', { name: 'go' });
      const results = waiters.map((w) => w.call('waitEvent', { name: 'go' }));
      await Promise.all(waiters.map((w) => w.mark('waiting:go')));
      ev.signal();
      assert.deepEqual(await Promise.all(results), ['SIGNALED', 'SIGNALED']);
      assert.equal(ev.signaled, true);
      ev.reset();
      assert.equal(await ev.wait(20), 'TIMEOUT');
    } finally {
      await Promise.all(waiters.map((w) => w.kill()));
    }
  });

  it('an auto-reset event releases exactly one waiter per signal', async () => {
    const ev = await here.createEvent('one-at-a-time');
    const waiters = await Promise.all([1, 2].map((n) => startActor(t.name, n)));
    try {
      for (const w of waiters) await w.call('openEvent', { name: 'one-at-a-time' });
      const results = waiters.map((w) => w.call('waitEvent', { name: 'one-at-a-time', timeoutMs: 400 }));
      await Promise.all(waiters.map((w) => w.mark('waiting:one-at-a-time')));
      ev.signal();
      const got = await Promise.all(results);
      assert.deepEqual([...got].sort(), ['SIGNALED', 'TIMEOUT']);
      assert.equal(ev.signaled, false, 'the released waiter consumed the signal');
    } finally {
      await Promise.all(waiters.map((w) => w.kill()));
    }
  });

  it('a mailbox carries small messages to its node, in order, and counts what a full box drops', async () => {
    const box = await here.createMailbox('to-node-1', { targetNode: 1, capacity: 2 });
    const receiver = await startActor(t.name, 1);
    try {
      await receiver.call('openMailbox', { name: 'to-node-1' });
      assert.equal(await box.send(new TextEncoder().encode('first')), true);
      assert.equal(await box.send(new TextEncoder().encode('second')), true);
      assert.equal(await box.send(new TextEncoder().encode('third')), false, 'full');
      assert.deepEqual(box.state(), { queued: 2, capacity: 2, dropped: 1 });
      assert.deepEqual(await receiver.call('receive', { name: 'to-node-1' }), { fromNode: 0, text: 'first' });
      assert.deepEqual(await receiver.call('receive', { name: 'to-node-1' }), { fromNode: 0, text: 'second' });
      const waiting = receiver.call('receive', { name: 'to-node-1', timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 50));
      await box.send(new TextEncoder().encode('late'));
      assert.deepEqual(await waiting, { fromNode: 0, text: 'late' }, 'a blocked receiver is woken');
      await assert.rejects(box.receive(0), (e) => e instanceof ObjectError && e.code === 'not-owner');
      await assert.rejects(box.send(new Uint8Array(241)), (e) => e instanceof ObjectError && e.code === 'bad-argument');
    } finally {
      await receiver.kill();
    }
  });

  it('a hardware lock is an atomic register with test-and-set', async () => {
    const hw = await here.createHwLock('register');
    assert.equal(hw.fetchAdd(5n), 0n);
    assert.equal(hw.compareExchange(5n, 9n), 5n);
    assert.equal(hw.exchange(1n), 9n);
    assert.equal(hw.read(), 1n);
    assert.equal(hw.tryAcquire(), true);
    assert.equal(hw.tryAcquire(), false);
    assert.equal(await hw.acquire(20), false);
    assert.deepEqual({ ...hw.state(), value: undefined }, { value: undefined, held: true, holderNode: 0, holderPid: process.pid });
    hw.release();
    assert.throws(() => hw.release(), (e) => e instanceof ObjectError && e.code === 'not-owner');
  });
});
