// A recoverable component's record in the system area's component table (see
// COMPONENT_* in gsm/layout.ts): what every instance of the component agrees on
// (recovery generation, membership, master, master area) and what status tools
// show (recovery state and durations). It is the component's "global event"
// (paper §3.6): `seq` is a futex word bumped and woken on every change, so every
// instance sleeps on one word and re-reads the record when anything moves.
//
// Also the module the control API reads components through (the supervisor
// stays an orchestrator: it never interprets these records itself).
import { COMPONENT_CAPACITY, COMPONENT_RECORD_BYTES, H, MAX_NODES, N, componentRecord, nodeRecord, type GsmLayout } from '../gsm/layout';
import { LockCode, monotonicNs, type Mapping } from '../gsm/native';
import type { Memory } from './memory';

/** wake32's count for everyone waiting. */
const WAKE_ALL = 2 ** 31 - 1;

export const C = {
  state: 0, // u32: 0 free, 1 live
  nameLength: 4,
  name: 8, // 48 bytes
  /** Bumped (and woken) on every change of this record: the component's global event. */
  seq: 56,
  /** Requested recovery generation: a request CASes it up by one. */
  recoveryGeneration: 60,
  /** The last recovery generation every member completed. */
  completedGeneration: 64,
  /** Master node + 1 (0: none yet). */
  master: 68,
  /** The recovery generation in which the master last built the master area. */
  masterGeneration: 72,
  masterAreaSlot: 76,
  masterAreaGeneration: 80,
  masterAreaBytes: 84,
  /** Cluster membership generation the last recovery was computed from. */
  membershipGeneration: 88,
  /** Component members (bit per node) the master fixed for the current recovery. */
  memberMask: 92,
  /** Memory-failure count when the last recovery completed (paper §7.2). */
  memoryFailures: 96, // u64
  /** Monotonic ns when the current recovery was requested (0: none). */
  recoveryStartNs: 104, // u64
  recoveryCount: 112,
  causeLength: 116,
  cause: 120, // 64 bytes
  durationsHead: 188,
  /** Ring of { u32 recovery generation, u32 duration in µs }. */
  durations: 192,
  /** Set when shared-state building failed unrecoverably. */
  unrecoverable: 448,
  /** The recovery generation whose accounting `memoryFailures` holds (written after it). */
  accountedGeneration: 452,
  instances: 512,
} as const;
export const NAME_BYTES = 48;
export const CAUSE_BYTES = 64;
export const DURATION_SLOTS = 32;
export const INSTANCE_BYTES = 32;
/** Per-node instance fields, at C.instances + node * INSTANCE_BYTES. */
export const I = {
  incarnation: 0,
  state: 4, // InstanceState
  pid: 8,
  /** Recovery generation for which this instance's workers are out of the way. */
  quiesced: 12,
  /** Recovery generation whose local rebuild this instance finished. */
  recovered: 16,
  /** Workers of this instance currently locking out recovery (status only). */
  lockouts: 20,
  /** Memory-failure count when this instance began its current recovery. */
  failuresSeen: 24,
  /** The failed-region set's version (ComponentSpace.failedRegionsVersion) then. */
  regionsSeen: 28,
} as const;

export enum InstanceState {
  None = 0,
  Joined = 1,
  Left = 2,
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One component record in some Memory (GSM, or local memory for local components). */
export class ComponentRecord {
  constructor(
    readonly mem: Memory,
    readonly base: number,
  ) {}

  u32(field: number): number {
    return this.mem.load32(this.base + field);
  }
  set32(field: number, v: number): void {
    this.mem.store32(this.base + field, v);
  }
  inst(node: number, field: number): number {
    return this.mem.load32(this.base + C.instances + node * INSTANCE_BYTES + field);
  }
  setInst(node: number, field: number, v: number): void {
    this.mem.store32(this.base + C.instances + node * INSTANCE_BYTES + field, v);
  }
  addInst(node: number, field: number, delta: number): void {
    this.mem.add32(this.base + C.instances + node * INSTANCE_BYTES + field, delta);
  }

  /** Announces a change to every instance waiting on the record. */
  bump(): void {
    this.mem.add32(this.base + C.seq, 1);
    // Every waiter, explicitly: GSM's wake32 wakes one by default, and the other
    // instances (each phase barrier of a recovery waits here) would sleep out
    // their timeout, 20 ms per barrier.
    this.mem.wake32(this.base + C.seq, WAKE_ALL);
  }

  get seq(): number {
    return this.u32(C.seq);
  }
  waitChange(seen: number, timeoutMs: number) {
    return this.mem.wait32Async(this.base + C.seq, seen, timeoutMs);
  }

  get name(): string {
    const len = Math.min(this.u32(C.nameLength), NAME_BYTES);
    const b = new Uint8Array(len);
    this.mem.read(this.base + C.name, b);
    return dec.decode(b);
  }

  get cause(): string {
    const len = Math.min(this.u32(C.causeLength), CAUSE_BYTES);
    const b = new Uint8Array(len);
    this.mem.read(this.base + C.cause, b);
    return dec.decode(b);
  }

  /**
   * Requests recovery if none was requested since the caller last saw generation
   * `seen` (so N instances detecting one failure start one recovery, not N).
   * Returns true if this call started it.
   */
  request(seen: number, cause: string): boolean {
    if (this.mem.cas32(this.base + C.recoveryGeneration, seen, seen + 1) !== seen) return false;
    const b = enc.encode(cause).subarray(0, CAUSE_BYTES);
    this.mem.write(this.base + C.cause, b);
    this.set32(C.causeLength, b.length);
    this.mem.store64n(this.base + C.recoveryStartNs, monotonicNs());
    this.bump();
    return true;
  }

  recordDuration(generation: number, us: number): void {
    const head = this.u32(C.durationsHead);
    const at = this.base + C.durations + (head % DURATION_SLOTS) * 8;
    this.mem.store32(at, generation);
    this.mem.store32(at + 4, Math.min(0xffffffff, Math.round(us)));
    this.set32(C.durationsHead, head + 1);
    this.mem.add32(this.base + C.recoveryCount, 1);
  }

  durations(): { generation: number; ms: number }[] {
    const head = this.u32(C.durationsHead);
    const out: { generation: number; ms: number }[] = [];
    for (let i = Math.max(0, head - DURATION_SLOTS); i < head; i++) {
      const at = this.base + C.durations + (i % DURATION_SLOTS) * 8;
      out.push({ generation: this.mem.load32(at), ms: this.mem.load32(at + 4) / 1000 });
    }
    return out;
  }

  /** Writes a fresh record (the caller holds the table lock, or owns the memory). */
  init(name: string, masterAreaBytes: number): void {
    const zero = new Uint8Array(COMPONENT_RECORD_BYTES);
    this.mem.write(this.base, zero);
    const b = enc.encode(name);
    this.mem.write(this.base + C.name, b);
    this.set32(C.nameLength, b.length);
    this.set32(C.masterAreaBytes, masterAreaBytes);
    this.set32(C.state, 1);
  }
}

// ---------------------------------------------------------------------------
// The table in GSM

const TABLE_LOCK_TIMEOUT_MS = 10_000;

async function withTableLock<T>(map: Mapping, layout: GsmLayout, fn: () => T): Promise<T> {
  const lock = layout.componentTableOffset;
  const code = await map.mutexLockAsync(lock, TABLE_LOCK_TIMEOUT_MS);
  if (code === LockCode.ABANDONED) map.mutexConsistent(lock); // records are written whole before state goes live
  else if (code !== LockCode.OK) throw new Error(`the component table lock could not be taken (code ${code})`);
  try {
    return fn();
  } finally {
    map.mutexUnlock(lock);
  }
}

export function findComponent(map: Mapping, layout: GsmLayout, name: string): ComponentRecord | null {
  for (let i = 0; i < COMPONENT_CAPACITY; i++) {
    const r = new ComponentRecord(map, componentRecord(layout, i));
    if (r.u32(C.state) === 1 && r.name === name) return r;
  }
  return null;
}

export function listComponents(map: Mapping, layout: GsmLayout): ComponentRecord[] {
  const out: ComponentRecord[] = [];
  for (let i = 0; i < COMPONENT_CAPACITY; i++) {
    const r = new ComponentRecord(map, componentRecord(layout, i));
    if (r.u32(C.state) === 1) out.push(r);
  }
  return out;
}

/** The record of component `name`, created on first use by any instance. */
export function registerComponent(map: Mapping, layout: GsmLayout, name: string, masterAreaBytes: number): Promise<ComponentRecord> {
  if (enc.encode(name).length > NAME_BYTES || !/^[a-z][a-z0-9-]*$/.test(name))
    throw new RangeError(`component name "${name}" must be a lower-case word of at most ${NAME_BYTES} bytes`);
  return withTableLock(map, layout, () => {
    const found = findComponent(map, layout, name);
    if (found) return found;
    for (let i = 0; i < COMPONENT_CAPACITY; i++) {
      const r = new ComponentRecord(map, componentRecord(layout, i));
      if (r.u32(C.state) === 0) {
        r.init(name, masterAreaBytes);
        return r;
      }
    }
    throw new Error(`the component table is full (${COMPONENT_CAPACITY} components)`);
  });
}

/** Cluster members whose instance of this component is joined in their current incarnation. */
export function liveInstances(rec: ComponentRecord, map: Mapping, layout: GsmLayout): number[] {
  const mask = map.load32(H.memberMask);
  const out: number[] = [];
  for (let n = 0; n < Math.min(layout.maxNodes, MAX_NODES); n++) {
    if (!((mask >>> n) & 1)) continue;
    if (rec.inst(n, I.state) !== InstanceState.Joined) continue;
    const node = nodeRecord(layout, n);
    const incarnation = map.load32(node + N.incarnation);
    if (rec.inst(n, I.incarnation) !== incarnation) continue;
    // Fenced but not yet published: fencing revokes first, then fails the node's
    // memory, then publishes the mask. A worker that met that failed memory starts
    // a recovery at once, and must not count the dead node in (and wait for it).
    if (map.load32(node + N.revokedIncarnation) === incarnation) continue;
    out.push(n);
  }
  return out;
}

export interface ComponentView {
  name: string;
  /** Instances joined in their node's current incarnation, on nodes in the membership. */
  members: number[];
  master: number | null;
  masterAreaId: string | null;
  recoveryGeneration: number;
  completedGeneration: number;
  recovering: boolean;
  cause: string;
  recoveries: number;
  durations: { generation: number; ms: number }[];
  unrecoverable: boolean;
  lockouts: number;
}

export function viewComponent(rec: ComponentRecord, map: Mapping, layout: GsmLayout): ComponentView {
  const master = rec.u32(C.master);
  const slot = rec.u32(C.masterAreaSlot);
  const gen = rec.u32(C.masterAreaGeneration);
  const members = liveInstances(rec, map, layout);
  const requested = rec.u32(C.recoveryGeneration);
  const completed = rec.u32(C.completedGeneration);
  return {
    name: rec.name,
    members,
    master: master ? master - 1 : null,
    masterAreaId: gen ? `${slot}.${gen}` : null,
    recoveryGeneration: requested,
    completedGeneration: completed,
    recovering: completed < requested,
    cause: rec.cause,
    recoveries: rec.u32(C.recoveryCount),
    durations: rec.durations(),
    unrecoverable: rec.u32(C.unrecoverable) !== 0,
    lockouts: members.reduce((s, n) => s + rec.inst(n, I.lockouts), 0),
  };
}

/** Operator's trigger-recovery: requests recovery of one component (or all); returns their names. */
export function requestRecoveryOf(map: Mapping, layout: GsmLayout, name: string | undefined, cause: string): string[] {
  const out: string[] = [];
  for (const r of listComponents(map, layout)) {
    if (name !== undefined && r.name !== name) continue;
    if (liveInstances(r, map, layout).length === 0) continue;
    const seen = r.u32(C.recoveryGeneration);
    r.request(seen, cause);
    out.push(r.name);
  }
  return out;
}
