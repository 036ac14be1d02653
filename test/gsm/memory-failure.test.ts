import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { Gsm } from '../../runtime/gsm/gsm';
import { DUMMY_BYTE, H, contribution } from '../../runtime/gsm/layout';
import { LockCode, UnlockCode } from '../../runtime/gsm/native';
import { createTestGsm, mappingPrelude } from '../helpers/gsm';

describe('memory-failure model (paper §3.3.2, §7.2)', () => {
  const t = createTestGsm('memfail');
  after(() => t.cleanup());
  const { gsm } = t;
  const base = contribution(gsm.layout, 1);

  it('reads of failed memory return the dummy pattern and count a failure, in every process', () => {
    gsm.map.write(base, Uint8Array.of(10, 20, 30, 40, 50, 60));
    const before = gsm.memoryFailures();
    gsm.failRegion(base + 2, 2);
    const other = Gsm.attach(t.name);
    try {
      const out = new Uint8Array(6);
      assert.equal(other.map.read(base, out), 2, 'two bytes were failed memory');
      assert.deepEqual([...out], [10, 20, DUMMY_BYTE, DUMMY_BYTE, 50, 60]);
      assert.equal(other.memoryFailures(), before + 1, 'the global count since power-on went up');
      assert.equal(other.map.load32(base), 0xffffffff, 'an atomic load of failed memory is the dummy word too');
      assert.equal(gsm.memoryFailures(), before + 2);
    } finally {
      other.close();
    }
  });

  it('drops writes to failed memory and keeps the good bytes around them', () => {
    gsm.map.write(base, Uint8Array.of(1, 1, 1, 1, 1, 1));
    gsm.repairRegion(base, 6);
    const out = new Uint8Array(6);
    gsm.map.read(base, out);
    assert.deepEqual([...out], [1, 1, 30, 40, 1, 1], 'bytes 2..3 kept what they held before the failure');
  });

  it('answers isAccessible for a range', () => {
    gsm.failRegion(base + 4096, 4096);
    assert.equal(gsm.isAccessible(base, 4096), true);
    assert.equal(gsm.isAccessible(base + 4000, 200), false);
    assert.deepEqual(gsm.failedRegions().at(-1), { offset: base + 4096, length: 4096 });
    gsm.repairRegion(base + 4096, 4096);
    assert.equal(gsm.isAccessible(base + 4000, 200), true);
  });

  it('refuses to fail the system area or memory outside GSM', () => {
    assert.throws(() => gsm.failRegion(H.failedMap, 16), RangeError);
    assert.throws(() => gsm.failRegion(gsm.layout.totalBytes - 1, 2), RangeError);
    assert.throws(() => gsm.failRegion(base, 0), RangeError);
  });

  it('rejects attaching to shared memory that is not MCS GSM', () => {
    const name = `${t.name}-foreign`;
    const foreign = Gsm.create(name);
    foreign.map.store32(H.magic, 0x12345678);
    foreign.close();
    try {
      assert.throws(() => Gsm.attach(name), /not MCS GSM/);
    } finally {
      Gsm.unlink(name);
    }
  });
});

describe('waiters on a mutex whose memory fails', () => {
  const t = createTestGsm('memfail-wait');
  after(() => t.cleanup());

  /** A thread with its own mapping that runs `code` (plain JS; `map`, `offset` and `parentPort` in scope). */
  function thread(offset: number, code: string): Worker {
    return new Worker(
      `(async () => {
        ${mappingPrelude(t.name, t.gsm.layout)}
        const { parentPort } = await import('node:worker_threads');
        const offset = ${offset};
        ${code}
      })();`,
      { eval: true, type: 'module' } as never,
    );
  }
  const next = (w: Worker) => new Promise<unknown>((resolve) => w.once('message', resolve));

  it('are woken when the holder lets go, and get MEMORY_FAILED at once rather than at their timeout (async and blocking waits)', async () => {
    const m = await t.objects(0).createMutex('fails-under-waiters');
    const offset = m.record.dataOffset;
    const holder = thread(offset, `
      if (map.mutexLock(offset, -1) !== 0) throw new Error('not locked');
      parentPort.postMessage('holding');
      parentPort.once('message', () => parentPort.postMessage(map.mutexUnlock(offset)));`);
    assert.equal(await next(holder), 'holding');
    // Waits far longer than this test may take: only a wake can end them in time.
    const WAIT_MS = 120_000;
    const blocking = thread(offset, `
      parentPort.postMessage('waiting');
      parentPort.postMessage(map.mutexLock(offset, ${WAIT_MS}));`);
    assert.equal(await next(blocking), 'waiting');
    const asyncWait = t.gsm.map.mutexLockAsync(offset, WAIT_MS);
    await new Promise((r) => setTimeout(r, 200)); // both asleep on the word
    t.gsm.failRegion(offset, 64);
    const unlocked = next(holder);
    const blockingResult = next(blocking);
    holder.postMessage('unlock');
    assert.equal(await unlocked, UnlockCode.MEMORY_FAILED);
    const inTime = <T>(p: Promise<T>, what: string) =>
      Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} still waiting 20 s after the unlock`)), 20_000).unref())]);
    assert.equal(await inTime(asyncWait, 'the async waiter'), LockCode.MEMORY_FAILED);
    assert.equal(await inTime(blockingResult, 'the blocking waiter'), LockCode.MEMORY_FAILED);
    await Promise.all([holder.terminate(), blocking.terminate()]);
  });
});
