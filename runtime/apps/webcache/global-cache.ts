// The paper's McsWebCache (§4.1–4.3) as a recoverable component: one cache shared
// by every node's Web server. The master's area holds the hash table of chain
// heads and one global mutex per chain; each file is cached contiguously in the
// cache area of the node that read it from disk, and each node allocates and
// evicts (LRU) only in its own area. Hits on another node's entry are counted in
// a per-instance reference count, so the owner never evicts an entry being
// copied out; a node that fails takes its counts with it (recovery clears them).
//
// One cache area per node (a section in its contribution, with a local
// allocator) rather than one section per file: a put then costs no namespace
// operation, the object table is not filled with files, and the allocator's
// state is local memory that fails with its node, like the area itself.
//
// The request path (get/put/evict) is written as consistent blocks only: no
// lockout, retry or release-on-failure code of its own (paper Figure 6 needs
// about ten such lines per access). Recovery (§4.2): the master rebuilds the
// table (new mutexes for abandoned-and-poisoned or relocated ones, empty
// chains), then every member re-links the files it caches and clears the
// references of failed instances. `local` mode runs the same code over
// process-local memory and mutexes (Figure 7's "local" bar).
import { MAX_NODES } from '../../gsm/layout';
import type { AppContext } from '../../nodes/app-context';
import { keepThread } from '../../nodes/app-threads';
import { McsComponent, Unrecoverable, globalSpace, localSpace, type Area, type ComponentSpace, type Lockable, type RecoveryContext, type Region, type Tx } from '../../sdk';
import type { CacheMode, CacheStats, FileCache, FileStamp } from './cache-api';
import {
  ENTRY,
  ENTRY_MAGIC,
  MASTER,
  MAX_KEY_BYTES,
  PROBE_BYTES,
  chainMutexId,
  dataOffsetOf,
  decodeHeader,
  entryBytes,
  hashKey,
  headerProblem,
  masterAreaBytes,
  type EntryHeader,
} from './cache-layout';
import { sameStamp } from './lru-cache';
import { REVALIDATOR_THREAD, type RevalidatorData, type StaleReport } from './revalidator';

export const WEBCACHE_COMPONENT = 'webcache';

export interface GlobalCacheOptions {
  /** Bytes of this node's cache area (its share of the global cache). */
  bytes: number;
  /** Hash chains (each with its own global mutex). */
  buckets?: number;
  /** A request waits at most this long for a recovery before it falls back to the disk. */
  requestDeadlineMs?: number;
  /** The site's real root: with it (global mode), a revalidation thread drops entries whose file changed. */
  root?: string;
  /** How often the revalidation thread sweeps the chains. */
  revalidateMs?: number;
}

interface LocalEntry {
  rel: number;
  capacity: number;
  key: Uint8Array;
  bucket: number;
  stamp: FileStamp;
}

/** The accesses chain walks need: a consistent block's Tx, or recovery's direct access. */
interface Access {
  read(r: Region, rel: number, into: Uint8Array): Uint8Array;
  load64(r: Region, rel: number): number;
  store64(r: Region, rel: number, value: number): void;
  fail(cause: string): never;
}

const enc = new TextEncoder();
const MAX_CHAIN_STEPS = 1 << 16;
/** How long after a recovery its housekeeping waits (see afterRecovery). */
const HOUSEKEEPING_DELAY_MS = 1000;

/** Free-space list of this node's cache area (local memory: it fails with the node, like the area). */
class AreaHeap {
  private free: { rel: number; bytes: number }[];
  constructor(bytes: number) {
    this.free = [{ rel: 0, bytes }];
  }
  alloc(bytes: number): number | null {
    const i = this.free.findIndex((f) => f.bytes >= bytes);
    if (i < 0) return null;
    const f = this.free[i];
    const rel = f.rel;
    if (f.bytes === bytes) this.free.splice(i, 1);
    else this.free[i] = { rel: f.rel + bytes, bytes: f.bytes - bytes };
    return rel;
  }
  release(rel: number, bytes: number): void {
    let i = this.free.findIndex((f) => f.rel > rel);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { rel, bytes });
    // Coalesce with neighbours.
    if (i + 1 < this.free.length && rel + bytes === this.free[i + 1].rel) {
      this.free[i].bytes += this.free[i + 1].bytes;
      this.free.splice(i + 1, 1);
    }
    if (i > 0 && this.free[i - 1].rel + this.free[i - 1].bytes === rel) {
      this.free[i - 1].bytes += this.free[i].bytes;
      this.free.splice(i, 1);
    }
  }
}

export class CacheComponent extends McsComponent implements FileCache {
  readonly mode: CacheMode;
  private readonly nBuckets: number;
  private readonly deadlineMs: number;
  /** This node's cache area and its allocator. */
  private mine: Area | null = null;
  private heap: AreaHeap;
  private mineFailed = false;
  /** Files this node caches, oldest use first (local state to rebuild from, §4.2). */
  private readonly entries = new Map<number, LocalEntry>();
  /** Local copies of the chains' mutex handles (§4.3.2: a failed GSM cannot hide what to unlock). */
  private chains: (Lockable | null)[] = [];
  /** Chain and area handles a recovery replaced, closed after it (housekeeping). */
  private readonly retired: Lockable[] = [];
  private readonly retiredAreas: Area[] = [];
  /**
   * Standby chain mutexes (global mode). After a master's failure its chain
   * mutexes fail with it: the new master had to create a whole set and every
   * member open it, namespace operations all, while every worker waited at
   * lockout. So the successor (the member that would be elected next: the
   * lowest other one whose memory can house the table) creates a set in its own
   * contribution ahead of time, and the other members open it; a new master
   * builds its table from that set and the members find the handles open.
   * `standby` is this node's set (one per incarnation: a takeover makes it the
   * chains); `othersStandby` the successor's, by its cache area id.
   */
  private standby: Lockable[] = [];
  private readonly othersStandby = new Map<string, Lockable[]>();
  /** This incarnation made no set (no room), or its set became the chains. */
  private standbyDone = false;
  private housekeeping: NodeJS.Timeout | null = null;
  private standbyLooks = 0;
  private keeping: Promise<void> | null = null;
  /** Other members' cache areas, opened on first use and kept while their owner stays a member. */
  private readonly areas = new Map<number, Area>();
  /**
   * Opens in flight, by area id: after a recovery every waiting request meets
   * the other members' areas at once, and each would otherwise open its own
   * handle (a namespace operation each), all but the last never closed.
   */
  private readonly opening = new Map<string, Promise<Area>>();
  private readonly counters = { hits: 0, misses: 0, evictions: 0, fallbacks: 0 };

  constructor(
    space: ComponentSpace,
    private readonly cacheOpts: GlobalCacheOptions,
  ) {
    const buckets = cacheOpts.buckets ?? 64;
    super(space, { name: WEBCACHE_COMPONENT, masterAreaBytes: masterAreaBytes(buckets) });
    this.mode = space.kind;
    this.nBuckets = buckets;
    this.deadlineMs = cacheOpts.requestDeadlineMs ?? 2000;
    this.heap = new AreaHeap(cacheOpts.bytes);
  }

  // ------------------------------------------------------------ FileCache (the request path)

  async get(key: string, stamp: FileStamp): Promise<Uint8Array | null> {
    const k = enc.encode(key);
    if (k.length > MAX_KEY_BYTES) return null;
    const bucket = hashKey(k) % this.nBuckets;
    let retried = false;
    let out: Uint8Array | null = null;
    try {
      out = await this.consistent(
        async (tx) => {
          const chain = this.chains[bucket]!;
          await tx.lock(chain);
          const hit = await this.find(tx, bucket, k, stamp);
          if (!hit) return null;
          const refs = hit.rel + ENTRY.refs + 4 * this.node;
          tx.add32(hit.region, refs, 1);
          tx.onRelease(() => this.unref(hit.region, refs));
          tx.store64(hit.region, hit.rel + ENTRY.lastAccess, Date.now());
          tx.unlock(chain);
          this.touch(hit.region, hit.rel);
          return tx.read(hit.region, hit.rel + dataOffsetOf(hit.h.keyLength), new Uint8Array(hit.h.dataLength));
        },
        { deadlineMs: this.deadlineMs, onRetry: () => (retried = true) },
      );
    } catch (err) {
      if (!(err instanceof Unrecoverable)) throw err;
      retried = true;
    }
    if (out) this.counters.hits++;
    else this.counters.misses++;
    if (!out && retried) this.counters.fallbacks++;
    return out;
  }

  async put(key: string, stamp: FileStamp, bytes: Uint8Array): Promise<void> {
    const k = enc.encode(key);
    if (k.length > MAX_KEY_BYTES || !this.mine || this.mineFailed) return;
    const capacity = entryBytes(k.length, bytes.length);
    if (capacity > this.cacheOpts.bytes / 4) return; // big files are streamed from disk, not cached
    const rel = await this.allocate(capacity);
    if (rel === null) return;
    const bucket = hashKey(k) % this.nBuckets;
    if (!this.writeEntry(rel, capacity, k, bucket, stamp, bytes)) {
      this.heap.release(rel, capacity);
      return;
    }
    // Local state first, then global (paper §3.6.4): a recovery in between links it for us.
    const entry: LocalEntry = { rel, capacity, key: k, bucket, stamp };
    this.entries.set(rel, entry);
    const mineAt = this.mine.offset + rel;
    /** Our own older versions taken off the chain here: their memory is ours to free. */
    const replaced: number[] = [];
    try {
      const keep = await this.consistent(
        async (tx) => {
          await tx.lock(this.chains[bucket]!);
          // Dropped by a recovery meanwhile (a copy was already cached): its memory may be reused.
          if (this.entries.get(rel) !== entry) return false;
          let duplicate = false;
          let linked = false;
          await this.walk(tx, bucket, (at, h, keyMatches, prev) => {
            if (at === mineAt) linked = true;
            else if (keyMatches && sameStamp(h, stamp)) duplicate = true;
            else if (keyMatches) {
              // An older version of the file: off the chain (its owner frees it when it evicts).
              this.setNext(tx, prev, h.next);
              if (h.owner === this.node) replaced.push(at - this.mine!.offset);
              return 'removed';
            }
            return 'next';
          }, k);
          if (linked) return true;
          if (duplicate) return false;
          tx.store64(this.mine!, rel + ENTRY.next, tx.load64(this.masterArea!, headAt(bucket)));
          tx.store64(this.masterArea!, headAt(bucket), mineAt);
          return true;
        },
        { deadlineMs: this.deadlineMs },
      );
      if (!keep) this.drop(entry);
      for (const old of replaced) {
        const e = this.entries.get(old);
        if (e && e !== entry && (await this.evict(e))) this.drop(e);
      }
    } catch (err) {
      if (!(err instanceof Unrecoverable)) throw err;
      // Stays in the local list: the next recovery links it, or LRU evicts it.
    }
  }

  /**
   * The hash table as GSM holds it now, for a developer stopped in the debugger
   * (`print this.describeTable()` in rebuild, docs/debugger.md): chains, entries
   * linked in all and per owner node, the longest chain. It reads without locks
   * (the caller may be stopped holding one) and stops at anything it cannot
   * follow, which it reports rather than throws.
   */
  describeTable(): { chains: number; linked: number; byOwner: Record<number, number>; longest: number; problem: string | null } {
    const mem = this.space.mem;
    const out = { chains: this.nBuckets, linked: 0, byOwner: {} as Record<number, number>, longest: 0, problem: null as string | null };
    const table = this.masterArea;
    if (!table) return { ...out, problem: 'no master area yet' };
    try {
      for (let b = 0; b < this.nBuckets && !out.problem; b++) {
        let length = 0;
        for (let at = mem.load64n(table.offset + headAt(b)); at !== 0; at = mem.load64n(at + ENTRY.next)) {
          if (++length > MAX_CHAIN_STEPS || mem.load32(at + ENTRY.magic) !== ENTRY_MAGIC) {
            out.problem = `chain ${b}: no entry at ${at}`;
            break;
          }
          const owner = mem.load32(at + ENTRY.owner);
          out.byOwner[owner] = (out.byOwner[owner] ?? 0) + 1;
          out.linked++;
        }
        out.longest = Math.max(out.longest, length);
      }
    } catch (err) {
      out.problem = (err as Error).message;
    }
    return out;
  }

  stats(): CacheStats {
    let bytesCached = 0;
    for (const e of this.entries.values()) bytesCached += e.capacity;
    return { ...this.counters, bytesCached, files: this.entries.size };
  }

  async close(): Promise<void> {
    await this.revalidator?.stop();
    await this.stop();
  }

  /** The node's revalidation thread, stopped with the cache. */
  revalidator: { stop(): Promise<void> } | null = null;

  /**
   * The revalidation thread's report (revalidator.ts): entries of this node whose
   * file changed on disk go off their chain and free their memory, unless another
   * node is copying one out right now (it is reported again next sweep).
   */
  async dropStale(report: StaleReport['entries']): Promise<number> {
    let dropped = 0;
    for (const s of report) {
      if (!this.mine) break;
      const e = this.entries.get(s.at - this.mine.offset);
      // Gone already, or the memory holds another file by now.
      if (!e || e.stamp.size !== s.size || e.stamp.mtimeMs !== s.mtimeMs || e.stamp.ino !== s.ino) continue;
      if (await this.evict(e)) {
        this.drop(e);
        dropped++;
      }
    }
    if (dropped) this.space.log('webcache.stale-dropped', this.name, { files: dropped });
    return dropped;
  }

  // ------------------------------------------------------------ chains

  private headRegion(): Region {
    return this.masterArea!;
  }

  /** The region (a member's cache area) holding absolute offset `at`, opening it on first use. */
  private async regionOf(access: Access, at: number): Promise<Region> {
    const known = this.regionAt(at);
    if (known) return known;
    const table = new Uint8Array(MASTER.areaBytes * MAX_NODES);
    access.read(this.headRegion(), MASTER.areas, table);
    const v = new DataView(table.buffer);
    for (let n = 0; n < MAX_NODES; n++) {
      const gen = v.getUint32(n * MASTER.areaBytes + 4, true);
      if (!gen || n === this.node || this.areas.has(n)) continue;
      const id = `${v.getUint32(n * MASTER.areaBytes, true)}.${gen}`;
      let opened = this.opening.get(id);
      if (!opened) {
        // Recorded before the open stops being in flight: a request that looks
        // in between finds one or the other, never neither.
        opened = this.space
          .openArea(id)
          .then((a) => {
            this.areas.set(n, a);
            return a;
          })
          .finally(() => this.opening.delete(id));
        this.opening.set(id, opened);
      }
      let area: Area;
      try {
        area = await opened;
      } catch (err) {
        access.fail(`cache area of node ${n}: ${(err as Error).message}`);
      }
      if (at >= area.offset && at < area.offset + area.bytes) return area;
    }
    access.fail(`chain entry at ${at} lies in no member's cache area`);
  }

  /**
   * Walks chain `bucket`, bounded and validated at every step; `visit` sees each
   * entry (and where its predecessor's link lives) and may unlink it.
   */
  private async walk(
    access: Access,
    bucket: number,
    visit: (
      at: number,
      h: EntryHeader,
      keyMatches: boolean,
      prev: { region: Region; rel: number },
      storedKey: () => Uint8Array,
    ) => 'next' | 'removed' | 'stop',
    key: Uint8Array,
  ): Promise<void> {
    const probe = new Uint8Array(PROBE_BYTES);
    let prev: { region: Region; rel: number } = { region: this.headRegion(), rel: headAt(bucket) };
    let at = access.load64(prev.region, prev.rel);
    for (let steps = 0; at !== 0; steps++) {
      if (steps > MAX_CHAIN_STEPS) access.fail(`chain ${bucket} does not end: corrupt`);
      const region = await this.regionOf(access, at);
      const rel = at - region.offset;
      const len = Math.min(PROBE_BYTES, region.bytes - rel);
      if (len < ENTRY.key) access.fail(`chain ${bucket}: entry at ${at} overruns its area`);
      const buf = access.read(region, rel, probe.subarray(0, len));
      const h = decodeHeader(buf);
      const problem = headerProblem(h, rel, region.bytes, bucket, this.nBuckets);
      if (problem) access.fail(`chain ${bucket}: entry at ${at}: ${problem}`);
      const storedKey = () =>
        ENTRY.key + h.keyLength <= len ? buf.subarray(ENTRY.key, ENTRY.key + h.keyLength) : access.read(region, rel + ENTRY.key, new Uint8Array(h.keyLength));
      const matches = h.keyLength === key.length && sameBytes(storedKey(), key);
      const r = visit(at, h, matches, prev, storedKey);
      if (r === 'stop') return;
      if (r === 'next') prev = { region, rel: rel + ENTRY.next };
      at = h.next;
    }
  }

  private setNext(access: Access, prev: { region: Region; rel: number }, value: number) {
    access.store64(prev.region, prev.rel, value);
  }

  private async find(tx: Tx, bucket: number, key: Uint8Array, stamp: FileStamp) {
    let found: { region: Region; rel: number; h: EntryHeader } | null = null;
    let region: Region | null = null;
    await this.walk(tx, bucket, (at, h, matches) => {
      if (matches && sameStamp(h, stamp)) {
        region = this.regionAt(at);
        found = { region: region!, rel: at - region!.offset, h };
        return 'stop';
      }
      return 'next';
    }, key);
    return found as { region: Region; rel: number; h: EntryHeader } | null;
  }

  private regionAt(at: number): Region | null {
    if (this.mine && at >= this.mine.offset && at < this.mine.offset + this.mine.bytes) return this.mine;
    for (const a of this.areas.values()) if (at >= a.offset && at < a.offset + a.bytes) return a;
    return null;
  }

  private unref(region: Region, rel: number) {
    const mem = this.space.mem;
    if (region.guard && mem.load32(region.guard.offset) !== region.guard.value) return;
    mem.add32(region.offset + rel, -1);
  }

  // ------------------------------------------------------------ this node's area

  private writeEntry(rel: number, capacity: number, key: Uint8Array, bucket: number, stamp: FileStamp, data: Uint8Array): boolean {
    const area = this.mine!;
    const block = new Uint8Array(dataOffsetOf(key.length) + data.length);
    const v = new DataView(block.buffer);
    v.setUint32(ENTRY.magic, ENTRY_MAGIC, true);
    v.setUint32(ENTRY.keyLength, key.length, true);
    v.setUint32(ENTRY.dataLength, data.length, true);
    v.setUint32(ENTRY.capacity, capacity, true);
    v.setFloat64(ENTRY.size, stamp.size, true);
    v.setFloat64(ENTRY.mtimeMs, stamp.mtimeMs, true);
    v.setFloat64(ENTRY.ino, stamp.ino, true);
    v.setBigUint64(ENTRY.lastAccess, BigInt(Date.now()), true);
    v.setUint32(ENTRY.bucket, bucket, true);
    v.setUint32(ENTRY.owner, this.node, true);
    block.set(key, ENTRY.key);
    block.set(data, dataOffsetOf(key.length));
    const mem = this.space.mem;
    const dropped = area.guard ? mem.write(area.offset + rel, block, area.guard.offset, area.guard.value) : mem.write(area.offset + rel, block);
    return dropped === 0;
  }

  /** Local LRU order: a hit on one of ours moves it to the back. */
  private touch(region: Region, rel: number) {
    if (region !== this.mine) return;
    const e = this.entries.get(rel);
    if (e) {
      this.entries.delete(rel);
      this.entries.set(rel, e);
    }
  }

  private drop(e: LocalEntry) {
    if (this.entries.get(e.rel) === e) {
      this.entries.delete(e.rel);
      this.heap.release(e.rel, e.capacity);
    }
  }

  /** Room for `bytes` in this node's area, evicting its least recently used files. */
  private async allocate(bytes: number): Promise<number | null> {
    for (let tries = 0; tries < 64; tries++) {
      const rel = this.heap.alloc(bytes);
      if (rel !== null) return rel;
      const victim = this.victim();
      if (!victim) return null;
      if (await this.evict(victim)) {
        this.drop(victim);
        this.counters.evictions++;
      } else if (this.entries.get(victim.rel) === victim) {
        // Referenced by another node right now: the next oldest goes first.
        this.entries.delete(victim.rel);
        this.entries.set(victim.rel, victim);
      }
    }
    return null;
  }

  /** The oldest of the first few in local order, by the access time every node writes. */
  private victim(): LocalEntry | null {
    let best: LocalEntry | null = null;
    let bestAt = Infinity;
    let n = 0;
    for (const e of this.entries.values()) {
      const at = this.space.mem.load64n(this.mine!.offset + e.rel + ENTRY.lastAccess);
      if (at < bestAt) {
        best = e;
        bestAt = at;
      }
      if (++n >= 4) break;
    }
    return best;
  }

  /** Takes `e` off its chain unless another instance holds a reference to it. */
  private async evict(e: LocalEntry): Promise<boolean> {
    const at = this.mine!.offset + e.rel;
    try {
      return await this.consistent(
        async (tx) => {
          await tx.lock(this.chains[e.bucket]!);
          if (this.entries.get(e.rel) !== e) return false;
          const refs = tx.read(this.mine!, e.rel + ENTRY.refs, new Uint8Array(4 * MAX_NODES));
          const v = new DataView(refs.buffer);
          for (const n of this.members) if (v.getUint32(4 * n, true) !== 0) return false;
          await this.walk(tx, e.bucket, (entryAt, h, _m, prev) => {
            if (entryAt !== at) return 'next';
            this.setNext(tx, prev, h.next);
            return 'stop';
          }, e.key);
          return true;
        },
        { deadlineMs: this.deadlineMs },
      );
    } catch (err) {
      if (err instanceof Unrecoverable) return false;
      throw err;
    }
  }

  // ------------------------------------------------------------ recovery (paper §4.2)

  private direct(rc: RecoveryContext): Access {
    const mem = this.space.mem;
    const fail = (cause: string): never => {
      throw new Error(cause);
    };
    const read = (r: Region, rel: number, into: Uint8Array) => {
      rc.check();
      if (rel < 0 || rel + into.length > r.bytes) fail(`out-of-bounds read in recovery`);
      const failed = r.guard ? mem.read(r.offset + rel, into, r.guard.offset, r.guard.value) : mem.read(r.offset + rel, into);
      if (failed) fail('memory failure in recovery');
      return into;
    };
    const scratch = new Uint8Array(8);
    const sv = new DataView(scratch.buffer);
    return {
      read,
      load64: (r, rel) => Number(new DataView(read(r, rel, scratch).buffer).getBigUint64(0, true)),
      store64: (r, rel, value) => {
        sv.setBigUint64(0, BigInt(value), true);
        const dropped = r.guard ? mem.write(r.offset + rel, scratch, r.guard.offset, r.guard.value) : mem.write(r.offset + rel, scratch);
        if (dropped) fail('memory failure in recovery');
      },
      fail,
    };
  }

  protected override async buildMaster(rc: RecoveryContext): Promise<void> {
    const mem = this.space.mem;
    const area = rc.area;
    const b = this.nBuckets;
    if (rc.fresh || mem.load32(area.offset + MASTER.buckets) !== b) {
      mem.write(area.offset, new Uint8Array(area.bytes));
      mem.store32(area.offset + MASTER.buckets, b);
    }
    const replace: number[] = [];
    for (let i = 0; i < b; i++) {
      rc.check();
      const at = area.offset + headAt(i);
      const id = chainMutexId(mem, area.offset, i);
      let chain = this.chains[i];
      if (chain && (chain.id !== id || !chain.valid)) chain = null;
      if (chain) {
        try {
          // Abandoned chains are what recovery repairs: the chain is emptied below.
          await rc.lock(chain);
          rc.unlock(chain);
        } catch {
          chain = null; // not recoverable or failed: replaced
        }
      }
      if (chain) mem.store64n(at, 0);
      else replace.push(i);
    }
    // A new master's table takes its standby set; other new mutexes (for
    // poisoned ones) are created together, under one acquisition of the
    // namespace lock.
    const standby = replace.length === b && this.standby.length === b && this.standby.every((m) => m.valid) ? this.standby : null;
    if (standby) {
      this.standby = [];
      this.standbyDone = true;
    }
    await this.swapChains(
      replace,
      (i) => (standby ? Promise.resolve(standby[i]) : this.space.createMutex(`${this.name}.chain.${rc.generation}.${i}`)),
      (i, chain) => {
        const at = area.offset + headAt(i);
        const [slot, gen] = chain.id.split('.').map(Number);
        mem.store32(at - 8, slot);
        mem.store32(at - 4, gen);
        mem.store64n(at, 0);
      },
    );
    for (let n = 0; n < MAX_NODES; n++)
      if (!rc.members.includes(n)) mem.write(area.offset + MASTER.areas + n * MASTER.areaBytes, new Uint8Array(MASTER.areaBytes));
  }

  protected override async rebuild(rc: RecoveryContext): Promise<void> {
    const mem = this.space.mem;
    const area = rc.area;
    const me = this.node;
    if (!this.mine) {
      this.mine = await this.space.createArea(`${this.name}.area.${me}`, this.cacheOpts.bytes);
      this.heap = new AreaHeap(this.cacheOpts.bytes);
    }
    const at = area.offset + MASTER.areas + me * MASTER.areaBytes;
    if (!this.space.accessible(this.mine)) {
      // Our own cache memory failed (§3.3.2): what it held is gone; serve from
      // disk and cache nothing more here until this node's next incarnation.
      this.entries.clear();
      this.heap = new AreaHeap(0);
      mem.write(at, new Uint8Array(MASTER.areaBytes));
      this.mineFailed = true;
    }
    const [slot, gen] = this.mineFailed ? [0, 0] : this.mine.id.split('.').map(Number);
    mem.store32(at, slot);
    mem.store32(at + 4, gen);
    mem.store64n(at + 8, this.mine.bytes);
    // A surviving member's area is the same section in every view: its handle
    // stays (closing and reopening it were two namespace operations per member
    // in every survivor's recovery). Those of members that left, or whose
    // section was replaced or failed, are dropped (closed after the recovery)
    // and a replacement is opened on first use.
    for (const [n, a] of this.areas) {
      if (rc.members.includes(n) && a.valid && this.space.accessible(a)) continue;
      this.areas.delete(n);
      this.retiredAreas.push(a); // closed in housekeeping, like replaced chains
    }
    // Local copies of the chains' mutexes (§4.3.2), opened together.
    rc.check();
    const ids = Array.from({ length: this.nBuckets }, (_, i) => chainMutexId(mem, area.offset, i));
    const stale = ids.flatMap((id, i) => (this.chains[i]?.id !== id ? [i] : []));
    const open = this.takeStandby(stale.map((i) => ids[i]));
    await this.swapChains(stale, (i) => {
      const ready = open.get(ids[i]);
      return ready ? Promise.resolve(ready) : this.space.openMutex(ids[i]);
    });
    // Re-link what this node caches; failed instances' references are void. Each
    // chain is locked once for all of this node's entries on it, not once per
    // entry: every worker waits at lockout while this runs.
    const access = this.direct(rc);
    const byBucket = new Map<number, LocalEntry[]>();
    for (const e of this.entries.values()) {
      const list = byBucket.get(e.bucket);
      if (list) list.push(e);
      else byBucket.set(e.bucket, [e]);
    }
    for (const [bucket, list] of byBucket) {
      rc.check();
      const chain = this.chains[bucket]!;
      await rc.lock(chain);
      try {
        await this.relink(rc, access, area, bucket, list);
      } finally {
        rc.unlock(chain);
      }
    }
  }

  /**
   * Links this node's entries on one chain (held by the caller), except those
   * with a copy there already (another member's, or one of ours that a recovery
   * caught before its put could see the other). One walk of the chain for all of
   * them: a walk per entry made the rebuild quadratic in the chain's length.
   */
  private async relink(rc: RecoveryContext, access: Access, area: Area, bucket: number, list: LocalEntry[]): Promise<void> {
    const mem = this.space.mem;
    const mine = this.mine!;
    const bySignature = new Map<string, LocalEntry[]>();
    for (const e of list) {
      const refs = mine.offset + e.rel + ENTRY.refs;
      for (let n = 0; n < MAX_NODES; n++) if (!rc.members.includes(n) || n === this.node) mem.store32(refs + 4 * n, 0);
      const k = signature(e.key.length, e.stamp);
      const same = bySignature.get(k);
      if (same) same.push(e);
      else bySignature.set(k, [e]);
    }
    const copied = new Set<LocalEntry>();
    try {
      await this.walk(access, bucket, (at, h, _matches, _prev, storedKey) => {
        for (const e of bySignature.get(signature(h.keyLength, h)) ?? [])
          if (at === mine.offset + e.rel || sameBytes(storedKey(), e.key)) copied.add(e);
        return 'next';
      }, NO_KEY);
    } catch (err) {
      rc.check(); // a newer recovery: start again from scratch
      // A chain this recovery built holds an entry it cannot trust: empty the
      // chain rather than fail every recovery from now on. The files on it
      // stay in their owners' local lists and are linked again next time.
      this.space.log('webcache.chain-reset', this.name, { bucket, reason: (err as Error).message });
      access.store64(area, headAt(bucket), 0);
      copied.clear();
    }
    const linked: LocalEntry[] = [];
    for (const e of list) {
      if (copied.has(e) || linked.some((o) => sameStamp(o.stamp, e.stamp) && sameBytes(o.key, e.key))) {
        this.drop(e);
        continue;
      }
      access.store64(mine, e.rel + ENTRY.next, access.load64(area, headAt(bucket)));
      access.store64(area, headAt(bucket), mine.offset + e.rel);
      linked.push(e);
    }
  }

  /**
   * Gets new handles for the chains `which` (all at once); the old ones are
   * closed after the recovery (housekeeping), not in it: after a master's
   * failure that is 64 namespace operations every member would otherwise wait
   * for. A handle that could not be had leaves its chain as it was and fails
   * the recovery after the others are in place, so none is left unrecorded.
   */
  private async swapChains(which: number[], get: (i: number) => Promise<Lockable>, placed?: (i: number, chain: Lockable) => void): Promise<void> {
    const got = await Promise.allSettled(which.map(get));
    let failure: unknown = null;
    which.forEach((i, k) => {
      const r = got[k];
      if (r.status === 'rejected') {
        failure ??= r.reason;
        return;
      }
      placed?.(i, r.value);
      if (this.chains[i]) this.retired.push(this.chains[i]!);
      this.chains[i] = r.value;
    });
    if (failure) throw failure;
  }

  /**
   * Not at once: right after a recovery every node catches up on the requests
   * that waited and the supervisor handles the failure; closing replaced
   * handles and preparing the standby set (namespace operations) can wait.
   */
  protected override afterRecovery(): void {
    this.standbyLooks = 0;
    this.scheduleHousekeeping(HOUSEKEEPING_DELAY_MS);
  }

  private scheduleHousekeeping(ms: number): void {
    if (this.housekeeping) clearTimeout(this.housekeeping);
    this.housekeeping = setTimeout(() => {
      this.housekeeping = null;
      // During a recovery: its own afterRecovery schedules this again.
      if (this.status() !== 'OK') return;
      // The last round is still going: this one's handles wait for it, not for the next recovery.
      if (this.keeping) return this.scheduleHousekeeping(ms);
      this.keeping = this.housekeep()
        .catch((err: Error) => this.space.log('webcache.error', this.name, { message: `housekeeping: ${err.message}` }))
        .finally(() => (this.keeping = null));
    }, ms);
    this.housekeeping.unref();
  }

  private async housekeep(): Promise<void> {
    const old = this.retired.splice(0);
    await Promise.all([...old.map((m) => this.space.closeMutex(m)), ...this.retiredAreas.splice(0).map((a) => a.close())]);
    // The successor may not have made its set yet: look again shortly, a few
    // times (it may have none: no room in its contribution).
    if (this.mode === 'global' && !(await this.prepareStandby()) && ++this.standbyLooks < 8) this.scheduleHousekeeping(250);
  }

  /**
   * The standby sets among `ids` (a new master's chains), taken out of
   * `othersStandby` whole: their handles become chains, closed when replaced.
   */
  private takeStandby(ids: string[]): Map<string, Lockable> {
    const out = new Map<string, Lockable>();
    const wanted = new Set(ids);
    for (const [areaId, set] of this.othersStandby) {
      if (!set.some((m) => wanted.has(m.id))) continue;
      this.othersStandby.delete(areaId);
      for (const m of set) {
        if (wanted.has(m.id)) out.set(m.id, m);
        else this.retired.push(m);
      }
    }
    return out;
  }

  /** This node's standby set if it is the successor, or the successor's set opened (see `standby`); false while that set does not exist yet. */
  private async prepareStandby(): Promise<boolean> {
    const table = this.masterArea;
    if (!table || !this.mine || this.mineFailed) return true;
    const able = this.members.filter((n) => n !== table.owner && this.space.canHouse(n));
    if (able.length === 0) return true;
    const successor = Math.min(...able);
    const b = this.nBuckets;
    const nameOf = (areaId: string, i: number) => `${this.name}.standby.${areaId}.${i}`;
    /** All of a set or none of it: a partial one is closed again. */
    const all = async (get: (i: number) => Promise<Lockable>): Promise<Lockable[] | null> => {
      const got = await Promise.allSettled(Array.from({ length: b }, (_, i) => get(i)));
      const ok = got.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      if (ok.length === b) return ok;
      await Promise.all(ok.map((m) => this.space.closeMutex(m)));
      return null;
    };
    if (successor === this.node) {
      if (this.standby.length === 0 && !this.standbyDone) {
        const set = await all((i) => this.space.createMutex(nameOf(this.mine!.id, i)));
        if (set) this.standby = set;
        else {
          // No room in this contribution: a takeover by this node creates its chains as before.
          this.standbyDone = true;
          this.space.log('webcache.standby-skipped', this.name, { node: this.node });
        }
      }
      return true;
    }
    const at = table.offset + MASTER.areas + successor * MASTER.areaBytes;
    const gen = this.space.mem.load32(at + 4);
    const wanted = gen ? `${this.space.mem.load32(at)}.${gen}` : null;
    for (const [areaId, set] of this.othersStandby) {
      if (areaId === wanted) continue;
      this.othersStandby.delete(areaId);
      await Promise.all(set.map((m) => this.space.closeMutex(m)));
    }
    if (!wanted || this.othersStandby.has(wanted)) return true;
    const set = await all((i) => this.space.openMutex(nameOf(wanted, i)));
    if (set) this.othersStandby.set(wanted, set);
    return set !== null;
  }

  protected override async cleanup(): Promise<void> {
    if (this.housekeeping) clearTimeout(this.housekeeping);
    await this.keeping;
    for (const a of [...this.areas.values(), ...this.retiredAreas.splice(0)]) await a.close();
    this.areas.clear();
    const standby = [...this.standby.splice(0), ...[...this.othersStandby.values()].flat()];
    this.othersStandby.clear();
    for (const c of [...this.chains, ...this.retired.splice(0), ...standby]) if (c) await this.space.closeMutex(c);
    this.chains = [];
    await this.mine?.close();
  }
}

const headAt = (bucket: number) => MASTER.heads + MASTER.headBytes * bucket + 8;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What two copies of one version of a file share without reading the key: its length and the file's stamp. */
const signature = (keyLength: number, s: FileStamp) => `${keyLength}:${s.size}:${s.mtimeMs}:${s.ino}`;
const NO_KEY = new Uint8Array(0);

/** The cache of `mode` 'global' (GSM, shared by every node) or 'local' (this process only). */
export async function createComponentCache(ctx: AppContext, mode: 'global' | 'local', opts: GlobalCacheOptions): Promise<CacheComponent> {
  const buckets = opts.buckets ?? 64;
  const space =
    mode === 'global' ? globalSpace(ctx) : localSpace({ node: ctx.node, bytes: opts.bytes + masterAreaBytes(buckets) + 4096, log: ctx.log });
  const cache = new CacheComponent(space, opts);
  if ((await cache.start()) !== 'OK') throw new Error(`the ${mode} Web cache could not build its shared state`);
  // Bundled (the desktop app), the thread's module is built beside this one as plain JS.
  const revalidatorModule = new URL(import.meta.url.endsWith('.ts') ? './revalidator.ts' : './webcache-revalidator.js', import.meta.url);
  // Without the thread a changed file is still never served (every request checks its stamp); only its copy's memory waits for LRU.
  if (mode === 'global' && opts.root !== undefined && opts.revalidateMs !== 0) {
    const data: RevalidatorData = { component: WEBCACHE_COMPONENT, root: opts.root, periodMs: opts.revalidateMs ?? 1000 };
    cache.revalidator = keepThread(ctx, REVALIDATOR_THREAD, revalidatorModule, data, (msg) => {
      const m = msg as Partial<StaleReport>;
      if (m?.type === 'webcache.stale' && Array.isArray(m.entries))
        cache.dropStale(m.entries).catch((err: Error) => ctx.log('webcache.error', WEBCACHE_COMPONENT, { message: `dropping stale entries: ${err.message}` }));
    });
  }
  return cache;
}
