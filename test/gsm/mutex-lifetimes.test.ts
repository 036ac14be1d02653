// A global mutex must come back ABANDONED, never wedged, however its holder lets
// go of the GSM: a worker thread that ends, is terminated or throws; a mapping
// closed with mutexes held (a node's graceful leave closes GSM before exiting); a
// process that exits; a thread that holds mutexes through two mappings of one GSM.
// The kernel marks a dead thread's mutexes owner-died by walking its robust list,
// which lies in GSM: nothing may unmap it under the walk.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { attachMapping, LockCode, UnlockCode } from '../../runtime/gsm/native';
import { createTestGsm, mappingPrelude } from '../helpers/gsm';

function runWorker(code: string, terminate = false): Promise<{ error: string | null }> {
  return new Promise((resolve) => {
    const w = new Worker(`(async () => { ${code} })().catch((e) => { throw e; });`, { eval: true, type: 'module' } as never);
    let error: string | null = null;
    w.on('error', (e) => (error = e.message));
    w.on('message', (m) => {
      if (m === 'holding' && terminate) void w.terminate();
    });
    w.on('exit', () => resolve({ error }));
  });
}

describe('a global mutex whose holder lets go of GSM without unlocking is ABANDONED, not wedged', () => {
  const t = createTestGsm('lifetimes');
  after(() => t.cleanup());
  const here = t.objects(0);

  async function freshMutex(name: string) {
    const m = await here.createMutex(name);
    return { m, offset: m.record.dataOffset };
  }

  it('a worker thread that takes it with lockSync and ends its script', async () => {
    const { m, offset } = await freshMutex('w-ends');
    const r = await runWorker(`${mappingPrelude(t.name)} if (map.mutexLock(${offset}, -1) !== 0) throw new Error('not locked');`);
    assert.equal(r.error, null);
    assert.equal(m.tryLock(), 'ABANDONED', 'the next locker learns the holder is gone');
    m.markConsistent();
    m.unlock();
  });

  it('a worker thread that is terminate()d while holding it', async () => {
    const { m, offset } = await freshMutex('w-terminated');
    await runWorker(
      `${mappingPrelude(t.name)} map.mutexLock(${offset}, -1);
       const { parentPort } = await import('node:worker_threads');
       parentPort.postMessage('holding');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`,
      true,
    );
    assert.equal(m.tryLock(), 'ABANDONED');
    m.markConsistent();
    m.unlock();
  });

  it('a worker thread that throws while holding it', async () => {
    const { m, offset } = await freshMutex('w-throws');
    const r = await runWorker(`${mappingPrelude(t.name)} map.mutexLock(${offset}, -1); throw new Error('boom');`);
    assert.match(r.error ?? '', /boom/);
    assert.equal(m.tryLock(), 'ABANDONED');
    m.markConsistent();
    m.unlock();
  });

  it('another process waiting on it is woken with ABANDONED when a worker holder ends', async () => {
    const { m, offset } = await freshMutex('w-waiter');
    const waiter = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `${mappingPrelude(t.name)}
        const { Worker } = await import('node:worker_threads');
        const w = new Worker(${JSON.stringify(`${mappingPrelude(t.name)} map.mutexLock(${offset}, -1);
          (await import('node:worker_threads')).parentPort.postMessage('holding');
          await new Promise((r) => setTimeout(r, 200));`)}, { eval: true, type: 'module' });
        await new Promise((r) => w.once('message', r));
        const code = map.mutexLock(${offset}, 10000);
        map.mutexConsistent(${offset});
        map.mutexUnlock(${offset});
        console.log(code);`],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(waiter.status, 0, waiter.stderr);
    assert.equal(waiter.stdout.trim(), String(LockCode.ABANDONED), 'the waiter, in the same process as the dead thread, got ABANDONED');
    assert.equal(m.state().state, 'free');
  });

  it('closing a mapping through which this thread holds it releases it as ABANDONED', async () => {
    const { m, offset } = await freshMutex('closed-held');
    const second = attachMapping(t.name);
    assert.equal(second.mutexLock(offset, 1000), LockCode.OK);
    second.close();
    assert.equal(m.state().state, 'abandoned');
    assert.equal(m.tryLock(), 'ABANDONED');
    m.markConsistent();
    assert.equal(m.unlock(), 'OK');
  });

  it('a process that exits (process.exit) or closes GSM and exits, as a graceful leave does, leaves it ABANDONED', async () => {
    for (const [name, tail] of [
      ['exit-held', 'process.exit(0);'],
      ['leave-held', 'map.close(); process.exit(0);'],
    ] as const) {
      const { m, offset } = await freshMutex(name);
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${mappingPrelude(t.name)} map.mutexLock(${offset}, -1); ${tail}`], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(m.tryLock(), 'ABANDONED', name);
      m.markConsistent();
      m.unlock();
    }
  });

  it('a lock taken through one mapping is released through another of the same GSM', async () => {
    const { m, offset } = await freshMutex('two-maps');
    const a = attachMapping(t.name);
    const b = attachMapping(t.name);
    assert.equal(a.mutexLock(offset, 1000), LockCode.OK);
    assert.equal(b.mutexUnlock(offset), UnlockCode.OK);
    a.close();
    assert.equal(m.state().state, 'free', 'closing the mapping it was locked through abandons nothing: it was released');
    assert.equal(b.mutexLock(offset, 1000), LockCode.OK);
    assert.equal(b.mutexUnlock(offset), UnlockCode.OK);
    b.close();
  });

  it('a thread holding mutexes through two mappings closes one and goes on with the other without crashing', async () => {
    const [x, y, z] = await Promise.all(['mix-x', 'mix-y', 'mix-z'].map(freshMutex));
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `${mappingPrelude(t.name)}
        const other = new native.Mapping(${JSON.stringify(t.name)}, 0, false);
        const codes = [map.mutexLock(${x.offset}, -1), other.mutexLock(${y.offset}, -1), map.mutexLock(${z.offset}, -1)];
        other.close();                        // y was held through it: abandoned
        codes.push(map.mutexUnlock(${x.offset}));  // relinks past y's entry
        codes.push(map.mutexUnlock(${z.offset}));
        console.log(codes.join(','));
        process.exit(0);`],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 0, `exited ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), '0,0,0,0,0');
    assert.equal(x.m.state().state, 'free');
    assert.equal(z.m.state().state, 'free');
    assert.equal(y.m.tryLock(), 'ABANDONED');
    y.m.markConsistent();
    y.m.unlock();
  });
});
