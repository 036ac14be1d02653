// Global mutexes (paper §2.3.1, §3.3.1). The lock word and the robust bookkeeping
// live in native code (gsm.cc); this file gives them statuses a program can
// switch on, the errors a user can read, and the decoded state status tools show.
import { freezeAwareDeadline } from '../gsm/freeze-clock';
import { readFileSync } from 'node:fs';
import { LockCode, MUTEX_WAITER_SLOTS, NS_PER_TICK, UnlockCode, threadId, ticks, type Mapping } from '../gsm/native';
import { ObjectError } from './errors';
import { GlobalHandle } from './handle';

/**
 * OK: acquired. ABANDONED: acquired, but the previous holder died holding it (the
 * protected data may be half-updated): repair it, call markConsistent(), then
 * unlock. TIMEOUT: not acquired in time. NOT_RECOVERABLE: a previous ABANDONED
 * holder unlocked without markConsistent(); the mutex is unusable until recreated.
 * MEMORY_FAILED: the GSM housing the mutex failed.
 */
export type LockStatus = 'OK' | 'ABANDONED' | 'TIMEOUT' | 'NOT_RECOVERABLE' | 'MEMORY_FAILED';

/**
 * Field offsets in a global mutex (the layout is defined by kMutexSize's comment
 * in gsm.cc; this is its one TypeScript copy, for status tools and fencing).
 */
export const MUTEX_FIELDS = {
  word: 0,
  state: 4,
  ownerNode: 8,
  ownerPid: 12,
  ownerIncarnation: 16,
  abandonCount: 20,
  lockedAtTicks: 40,
  lockCount: 48,
  waiterCount: 52,
  maxHoldUs: 60,
  totalHoldTicks: 64,
  abandonedByPid: 72,
  abandonedByNode: 76,
  waiterSlots: 128,
} as const;
const F = MUTEX_FIELDS;

const FUTEX_WAITERS = 0x80000000;
const FUTEX_OWNER_DIED = 0x40000000;
const FUTEX_TID_MASK = 0x3fffffff;

/**
 * Fault injection for the operator's kill-thread --holding: when set, called in
 * this thread right after it acquires a global mutex (module state is per
 * thread: each worker has its own), so the thread can die holding it.
 */
export const acquireFault: { hook: ((m: GlobalMutex) => void) | null } = { hook: null };

export class GlobalMutex extends GlobalHandle {
  // Cached once: tryLock/unlock are the hot path the mutex benchmark measures.
  private readonly offset = this.record.dataOffset;
  private readonly map = this.ns.gsm.map;

  private status(code: number): LockStatus {
    switch (code) {
      case LockCode.OK:
        return 'OK';
      case LockCode.ABANDONED:
        return 'ABANDONED';
      case LockCode.TIMED_OUT:
      case LockCode.BUSY:
        return 'TIMEOUT';
      case LockCode.NOT_RECOVERABLE:
        return 'NOT_RECOVERABLE';
      case LockCode.MEMORY_FAILED:
        return 'MEMORY_FAILED';
      case LockCode.ALREADY_OWNED:
        throw new ObjectError('bad-argument', `mutex ${this.name} (${this.id}) is already held by this thread (global mutexes are not recursive)`);
      case LockCode.STALE:
        throw new ObjectError('invalid-id', `mutex ${this.name} (${this.id}) is invalid: it was deleted or reclaimed`);
      default:
        throw new Error(`unexpected mutex code ${code}`);
    }
  }

  private acquired(s: LockStatus): LockStatus {
    if (acquireFault.hook && (s === 'OK' || s === 'ABANDONED')) acquireFault.hook(this);
    return s;
  }

  /** Waits without blocking the event loop (timeoutMs: Infinity waits forever). */
  async lock(timeoutMs = Infinity): Promise<LockStatus> {
    this.check();
    if (!Number.isFinite(timeoutMs)) return this.acquired(this.status(await this.map.mutexLockAsync(this.offset, timeoutMs, this.guardOffset, this.generation)));
    // Time during which the debugger held some node frozen does not count: the
    // holder may be a paused thread (paper §5.3, runtime/gsm/freeze-clock.ts).
    const deadline = freezeAwareDeadline(this.map, timeoutMs);
    for (;;) {
      const code = await this.map.mutexLockAsync(this.offset, Math.max(0, deadline.remainingMs()), this.guardOffset, this.generation);
      if (code !== LockCode.TIMED_OUT || deadline.remainingMs() <= 0) return this.acquired(this.status(code));
    }
  }

  /** Blocks the calling thread: for worker threads and code that must not yield. */
  lockSync(timeoutMs = Infinity): LockStatus {
    this.check();
    if (!Number.isFinite(timeoutMs)) return this.acquired(this.status(this.map.mutexLock(this.offset, timeoutMs, this.guardOffset, this.generation)));
    const deadline = freezeAwareDeadline(this.map, timeoutMs);
    for (;;) {
      const code = this.map.mutexLock(this.offset, Math.max(0, deadline.remainingMs()), this.guardOffset, this.generation);
      if (code !== LockCode.TIMED_OUT || deadline.remainingMs() <= 0) return this.acquired(this.status(code));
    }
  }

  tryLock(): LockStatus {
    this.check();
    const code = this.map.mutexTryLock(this.offset, this.guardOffset, this.generation);
    return this.acquired(code === LockCode.OK ? 'OK' : this.status(code));
  }

  /** Declares the data an ABANDONED lock protected repaired (POSIX pthread_mutex_consistent). */
  markConsistent(): void {
    this.check();
    if (!this.mem.mutexConsistent(this.offset))
      throw new ObjectError('bad-argument', `mutex ${this.name} (${this.id}) is not held ABANDONED by this thread`);
  }

  /**
   * Releases the lock; only the holding thread may. Returns 'NOT_RECOVERABLE' if the
   * lock was ABANDONED and not marked consistent: that unlock poisons the mutex.
   */
  unlock(): 'OK' | 'NOT_RECOVERABLE' | 'MEMORY_FAILED' {
    this.check();
    const code = this.map.mutexUnlock(this.offset);
    if (code === UnlockCode.OK) return 'OK';
    if (code === UnlockCode.NOT_OWNER) {
      const s = this.state();
      const holder = s.holder ? `node ${s.holder.node} pid ${s.holder.pid} tid ${s.holder.tid}` : 'nobody';
      throw new ObjectError('not-owner', `mutex ${this.name} (${this.id}) is held by ${holder}, not by this thread (tid ${threadId()})`);
    }
    return code === UnlockCode.MADE_NOT_RECOVERABLE ? 'NOT_RECOVERABLE' : code === UnlockCode.MEMORY_FAILED ? 'MEMORY_FAILED' : 'OK';
  }

  state(): MutexState {
    return readMutexState(this.mem, this.offset);
  }
}

export interface MutexState {
  state: 'free' | 'held' | 'abandoned' | 'inconsistent' | 'not-recoverable';
  holder: { node: number; pid: number; tid: number; incarnation: number; heldMs: number } | null;
  waiters: { node: number; pid: number; tid: number; waitedMs: number }[];
  waiterCount: number;
  abandonCount: number;
  /** The holder whose death last abandoned this mutex. */
  abandonedBy: { node: number; pid: number } | null;
  lockCount: number;
  maxHoldMs: number;
  totalHoldMs: number;
}

/** Decodes the native mutex layout (see the comment above kMutexSize in gsm.cc). */
export function readMutexState(map: Mapping, offset: number): MutexState {
  const buf = new Uint8Array(F.waiterSlots + 32 * MUTEX_WAITER_SLOTS);
  map.read(offset, buf);
  const v = new DataView(buf.buffer);
  const now = ticks();
  const ms = (t: number) => Math.max(0, ((now - t) * NS_PER_TICK) / 1e6);
  const word = v.getUint32(F.word, true);
  const st = v.getUint32(F.state, true);
  const tid = word & FUTEX_TID_MASK;
  const node = v.getUint32(F.ownerNode, true);
  const lockedAt = Number(v.getBigUint64(F.lockedAtTicks, true));
  let state: MutexState['state'] = 'free';
  if (st === 2) state = 'not-recoverable';
  else if (tid && st === 1) state = 'inconsistent';
  else if (tid) state = 'held';
  else if (word & FUTEX_OWNER_DIED) state = 'abandoned';
  const waiters: MutexState['waiters'] = [];
  const order: number[] = [];
  for (let i = 0; i < MUTEX_WAITER_SLOTS; i++) {
    const at = F.waiterSlots + 32 * i;
    const wtid = v.getUint32(at, true);
    if (!wtid) continue;
    waiters.push({
      tid: wtid,
      pid: v.getUint32(at + 4, true),
      node: v.getUint32(at + 8, true),
      waitedMs: ms(Number(v.getBigUint64(at + 16, true))),
    });
    order.push(v.getUint32(at + 12, true));
  }
  const sorted = waiters.map((w, i) => ({ w, t: order[i] })).sort((a, b) => a.t - b.t).map((x) => x.w);
  return {
    state,
    holder: tid
      ? { node: node === 0xffffffff ? -1 : node, pid: v.getUint32(F.ownerPid, true), tid, incarnation: v.getUint32(F.ownerIncarnation, true), heldMs: ms(lockedAt) }
      : null,
    waiters: sorted,
    waiterCount: v.getUint32(F.waiterCount, true),
    abandonCount: v.getUint32(F.abandonCount, true),
    abandonedBy: v.getUint32(F.abandonedByPid, true)
      ? { pid: v.getUint32(F.abandonedByPid, true), node: v.getUint32(F.abandonedByNode, true) }
      : null,
    lockCount: v.getUint32(F.lockCount, true),
    maxHoldMs: v.getUint32(F.maxHoldUs, true) / 1000,
    totalHoldMs: (Number(v.getBigUint64(F.totalHoldTicks, true)) * NS_PER_TICK) / 1e6,
  };
}

export const MUTEX_WORD = { FUTEX_WAITERS, FUTEX_OWNER_DIED, FUTEX_TID_MASK };

/**
 * Whether kernel thread `tid` still exists (a zombie counts as gone: it holds no
 * lock and will never wait again). Any thread of the machine: holders and waiters
 * are recorded by TID, and TIDs are unique system-wide while the thread lives.
 */
export function threadExists(tid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${tid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export interface DeadThreadRelease {
  /** The holder thread that no longer existed, now marked owner-died (null if none). */
  abandonedTid: number | null;
  /** Waiter slots of threads that no longer exist, cleared. */
  clearedWaiters: number;
}

/**
 * The backstop for a mutex whose holder or waiters died without the kernel's help
 * (the kernel marks a dead holder owner-died through its robust list; a window
 * before the link, or a dead *waiter*, it cannot see). It acts only on threads
 * that no longer exist, so a live holder — say a survivor repairing after taking
 * the lock ABANDONED — is never touched: the CAS inside mutexAbandon only changes
 * a word that still names the dead thread. A dead waiter may have consumed the
 * wake of an unlock, so after clearing its slot the wake is passed on.
 */
export function releaseDeadThreads(map: Mapping, offset: number, exists: (tid: number) => boolean = threadExists): DeadThreadRelease {
  const word = map.load32(offset + F.word);
  const holder = word & FUTEX_TID_MASK;
  let abandonedTid: number | null = null;
  if (holder && !exists(holder) && map.mutexAbandon(offset, holder)) abandonedTid = holder;
  let clearedWaiters = 0;
  for (let i = 0; i < MUTEX_WAITER_SLOTS; i++) {
    const at = offset + F.waiterSlots + 32 * i;
    const tid = map.load32(at);
    if (!tid || exists(tid) || map.cas32(at, tid, 0) !== tid) continue;
    clearedWaiters++;
    // The count is best effort (a waiter beyond the slots is not listed), but it
    // must not wrap below zero.
    for (let n = map.load32(offset + F.waiterCount); n > 0; n = map.load32(offset + F.waiterCount))
      if (map.cas32(offset + F.waiterCount, n, n - 1) === n) break;
  }
  if (clearedWaiters > 0) {
    for (let v = map.load32(offset + F.word); ; v = map.load32(offset + F.word)) {
      if ((v & FUTEX_TID_MASK) === 0) {
        map.wake32(offset + F.word, 1);
        break;
      }
      if (v & FUTEX_WAITERS || map.cas32(offset + F.word, v, (v | FUTEX_WAITERS) >>> 0) === v) break;
    }
  }
  return { abandonedTid, clearedWaiters };
}
