// The memory a component works on, as the verbs it needs: bounded copies with an
// optional generation guard, 32/64-bit atomics and futex wait/wake. In `global`
// use it is the GSM mapping itself; in `local` use (the paper's "Win32 local
// resources" bar of Figure 7) it is process-private memory with the same verbs,
// so the same component code runs over either.
import type { Mapping, WaitResult } from '../gsm/native';

export type Memory = Pick<
  Mapping,
  'read' | 'write' | 'load32' | 'store32' | 'cas32' | 'add32' | 'load64n' | 'store64n' | 'wait32Async' | 'wake32'
>;

/** Process-private memory with the Memory verbs. Never fails: it fails with the process. */
export class LocalMemory implements Memory {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly waiters = new Map<number, Set<() => void>>();

  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  private check(offset: number, length: number) {
    if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > this.size)
      throw new RangeError(`local memory access [${offset}, +${length}) outside ${this.size} bytes`);
  }

  read(offset: number, into: Uint8Array): number {
    this.check(offset, into.length);
    into.set(this.bytes.subarray(offset, offset + into.length));
    return 0;
  }
  write(offset: number, from: Uint8Array): number {
    this.check(offset, from.length);
    this.bytes.set(from, offset);
    return 0;
  }
  load32(offset: number): number {
    this.check(offset, 4);
    return this.view.getUint32(offset, true);
  }
  store32(offset: number, value: number): void {
    this.check(offset, 4);
    this.view.setUint32(offset, value >>> 0, true);
  }
  cas32(offset: number, expected: number, desired: number): number {
    const old = this.load32(offset);
    if (old === expected >>> 0) this.store32(offset, desired);
    return old;
  }
  add32(offset: number, delta: number): number {
    const old = this.load32(offset);
    this.store32(offset, (old + delta) >>> 0);
    return old;
  }
  load64n(offset: number): number {
    this.check(offset, 8);
    return Number(this.view.getBigUint64(offset, true));
  }
  store64n(offset: number, value: number): void {
    this.check(offset, 8);
    this.view.setBigUint64(offset, BigInt(value), true);
  }
  wait32Async(offset: number, expected: number, timeoutMs: number): Promise<WaitResult> {
    if (this.load32(offset) !== expected >>> 0) return Promise.resolve('not-equal');
    return new Promise((resolve) => {
      let set = this.waiters.get(offset);
      if (!set) this.waiters.set(offset, (set = new Set()));
      const done = (r: WaitResult) => {
        set.delete(wake);
        clearTimeout(timer);
        resolve(r);
      };
      const wake = () => done('ok');
      set.add(wake);
      const timer = Number.isFinite(timeoutMs) && timeoutMs >= 0 ? setTimeout(() => done('timed-out'), timeoutMs) : undefined;
    });
  }
  wake32(offset: number, count = 2 ** 31 - 1): number {
    const set = this.waiters.get(offset);
    if (!set) return 0;
    let n = 0;
    for (const w of [...set]) {
      if (n++ >= count) break;
      w();
    }
    return n;
  }
}
