// The global object namespace: the object table (one record per object, with
// per-node reference counts), the name index, and the allocators of every
// contribution, all guarded by one robust global mutex in the GSM header.
//
// One lock keeps crash repair simple: a process that dies inside it leaves the
// lock ABANDONED, and the next locker runs `repair()`, which rebuilds everything
// derived (the name index, block states, used-bytes) from the object records.
// Every mutation is ordered so the records alone are enough: an object is
// Creating until its last step makes it Live, and freeing bumps the generation
// first so its id is invalid before anything else changes.
import type { Gsm } from '../gsm/gsm';
import {
  BLOCK_HEADER_BYTES,
  H,
  MAX_NODES,
  NAME_INDEX_TOMBSTONE,
  NAME_MAX_BYTES,
  N,
  NodeSlotState,
  BlockState,
  O,
  OBJECT_RECORD_BYTES,
  ObjectState,
  ObjectType,
  contribution,
  nodeRecord,
  objectRecord,
} from '../gsm/layout';
import { LockCode, threadId } from '../gsm/native';
import { ContributionHeap, PINNED_SLOT, type ChainCopy } from './allocator';
import { crashPoint, failPoint } from './crash-points';
import { ObjectError } from './errors';
import { MUTEX_WORD, threadExists } from './mutex';
import { formatId, looksLikeId, parseId, validateName, type ObjectId } from './ids';

/** Flags bits shared by every object type (low 16 bits are type-specific). */
export const ObjectFlags = {
  /** The name was removed (deleted); the object lives on while references remain. */
  Unlinked: 1 << 31,
  /** Its contributor died while other nodes still referred to it (paper §3.4). */
  Orphaned: 1 << 30,
} as const;

export interface ObjectRecord {
  id: string;
  slot: number;
  generation: number;
  state: ObjectState;
  type: ObjectType;
  ownerNode: number;
  ownerIncarnation: number;
  flags: number;
  dataOffset: number;
  dataBytes: number;
  createdAtMs: number;
  creatorPid: number;
  name: string;
  refs: number[];
}

export interface Identity {
  node: number;
  incarnation: number;
}

const decoder = new TextDecoder();
const NAMESPACE_LOCK_TIMEOUT_MS = 10_000;

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function decodeRecord(buf: Uint8Array, at: number, slot: number): ObjectRecord {
  const v = new DataView(buf.buffer, buf.byteOffset + at, OBJECT_RECORD_BYTES);
  const nameLength = Math.min(v.getUint32(O.nameLength, true), NAME_MAX_BYTES);
  const generation = v.getUint32(O.generation, true);
  const refs: number[] = [];
  for (let n = 0; n < MAX_NODES; n++) refs.push(v.getUint32(O.refs + 4 * n, true));
  return {
    id: formatId({ slot, generation }),
    slot,
    generation,
    state: v.getUint32(O.state, true),
    type: v.getUint32(O.type, true),
    ownerNode: v.getUint32(O.ownerNode, true),
    ownerIncarnation: v.getUint32(O.ownerIncarnation, true),
    flags: v.getUint32(O.flags, true),
    dataOffset: Number(v.getBigUint64(O.dataOffset, true)),
    dataBytes: Number(v.getBigUint64(O.dataBytes, true)),
    createdAtMs: Number(v.getBigUint64(O.createdAtMs, true)),
    creatorPid: v.getUint32(O.creatorPid, true),
    name: decoder.decode(buf.subarray(at + O.name, at + O.name + nameLength)),
    refs,
  };
}

export class Namespace {
  /** This thread's copies of contributions' block chains (allocator.ts ChainCopy). */
  private readonly chainCopies = new Map<number, { current: ChainCopy | null }>();
  /** Calls waiting for the namespace lock in this thread (withLock). */
  private queued: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private draining = false;
  private freeHint = 0;
  private readonly recordBuf = new Uint8Array(OBJECT_RECORD_BYTES);
  /** Called with every repair so the owner can log it (the event log sits above us). */
  onRepair: ((what: string) => void) | null = null;

  constructor(
    readonly gsm: Gsm,
    readonly identity: Identity | null,
  ) {}

  private get map() {
    return this.gsm.map;
  }
  private get layout() {
    return this.gsm.layout;
  }

  // ------------------------------------------------------------ the lock

  /**
   * Runs `fn` holding the namespace lock. Asynchronous so a process waiting for a
   * lock held by a hung node keeps its event loop (and heartbeat) running; calls
   * from one process queue locally first, since the global lock is per thread.
   * The calls queued by the time the lock is taken all run under that one
   * acquisition, in order: a recovery that opens or creates dozens of objects at
   * once (a Web cache's chain mutexes) then pays for one contended lock, not one
   * per object, each a wake-up through the event loop of a busy process.
   */
  withLock<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queued.length > 0) {
        try {
          await this.lockNamespace();
        } catch (err) {
          for (const op of this.queued.splice(0)) op.reject(err);
          continue;
        }
        const batch = this.queued.splice(0);
        try {
          // Each operation is whole by itself (a crash in one leaves the lock ABANDONED for repair).
          for (const op of batch) {
            try {
              op.resolve(op.fn());
            } catch (err) {
              op.reject(err);
            }
          }
        } finally {
          this.map.mutexUnlock(H.namespaceMutex);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async lockNamespace(): Promise<void> {
    const code = await this.map.mutexLockAsync(H.namespaceMutex, NAMESPACE_LOCK_TIMEOUT_MS);
    if (code === LockCode.TIMED_OUT) {
      const holder = this.map.load32(H.namespaceMutex + 12);
      throw new ObjectError('unavailable', `the namespace lock was not free within ${NAMESPACE_LOCK_TIMEOUT_MS} ms (held by pid ${holder})`);
    }
    if (code === LockCode.ABANDONED) {
      try {
        this.repair();
      } catch (err) {
        // Still inconsistent: hand the lock on still ABANDONED, so the next
        // locker repairs again, rather than keep it or poison it for good.
        this.map.mutexAbandon(H.namespaceMutex, threadId());
        throw err;
      }
      this.map.mutexConsistent(H.namespaceMutex);
    } else if (code !== LockCode.OK) {
      throw new ObjectError('unavailable', `the namespace lock could not be taken (code ${code})`);
    }
  }

  // ------------------------------------------------------------ records

  readRecord(slot: number): ObjectRecord {
    this.map.read(objectRecord(this.layout, slot), this.recordBuf);
    return decodeRecord(this.recordBuf, 0, slot);
  }

  /** Every live object, from one bulk copy of the object table. */
  list(type?: ObjectType): ObjectRecord[] {
    const buf = new Uint8Array(this.layout.objectCapacity * OBJECT_RECORD_BYTES);
    this.map.read(this.layout.objectTableOffset, buf);
    const out: ObjectRecord[] = [];
    for (let slot = 0; slot < this.layout.objectCapacity; slot++) {
      const at = slot * OBJECT_RECORD_BYTES;
      if (buf[at + O.state] !== ObjectState.Live) continue;
      const r = decodeRecord(buf, at, slot);
      if (type === undefined || r.type === type) out.push(r);
    }
    return out;
  }

  get version(): number {
    return this.map.load32(H.namespaceVersion);
  }

  private bumpVersion() {
    this.map.add32(H.namespaceVersion, 1);
  }

  /** Resolves NAME or "<slot>.<gen>" to a live record of the given type, or throws. */
  resolve(target: string | ObjectId, type?: ObjectType): ObjectRecord {
    let rec: ObjectRecord | null;
    // Names start with a letter, so anything starting with a digit is meant as an id.
    if (typeof target === 'object' || looksLikeId(target) || /^\d/.test(target)) {
      const id = typeof target === 'object' ? target : parseId(target);
      if (!Number.isInteger(id.slot) || id.slot < 0 || id.slot >= this.layout.objectCapacity)
        throw new ObjectError('invalid-id', `object id ${formatId(id)} is out of range (slots 0..${this.layout.objectCapacity - 1})`);
      rec = this.readRecord(id.slot);
      if (rec.state !== ObjectState.Live || rec.generation !== id.generation)
        throw new ObjectError('invalid-id', `object id ${formatId(id)} is invalid: the object was deleted or reclaimed`);
      // Paper §3.4: the contributor died. Handles that still refer to it keep it
      // until they close, but nobody may open it anew.
      if (rec.flags & ObjectFlags.Orphaned)
        throw new ObjectError('invalid-id', `object id ${formatId(id)} is invalid: its contributor, node ${rec.ownerNode}, failed`);
    } else {
      rec = this.lookup(target);
      if (!rec) throw new ObjectError('not-found', `no global object named "${target}"`);
    }
    if (type !== undefined && rec.type !== type)
      throw new ObjectError('wrong-type', `${rec.name} (${rec.id}) is not a ${ObjectType[type].toLowerCase()}`);
    return rec;
  }

  // ------------------------------------------------------------ name index

  private indexEntry(i: number) {
    return this.layout.nameIndexOffset + 4 * i;
  }

  private lookup(name: string): ObjectRecord | null {
    const bytes = validateName(name);
    const mask = this.layout.nameIndexCapacity - 1;
    for (let i = fnv1a(bytes) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
      const e = this.map.load32(this.indexEntry(i));
      if (e === 0) return null;
      if (e === NAME_INDEX_TOMBSTONE) continue;
      const rec = this.readRecord(e - 1);
      if (rec.state === ObjectState.Live && rec.name === name && !(rec.flags & ObjectFlags.Unlinked)) return rec;
    }
    return null;
  }

  private indexInsert(bytes: Uint8Array, slot: number) {
    const mask = this.layout.nameIndexCapacity - 1;
    for (let i = fnv1a(bytes) & mask, probes = 0; probes <= mask; i = (i + 1) & mask, probes++) {
      const e = this.map.load32(this.indexEntry(i));
      if (e === 0 || e === NAME_INDEX_TOMBSTONE) {
        this.map.store32(this.indexEntry(i), slot + 1);
        return;
      }
    }
    throw new ObjectError('no-space', 'the global name index is full');
  }

  private indexRemove(slot: number) {
    // Entries are found by their slot; names are short and the index is sparse.
    const cap = this.layout.nameIndexCapacity;
    const buf = new Uint8Array(cap * 4);
    this.map.read(this.layout.nameIndexOffset, buf);
    const v = new DataView(buf.buffer);
    for (let i = 0; i < cap; i++) if (v.getUint32(4 * i, true) === slot + 1) this.map.store32(this.indexEntry(i), NAME_INDEX_TOMBSTONE);
  }

  // ------------------------------------------------------------ lifecycle

  private requireIdentity(): Identity {
    if (!this.identity) throw new ObjectError('bad-argument', 'this process is not a node: it cannot create or open objects');
    return this.identity;
  }

  heap(node: number): ContributionHeap {
    let copy = this.chainCopies.get(node);
    if (!copy) this.chainCopies.set(node, (copy = { current: null }));
    return new ContributionHeap(this.gsm, node, copy);
  }

  /**
   * Creates an object in the caller's contribution. `init` writes the object's
   * initial data (its block arrives zeroed) before the object becomes visible.
   */
  create(type: ObjectType, name: string, dataBytes: number, flags: number, init?: (dataOffset: number) => void): Promise<ObjectRecord> {
    const me = this.requireIdentity();
    const nameBytes = validateName(name);
    if (!Number.isInteger(dataBytes) || dataBytes < 1 || dataBytes > this.layout.contributionBytes)
      throw new ObjectError('bad-argument', `size must be an integer from 1 to ${this.layout.contributionBytes} bytes`);
    return this.withLock(() => {
      if (this.lookup(name)) throw new ObjectError('exists', `a global object named "${name}" already exists`);
      const slot = this.findFreeSlot();
      const rec = objectRecord(this.layout, slot);
      const m = this.map;
      let generation = m.load32(rec + O.generation);
      if (generation === 0) {
        generation = 1;
        m.store32(rec + O.generation, generation);
      }
      m.store32(rec + O.type, type);
      m.store32(rec + O.ownerNode, me.node);
      m.store32(rec + O.ownerIncarnation, me.incarnation);
      m.store32(rec + O.flags, flags);
      m.store64n(rec + O.dataBytes, dataBytes);
      m.store64n(rec + O.createdAtMs, Date.now());
      m.store32(rec + O.creatorPid, process.pid);
      const nameField = new Uint8Array(NAME_MAX_BYTES + 1);
      nameField.set(nameBytes);
      m.write(rec + O.name, nameField);
      m.store32(rec + O.nameLength, nameBytes.length);
      m.write(rec + O.refs, new Uint8Array(MAX_NODES * 4));
      m.store32(rec + O.refs + 4 * me.node, 1);
      m.store32(rec + O.state, ObjectState.Creating);
      crashPoint('create.creating');
      let dataOffset: number;
      try {
        dataOffset = this.heap(me.node).allocate(dataBytes, slot, generation);
      } catch (err) {
        this.freeSlot(slot);
        throw err;
      }
      crashPoint('create.allocated');
      zero(this.gsm, dataOffset, dataBytes);
      init?.(dataOffset);
      m.store64n(rec + O.dataOffset, dataOffset);
      crashPoint('create.initialised');
      this.indexInsert(nameBytes, slot);
      crashPoint('create.indexed');
      m.store32(rec + O.state, ObjectState.Live);
      crashPoint('create.live');
      this.bumpVersion();
      return this.readRecord(slot);
    });
  }

  private findFreeSlot(): number {
    const cap = this.layout.objectCapacity;
    for (let i = 0; i < cap; i++) {
      const slot = (this.freeHint + i) % cap;
      if (this.map.load32(objectRecord(this.layout, slot) + O.state) === ObjectState.Free) {
        this.freeHint = (slot + 1) % cap;
        return slot;
      }
    }
    throw new ObjectError('no-space', `the object table is full (${cap} objects)`);
  }

  /**
   * The new generation and the Free state in one 64-bit store (generation and
   * state are adjacent words): a kill can never leave a Live record carrying a
   * generation that was never issued, whose block repair would then free under it.
   */
  private freeSlot(slot: number) {
    const rec = objectRecord(this.layout, slot);
    const gen = this.map.load32(rec + O.generation);
    const next = gen >= 0xffffffff ? 1 : gen + 1;
    this.map.store64(rec + O.generation, (BigInt(ObjectState.Free) << 32n) | BigInt(next));
  }

  /**
   * A mutex some live thread holds is not freed: its block carries that thread's
   * robust-list link, and reusing it would cut the kernel's walk at the holder's
   * death, wedging every mutex it took before. It stays (nameless) until a later
   * sweep finds it released.
   */
  private heldByLiveThread(r: ObjectRecord): boolean {
    if (r.type !== ObjectType.Mutex && r.type !== ObjectType.Mailbox) return false;
    if (!this.contributionUsable(r.ownerNode)) return false;
    return (this.map.load32(r.dataOffset) & MUTEX_WORD.FUTEX_TID_MASK) !== 0;
  }

  private freeObject(r: ObjectRecord): boolean {
    if (this.heldByLiveThread(r)) return false;
    this.freeSlot(r.slot);
    crashPoint('free.slot-freed');
    this.indexRemove(r.slot);
    crashPoint('free.unindexed');
    if (this.contributionUsable(r.ownerNode)) {
      try {
        this.heap(r.ownerNode).free(r.dataOffset);
      } catch {
        // Already free: a repair got there first.
      }
    }
    this.bumpVersion();
    return true;
  }

  private contributionUsable(node: number): boolean {
    return this.gsm.isAccessible(contribution(this.layout, node), this.layout.contributionBytes);
  }

  /** Opens by name or id, counting a reference for the caller's node. */
  open(target: string | ObjectId, type: ObjectType): Promise<ObjectRecord> {
    const me = this.requireIdentity();
    return this.withLock(() => {
      const r = this.resolve(target, type);
      this.map.add32(objectRecord(this.layout, r.slot) + O.refs + 4 * me.node, 1);
      crashPoint('open.referenced');
      return this.readRecord(r.slot);
    });
  }

  /**
   * Drops one reference of the caller's node. The object is freed when nobody
   * refers to it any more and it was deleted or its contributor died.
   */
  close(id: ObjectId): Promise<void> {
    const me = this.requireIdentity();
    return this.withLock(() => {
      const r = this.readRecord(id.slot);
      if (r.state !== ObjectState.Live || r.generation !== id.generation) return;
      const at = objectRecord(this.layout, r.slot) + O.refs + 4 * me.node;
      if (this.map.load32(at) > 0) this.map.add32(at, -1);
      crashPoint('close.unreferenced');
      const after = this.readRecord(r.slot);
      if (isGarbage(after)) this.freeObject(after);
    });
  }

  /**
   * Deletes the name (like shm_unlink): no new opens; the object goes when the
   * last reference closes. Only the contributing node may delete.
   */
  delete(id: ObjectId): Promise<void> {
    const me = this.requireIdentity();
    return this.withLock(() => {
      const r = this.resolve(id);
      if (r.ownerNode !== me.node)
        throw new ObjectError('not-owner', `${r.name} (${r.id}) belongs to node ${r.ownerNode}; only it may delete it`);
      this.map.store32(objectRecord(this.layout, r.slot) + O.flags, (r.flags | ObjectFlags.Unlinked) >>> 0);
      crashPoint('delete.unlinked');
      this.indexRemove(r.slot);
      this.bumpVersion();
    });
  }

  /** Frees unreferenced deleted or orphaned objects a held mutex or a crash left behind. */
  sweep(): Promise<ObjectRecord[]> {
    return this.withLock(() => this.sweepGarbage());
  }

  private sweepGarbage(): ObjectRecord[] {
    for (let node = 0; node < this.layout.maxNodes; node++)
      if (this.contributionUsable(node)) this.heap(node).unpinReleased(threadExists);
    return this.list().filter((r) => isGarbage(r) && this.freeObject(r));
  }

  /**
   * Paper §3.4, applied when `node` is declared failed: references it held are
   * dropped; objects it contributed are reclaimed (their ids become invalid)
   * unless another node still refers to them, in which case they stay, orphaned
   * over failed memory, until the last reference closes. Returns what changed.
   */
  reclaimNode(node: number): Promise<{ reclaimed: ObjectRecord[]; orphaned: ObjectRecord[]; refsDropped: number }> {
    return this.withLock(() => {
      const reclaimed: ObjectRecord[] = [];
      const orphaned: ObjectRecord[] = [];
      let refsDropped = 0;
      for (const r of this.list()) {
        const at = objectRecord(this.layout, r.slot);
        if (r.refs[node] > 0) {
          refsDropped += r.refs[node];
          this.map.store32(at + O.refs + 4 * node, 0);
          r.refs[node] = 0;
        }
        const unreferenced = r.refs.every((c) => c === 0);
        if (r.ownerNode === node) {
          if (unreferenced) {
            if (this.freeObject(r)) reclaimed.push(r);
          } else if (!(r.flags & ObjectFlags.Orphaned)) {
            // Its name is released too: survivors must be able to create a
            // replacement, and no new open should find an object over failed memory.
            this.map.store32(at + O.flags, (r.flags | ObjectFlags.Orphaned | ObjectFlags.Unlinked) >>> 0);
            this.indexRemove(r.slot);
            orphaned.push(r);
          }
        } else if (isGarbage(r)) {
          if (this.freeObject(r)) reclaimed.push(r);
        }
      }
      this.bumpVersion();
      return { reclaimed, orphaned, refsDropped };
    });
  }

  /**
   * A node rejoins with a new incarnation: whatever its old incarnation left
   * (orphans included) is freed, so no old handle can reach the memory the new
   * incarnation will reuse, and the contribution starts empty again.
   */
  resetContribution(node: number, repairMemory: () => void): Promise<ObjectRecord[]> {
    return this.withLock(() => {
      const freed = this.list().filter((r) => r.ownerNode === node);
      // A mutex here that a live thread elsewhere still holds (read underneath the
      // failure model) is linked into that thread's robust list: re-initialising
      // its block would cut the kernel's walk at the holder's death. Its block
      // keeps its place, pinned, until the holder lets go (see sweep).
      const pinned: number[] = [];
      for (const r of freed) {
        if (r.type !== ObjectType.Mutex && r.type !== ObjectType.Mailbox) continue;
        const tid = this.map.loadRaw32(r.dataOffset) & MUTEX_WORD.FUTEX_TID_MASK;
        if (tid && threadExists(tid)) pinned.push(r.dataOffset - BLOCK_HEADER_BYTES);
      }
      for (const r of freed) {
        this.freeSlot(r.slot);
        this.indexRemove(r.slot);
      }
      // Repaired before it is re-initialised: writes to failed memory are dropped.
      repairMemory();
      this.heap(node).resetKeeping(pinned);
      this.bumpVersion();
      return freed;
    });
  }

  // ------------------------------------------------------------ crash repair

  /** Rebuilds every derived structure from the object records (see file comment). */
  repair(): void {
    failPoint('repair');
    this.gsm.repairFailedMapEpoch();
    let creating = 0;
    for (let slot = 0; slot < this.layout.objectCapacity; slot++) {
      if (this.map.load32(objectRecord(this.layout, slot) + O.state) === ObjectState.Creating) {
        this.freeSlot(slot);
        creating++;
      }
    }
    this.map.write(this.layout.nameIndexOffset, new Uint8Array(this.layout.nameIndexCapacity * 4));
    const live = this.list();
    for (const r of live) if (!(r.flags & ObjectFlags.Unlinked)) this.indexInsert(validateName(r.name), r.slot);
    const liveKeys = new Set(live.map((r) => `${r.slot}.${r.generation}`));
    for (let node = 0; node < this.layout.maxNodes; node++) {
      const state = this.map.load32(nodeRecord(this.layout, node) + N.state);
      if (state === NodeSlotState.Failed || !this.contributionUsable(node)) continue;
      this.heap(node).repair((slot, gen) => liveKeys.has(`${slot}.${gen}`));
    }
    // A kill inside close() between dropping the last reference and freeing.
    const swept = this.sweepGarbage().length;
    this.bumpVersion();
    this.onRepair?.(`namespace repaired after an abandoned lock (${creating} half-created objects freed, ${swept} unreferenced objects swept)`);
  }
}

/** Unreferenced and unreachable: deleted, or its contributor died. */
function isGarbage(r: ObjectRecord): boolean {
  return r.refs.every((c) => c === 0) && (r.flags & (ObjectFlags.Unlinked | ObjectFlags.Orphaned)) !== 0;
}

/**
 * Every invariant the namespace keeps between operations, as readable problems
 * (empty when consistent): records, name index, allocators and ids agree. For
 * crash tests and the fault campaign; call it holding no lock, on a quiet GSM.
 */
export function checkNamespace(ns: Namespace): string[] {
  const problems: string[] = [];
  const { layout, map } = ns.gsm;
  const table = new Uint8Array(layout.objectCapacity * OBJECT_RECORD_BYTES);
  map.read(layout.objectTableOffset, table);
  const live = new Map<string, ObjectRecord>();
  for (let slot = 0; slot < layout.objectCapacity; slot++) {
    const state = table[slot * OBJECT_RECORD_BYTES + O.state];
    if (state === ObjectState.Creating) problems.push(`slot ${slot} is still Creating`);
    if (state !== ObjectState.Live) continue;
    const r = decodeRecord(table, slot * OBJECT_RECORD_BYTES, slot);
    live.set(`${r.slot}.${r.generation}`, r);
    if (isGarbage(r) && !(r.type === ObjectType.Mutex || r.type === ObjectType.Mailbox))
      problems.push(`${r.id} (${r.name}) is unreferenced and unreachable but not freed`);
  }
  const byName = new Map<string, ObjectRecord>();
  for (const r of live.values()) {
    if (!(r.flags & ObjectFlags.Unlinked)) {
      if (byName.has(r.name)) problems.push(`two live objects are named ${r.name}`);
      byName.set(r.name, r);
      try {
        const found = ns.resolve(r.name);
        if (found.id !== r.id) problems.push(`name ${r.name} resolves to ${found.id}, not ${r.id}`);
      } catch (err) {
        problems.push(`${r.id} (${r.name}) is not found by name: ${(err as Error).message}`);
      }
    }
  }
  const index = new Uint8Array(layout.nameIndexCapacity * 4);
  map.read(layout.nameIndexOffset, index);
  const iv = new DataView(index.buffer);
  for (let i = 0; i < layout.nameIndexCapacity; i++) {
    const e = iv.getUint32(4 * i, true);
    if (e === 0 || e === NAME_INDEX_TOMBSTONE) continue;
    const slot = e - 1;
    const r = [...live.values()].find((x) => x.slot === slot);
    if (!r) problems.push(`name index entry ${i} points at slot ${slot}, which is not live`);
    else if (r.flags & ObjectFlags.Unlinked) problems.push(`name index entry ${i} points at deleted ${r.id}`);
  }
  for (let node = 0; node < layout.maxNodes; node++) {
    if (!ns.gsm.isAccessible(contribution(layout, node), layout.contributionBytes)) continue;
    const { blocks, brokenAt } = ns.heap(node).walk();
    if (brokenAt !== null) problems.push(`node ${node}'s block chain is broken at ${brokenAt}`);
    const used = new Map<string, number>();
    let usedBytes = 0;
    for (const b of blocks) {
      if (b.state !== BlockState.Used) continue;
      usedBytes += b.size;
      const key = `${b.objectSlot}.${b.objectGeneration}`;
      if (b.objectSlot === PINNED_SLOT) continue; // under a live holder's mutex, owned by no object
      if (!live.has(key)) problems.push(`node ${node}'s block at ${b.offset} belongs to ${key}, which is not live`);
      if (used.has(key)) problems.push(`object ${key} has two blocks on node ${node}`);
      used.set(key, b.offset);
    }
    for (const r of live.values()) {
      if (r.ownerNode !== node) continue;
      const at = used.get(`${r.slot}.${r.generation}`);
      if (at === undefined) problems.push(`${r.id} (${r.name}) has no block in node ${node}'s contribution`);
      else if (at + BLOCK_HEADER_BYTES !== r.dataOffset) problems.push(`${r.id} points at ${r.dataOffset}, its block is at ${at}`);
    }
    const recorded = map.load64n(nodeRecord(layout, node) + N.usedBytes);
    if (recorded !== usedBytes) problems.push(`node ${node} records ${recorded} bytes used, its blocks hold ${usedBytes}`);
  }
  return problems;
}

function zero(gsm: Gsm, offset: number, length: number) {
  const chunk = new Uint8Array(Math.min(length, 1 << 20));
  for (let at = 0; at < length; at += chunk.length)
    gsm.map.write(offset + at, length - at >= chunk.length ? chunk : chunk.subarray(0, length - at));
}
