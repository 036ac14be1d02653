// Typed face of the GSM native module (runtime/gsm/native/gsm.cc). Nothing else in
// the runtime loads the addon directly: this file is the one place that knows
// where the binary lives and what its calls return.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type WaitResult = 'ok' | 'not-equal' | 'timed-out' | 'failed';

/** Codes returned by the native mutex calls (mirrors LockResult in gsm.cc). */
export const LockCode = {
  OK: 0,
  ABANDONED: 1,
  TIMED_OUT: 2,
  NOT_RECOVERABLE: 3,
  MEMORY_FAILED: 4,
  ALREADY_OWNED: 5,
  BUSY: 6,
  /** The guard word (the object's generation) changed: the mutex object is gone. */
  STALE: 7,
} as const;
export type LockCode = (typeof LockCode)[keyof typeof LockCode];

/** Codes returned by mutexUnlock (mirrors UnlockResult in gsm.cc). */
export const UnlockCode = { OK: 0, NOT_OWNER: 1, MADE_NOT_RECOVERABLE: 2, MEMORY_FAILED: 3 } as const;
export type UnlockCode = (typeof UnlockCode)[keyof typeof UnlockCode];

/**
 * One mapping of a named shared-memory object. All offsets are byte offsets from
 * the start of the mapping; the native side checks every one (RangeError on a bad
 * offset or length, ERR_GSM_CLOSED after close). Reads of failed memory return the
 * dummy byte and writes there are dropped (see configureFailureModel).
 */
export interface Mapping {
  readonly size: number;
  readonly closed: boolean;
  close(): void;
  /**
   * Copies GSM into `into`; returns how many bytes were failed memory (0 if none).
   * With a guard, throws ERR_GSM_STALE unless the u32 at guardOffset equals guardValue.
   */
  read(offset: number, into: Uint8Array, guardOffset?: number, guardValue?: number): number;
  /** Copies `from` into GSM; returns how many bytes were dropped as failed memory. Guard as for read. */
  write(offset: number, from: Uint8Array, guardOffset?: number, guardValue?: number): number;
  load32(offset: number): number;
  store32(offset: number, value: number): void;
  /** Returns the previous value; the swap happened iff it equals `expected`. */
  cas32(offset: number, expected: number, desired: number): number;
  /** Returns the previous value; delta may be negative. */
  add32(offset: number, delta: number): number;
  xchg32(offset: number, value: number): number;
  load64(offset: number): bigint;
  store64(offset: number, value: bigint): void;
  cas64(offset: number, expected: bigint, desired: bigint): bigint;
  add64(offset: number, delta: bigint): bigint;
  xchg64(offset: number, value: bigint): bigint;
  /** 64-bit words as numbers, for counters and times below 2^53. */
  load64n(offset: number): number;
  store64n(offset: number, value: number): void;
  add64n(offset: number, delta: number): number;
  /** Blocks the calling thread while the word equals `expected` (timeout < 0 or Infinity: forever). */
  wait32(offset: number, expected: number, timeoutMs: number): WaitResult;
  /** Same wait on a helper thread; the event loop keeps running. */
  wait32Async(offset: number, expected: number, timeoutMs: number): Promise<WaitResult>;
  /** Wakes up to `count` waiters in any process; returns how many woke. */
  wake32(offset: number, count?: number): number;
  /** Guard as for read: STALE unless the u32 at guardOffset equals guardValue. */
  mutexLock(offset: number, timeoutMs: number, guardOffset?: number, guardValue?: number): LockCode;
  mutexTryLock(offset: number, guardOffset?: number, guardValue?: number): LockCode;
  mutexLockAsync(offset: number, timeoutMs: number, guardOffset?: number, guardValue?: number): Promise<LockCode>;
  mutexUnlock(offset: number): UnlockCode;
  mutexConsistent(offset: number): boolean;
  /** Fencing: marks the mutex owner-died if its word still names thread `tid`. */
  mutexAbandon(offset: number, tid: number): boolean;
  /** Offsets below failableFrom (the system area) never fail and skip the check. */
  configureFailureModel(mapOffset: number, capacity: number, counterOffset: number, dummyByte: number, failableFrom: number): void;
  /** Recorded as the owner node/incarnation of mutexes this process locks. */
  setIdentity(node: number, incarnation: number): void;
  isAccessible(offset: number, length: number): boolean;
  /** A word read underneath the failed-memory model: membership bookkeeping only. */
  loadRaw32(offset: number): number;
}

interface NativeModule {
  Mapping: new (name: string, size: number, create: boolean) => Mapping;
  unlink(name: string): boolean;
  threadId(): number;
  pidfdOpen(pid: number): number;
  pidfdWait(fds: number[], timeoutMs: number): number[];
  closeFd(fd: number): void;
  monotonicNs(): number;
  ticks(): number;
  NS_PER_TICK: number;
  MUTEX_SIZE: number;
  MUTEX_WAITER_SLOTS: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Not named `require`: electron-vite's ESM output declares its own `require` in the chunk this lands in.
const requireAddon = createRequire(import.meta.url);

function load(): NativeModule {
  const candidates = [
    process.env.MCS_GSM_NATIVE,
    path.join(here, 'native/build/Release/mcs_gsm.node'),
    // electron-vite bundles put this file elsewhere; the addon is copied beside them.
    path.join(here, 'mcs_gsm.node'),
  ].filter((p): p is string => !!p);
  const errors: string[] = [];
  for (const file of candidates) {
    try {
      return requireAddon(file) as NativeModule;
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`GSM native module not built (run \`npm run build:native\`):\n  ${errors.join('\n  ')}`);
}

export const native = load();

export const MUTEX_SIZE = native.MUTEX_SIZE;
export const MUTEX_WAITER_SLOTS = native.MUTEX_WAITER_SLOTS;

/** Creates a new shared-memory object (fails with code ERR_GSM_EXISTS if the name is taken). */
export function createMapping(name: string, size: number): Mapping {
  return new native.Mapping(name, size, true);
}

/** Attaches to an existing shared-memory object (code ERR_GSM_NOENT if there is none). */
export function attachMapping(name: string): Mapping {
  return new native.Mapping(name, 0, false);
}

export function unlinkMapping(name: string): boolean {
  return native.unlink(name);
}

/** The kernel thread id of the calling thread: what a held mutex's word records. */
export const threadId = (): number => native.threadId();

/**
 * A pidfd for `pid` (Linux 5.3+), or a negative errno (-ESRCH: already gone).
 * It becomes readable when the process exits; close it with closeFd.
 */
export const pidfdOpen = (pid: number): number => native.pidfdOpen(pid);
/** Blocks the calling thread up to `timeoutMs` for any of `fds` to exit; returns those that did. */
export const pidfdWait = (fds: number[], timeoutMs: number): number[] => native.pidfdWait(fds, timeoutMs);
export const closeFd = (fd: number): void => native.closeFd(fd);

/**
 * The cycle counter mutex timestamps are kept in (lock times, hold times, waiter
 * since), and its calibrated length in ns; cheaper than a clock read per lock.
 */
export const ticks = (): number => native.ticks();
export const NS_PER_TICK = native.NS_PER_TICK;

/** CLOCK_MONOTONIC in ns: one clock shared by every process on the machine ("cluster time"). */
export const monotonicNs = (): number => native.monotonicNs();
