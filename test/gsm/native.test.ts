import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { attachMapping, closeFd, createMapping, pidfdOpen, pidfdWait, unlinkMapping, type Mapping } from '../../runtime/gsm/native';
import { uniqueGsmName } from '../helpers/gsm';

describe('GSM native module', () => {
  const name = uniqueGsmName('native');
  const map: Mapping = createMapping(name, 64 * 1024);
  after(() => {
    if (!map.closed) map.close();
    unlinkMapping(name);
  });

  it('copies bytes in and out with bounds checked in native code', () => {
    assert.equal(map.write(100, Uint8Array.of(1, 2, 3)), 0);
    const out = new Uint8Array(3);
    map.read(100, out);
    assert.deepEqual([...out], [1, 2, 3]);
    assert.throws(() => map.read(64 * 1024 - 2, new Uint8Array(3)), RangeError);
    assert.throws(() => map.write(2 ** 40, new Uint8Array(1)), RangeError);
    assert.throws(() => map.read(-1, new Uint8Array(1)), RangeError);
    assert.throws(() => map.read(1.5, new Uint8Array(1)), RangeError);
    assert.throws(() => map.read(0, [1, 2] as unknown as Uint8Array), TypeError);
  });

  it('offers 32- and 64-bit atomics and rejects unaligned or out-of-range words', () => {
    map.store32(0, 5);
    assert.equal(map.cas32(0, 5, 9), 5);
    assert.equal(map.cas32(0, 5, 11), 9, 'a failed CAS returns the current value');
    assert.equal(map.add32(0, -2), 9);
    assert.equal(map.xchg32(0, 1), 7);
    assert.equal(map.load32(0), 1);
    map.store64(8, 2n ** 63n);
    assert.equal(map.add64(8, 1n), 2n ** 63n);
    assert.equal(map.cas64(8, 2n ** 63n + 1n, 3n), 2n ** 63n + 1n);
    assert.equal(map.xchg64(8, 4n), 3n);
    map.store64n(16, 2 ** 40);
    assert.equal(map.add64n(16, 1), 2 ** 40);
    assert.equal(map.load64n(16), 2 ** 40 + 1);
    assert.throws(() => map.load32(2), /aligned/);
    assert.throws(() => map.load64(4), /aligned/);
    assert.throws(() => map.load32(64 * 1024), RangeError);
    assert.throws(() => map.store32(0, -1), RangeError);
  });

  it('waits with a timeout, returns not-equal at once, and is woken from another process', async () => {
    map.store32(32, 0);
    assert.equal(map.wait32(32, 1, 1000), 'not-equal');
    assert.equal(map.wait32(32, 0, 20), 'timed-out');
    assert.equal(await map.wait32Async(32, 0, 20), 'timed-out');
    const waiting = map.wait32Async(32, 0, 30_000);
    const code = `
      const { attachMapping } = await import(${JSON.stringify(new URL('../../runtime/gsm/native.ts', import.meta.url).pathname)});
      const m = attachMapping(${JSON.stringify(name)});
      m.store32(32, 1); m.wake32(32, 1); m.close();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: 'inherit' });
    assert.equal(await waiting, 'ok');
    await new Promise((r) => child.once('exit', r));
    assert.equal(map.load32(32), 1);
  });

  it('refuses to create over an existing object, and to attach a missing one', () => {
    assert.throws(() => createMapping(name, 4096), (e: NodeJS.ErrnoException) => e.code === 'ERR_GSM_EXISTS');
    assert.throws(() => attachMapping(`${name}-missing`), (e: NodeJS.ErrnoException) => e.code === 'ERR_GSM_NOENT');
    assert.throws(() => createMapping('no-slash', 4096), /name/);
    assert.throws(() => createMapping('/bad/name', 4096), /name/);
  });

  it('reports use after close and a second close as clear errors', () => {
    const other = attachMapping(name);
    other.close();
    assert.equal(other.closed, true);
    assert.throws(() => other.load32(0), (e: NodeJS.ErrnoException) => e.code === 'ERR_GSM_CLOSED' && /closed/.test(e.message));
    assert.throws(() => other.close(), /already closed/);
  });

  it("hears a child's exit through its pidfd at once, long before the wait's timeout (the failure detector's wait)", async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const fd = pidfdOpen(child.pid!);
    assert.ok(fd >= 0, `pidfd_open gave ${fd}`);
    try {
      assert.deepEqual(pidfdWait([fd], 0), [], 'a running process: nothing to hear');
      child.kill('SIGKILL');
      const t0 = performance.now();
      // Blocks this thread; the kernel wakes it when the process exits.
      assert.deepEqual(pidfdWait([fd], 20_000), [fd]);
      assert.ok(performance.now() - t0 < 10_000, 'woken by the exit, not by the 20 s timeout');
      assert.deepEqual(pidfdWait([fd], 0), [fd], 'it stays readable: the caller closes it');
    } finally {
      closeFd(fd);
    }
    await exited;
    assert.ok(pidfdOpen(child.pid!) < 0, 'a reaped process has no pidfd');
    assert.throws(() => pidfdOpen(0), RangeError);
    assert.throws(() => pidfdWait([-1], 10), RangeError);
    assert.throws(() => pidfdWait([fd], -1), RangeError);
  });
});
