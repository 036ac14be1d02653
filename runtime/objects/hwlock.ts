// Hardware locks (paper §2.2): MCS shared resources included "hardware locks that
// implement atomic read-modify-write operations". Ours is a 64-bit atomic register
// in GSM plus a test-and-set lock word. Unlike a global mutex it is not robust: a
// holder that dies leaves it held until membership clears it (the hardware had no
// notion of owners either), so status tools show the holder's node and pid.
// Data: u64 register, u32 lock word (0 free, else holder tid), u32 holder node, u32 holder pid.
import { monotonicNs, threadId } from '../gsm/native';
import { ObjectError } from './errors';
import { GlobalHandle } from './handle';

export const HWLOCK_BYTES = 64;
/** Field offsets in a hardware lock's data (status tools decode them too). */
export const HWLOCK_FIELDS = { register: 0, lock: 8, holderNode: 12, holderPid: 16 } as const;
const { register: REGISTER, lock: LOCK, holderNode: HOLDER_NODE, holderPid: HOLDER_PID } = HWLOCK_FIELDS;

export class HwLock extends GlobalHandle {
  private get base() {
    return this.record.dataOffset;
  }

  read(): bigint {
    this.check();
    return this.mem.load64(this.base + REGISTER);
  }
  write(value: bigint): void {
    this.check();
    this.mem.store64(this.base + REGISTER, value);
  }
  compareExchange(expected: bigint, desired: bigint): bigint {
    this.check();
    return this.mem.cas64(this.base + REGISTER, expected, desired);
  }
  fetchAdd(delta: bigint): bigint {
    this.check();
    return this.mem.add64(this.base + REGISTER, delta);
  }
  exchange(value: bigint): bigint {
    this.check();
    return this.mem.xchg64(this.base + REGISTER, value);
  }

  tryAcquire(): boolean {
    this.check();
    const me = threadId();
    if (this.mem.cas32(this.base + LOCK, 0, me) !== 0) return false;
    const node = this.ns.identity?.node ?? 0xffffffff;
    this.mem.store32(this.base + HOLDER_NODE, node >>> 0);
    this.mem.store32(this.base + HOLDER_PID, process.pid);
    return true;
  }

  /** Waits (without blocking the event loop) until the lock is free or the timeout passes. */
  async acquire(timeoutMs = Infinity): Promise<boolean> {
    const deadline = monotonicNs() + timeoutMs * 1e6;
    for (;;) {
      if (this.tryAcquire()) return true;
      const left = (deadline - monotonicNs()) / 1e6;
      if (left <= 0) return false;
      const seen = this.mem.load32(this.base + LOCK);
      if (seen !== 0) await this.mem.wait32Async(this.base + LOCK, seen, Math.min(left, 1000));
    }
  }

  release(): void {
    this.check();
    if (this.mem.load32(this.base + LOCK) !== threadId())
      throw new ObjectError('not-owner', `hardware lock ${this.name} (${this.id}) is not held by this thread`);
    this.mem.store32(this.base + HOLDER_PID, 0);
    this.mem.store32(this.base + LOCK, 0);
    this.mem.wake32(this.base + LOCK, 1);
  }

  state(): { value: bigint; held: boolean; holderNode: number | null; holderPid: number | null } {
    const held = this.mem.load32(this.base + LOCK) !== 0;
    return {
      value: this.mem.load64(this.base + REGISTER),
      held,
      holderNode: held ? this.mem.load32(this.base + HOLDER_NODE) : null,
      holderPid: held ? this.mem.load32(this.base + HOLDER_PID) : null,
    };
  }
}

/** Membership's fencing path: free a hardware lock a dead process still holds. */
export function forceReleaseHwLock(map: import('../gsm/native').Mapping, dataOffset: number, deadPid: number): boolean {
  if (map.load32(dataOffset + LOCK) === 0 || map.load32(dataOffset + HOLDER_PID) !== deadPid) return false;
  map.store32(dataOffset + HOLDER_PID, 0);
  map.store32(dataOffset + LOCK, 0);
  map.wake32(dataOffset + LOCK, 1);
  return true;
}
