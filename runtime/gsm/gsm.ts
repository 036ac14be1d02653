// A multicomputer's Global Shared Memory: create or attach the one mapped object,
// check its header, and own the memory-failure model (paper §3.3.2 and §7.2).
import {
  B,
  BLOCK_MAGIC,
  BlockState,
  DEFAULT_GEOMETRY,
  DUMMY_BYTE,
  FAILED_MAP_CAPACITY,
  GSM_LAYOUT_VERSION,
  GSM_MAGIC,
  GsmState,
  H,
  computeLayout,
  contribution,
  type GsmGeometry,
  type GsmLayout,
} from './layout';
import { attachMapping, createMapping, unlinkMapping, type Mapping } from './native';

export interface FailedRegion {
  offset: number;
  length: number;
}

/**
 * The parts of [offset, offset+length) that lie in failed regions, sorted and merged
 * (regions may overlap: a node's whole contribution and a range inside it).
 */
export function failedParts(regions: readonly FailedRegion[], offset: number, length: number): FailedRegion[] {
  const end = offset + length;
  const cut = regions
    .map((r) => ({ offset: Math.max(offset, r.offset), end: Math.min(end, r.offset + r.length) }))
    .filter((r) => r.offset < r.end)
    .sort((a, b) => a.offset - b.offset);
  const out: FailedRegion[] = [];
  for (const r of cut) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) last.length = Math.max(last.length, r.end - last.offset);
    else out.push({ offset: r.offset, length: r.end - r.offset });
  }
  return out;
}

export class GsmError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GsmError';
  }
}

export class Gsm {
  private constructor(
    readonly name: string,
    readonly map: Mapping,
    readonly layout: GsmLayout,
  ) {
    map.configureFailureModel(H.failedMap, FAILED_MAP_CAPACITY, H.memoryFailures, DUMMY_BYTE, layout.systemBytes);
  }

  /**
   * Creates a fresh GSM object. Fails (ERR_GSM_EXISTS) if the name is taken, so
   * two multicomputers never share memory by accident; see `replaceStale`.
   */
  static create(name: string, geometry: Partial<GsmGeometry> = {}): Gsm {
    const layout = computeLayout({ ...DEFAULT_GEOMETRY, ...geometry });
    const map = createMapping(name, layout.totalBytes);
    // A freshly sized shared-memory object reads as zeros, which is the empty
    // state of every table; only non-zero fields need writing.
    map.store32(H.state, GsmState.Initializing);
    map.store32(H.version, GSM_LAYOUT_VERSION);
    map.store32(H.maxNodes, layout.maxNodes);
    map.store64n(H.totalBytes, layout.totalBytes);
    map.store64n(H.systemBytes, layout.systemBytes);
    map.store64n(H.contributionBytes, layout.contributionBytes);
    map.store64n(H.contributionsOffset, layout.contributionsOffset);
    map.store64n(H.nodeTableOffset, layout.nodeTableOffset);
    map.store64n(H.objectTableOffset, layout.objectTableOffset);
    map.store32(H.objectCapacity, layout.objectCapacity);
    map.store32(H.nameIndexCapacity, layout.nameIndexCapacity);
    map.store64n(H.nameIndexOffset, layout.nameIndexOffset);
    map.store64n(H.logRingsOffset, layout.logRingsOffset);
    map.store64n(H.logRingBytes, layout.logRingBytes);
    map.store64n(H.componentTableOffset, layout.componentTableOffset);
    map.store64n(H.threadTableOffset, layout.threadTableOffset);
    map.store32(H.creatorPid, process.pid);
    map.store64n(H.createdAtMs, Date.now());
    for (let n = 0; n < layout.maxNodes; n++) initContribution(map, layout, n);
    // Magic last: an attacher that sees it knows every other field is written.
    map.store32(H.magic, GSM_MAGIC);
    map.store32(H.state, GsmState.Ready);
    return new Gsm(name, map, layout);
  }

  /** Attaches to an existing GSM object and checks that it is one of ours, of this layout. */
  static attach(name: string): Gsm {
    const map = attachMapping(name);
    try {
      const magic = map.load32(H.magic);
      if (magic !== GSM_MAGIC) throw new GsmError('ERR_GSM_FOREIGN', `${name} is not MCS GSM (bad magic)`);
      const version = map.load32(H.version);
      if (version !== GSM_LAYOUT_VERSION)
        throw new GsmError('ERR_GSM_VERSION', `${name} has GSM layout ${version}, this build reads ${GSM_LAYOUT_VERSION}`);
      if (map.load32(H.state) !== GsmState.Ready) throw new GsmError('ERR_GSM_NOT_READY', `${name} is still initializing`);
      const layout = computeLayout({
        maxNodes: map.load32(H.maxNodes),
        contributionBytes: map.load64n(H.contributionBytes),
        objectCapacity: map.load32(H.objectCapacity),
        logRingBytes: map.load64n(H.logRingBytes),
      });
      if (layout.totalBytes !== map.size || layout.totalBytes !== map.load64n(H.totalBytes))
        throw new GsmError('ERR_GSM_FOREIGN', `${name} size ${map.size} does not match its header`);
      return new Gsm(name, map, layout);
    } catch (err) {
      map.close();
      throw err;
    }
  }

  static unlink(name: string): boolean {
    return unlinkMapping(name);
  }

  get closed(): boolean {
    return this.map.closed;
  }

  close(): void {
    if (!this.map.closed) this.map.close();
  }

  /** Recorded as owner of the mutexes this process locks (status tools show it). */
  setIdentity(node: number, incarnation: number): void {
    this.map.setIdentity(node, incarnation);
  }

  get creatorPid(): number {
    return this.map.load32(H.creatorPid);
  }

  get createdAtMs(): number {
    return this.map.load64n(H.createdAtMs);
  }

  // ------------------------------------------------------------ memory failures

  /** Paper §7.2 property 1: memory failures detected since power-on, all nodes. */
  memoryFailures(): number {
    return this.map.load64n(H.memoryFailures);
  }

  /** Paper §7.2 property 2: is [offset, offset+length) still good memory? */
  isAccessible(offset: number, length: number): boolean {
    return this.map.isAccessible(offset, length);
  }

  /**
   * Changes whenever the set of failed regions does: a failure appends a region
   * (the count grows) and a repair rewrites the table under a new epoch. Unlike
   * memoryFailures(), which counts every access that met failed memory, it tells
   * a new failure from another read of an old one.
   */
  failedRegionsVersion(): number {
    // One u32 (a component instance records it): the epoch moves by 2 per repair.
    return ((this.map.load32(H.failedMap) << 20) + this.map.load32(H.failedMap + 4)) >>> 0;
  }

  failedRegions(): FailedRegion[] {
    const count = Math.min(this.map.load32(H.failedMap + 4), FAILED_MAP_CAPACITY);
    const out: FailedRegion[] = [];
    for (let i = 0; i < count; i++) {
      const at = H.failedMap + 16 + 16 * i;
      out.push({ offset: this.map.load64n(at), length: this.map.load64n(at + 8) });
    }
    return out;
  }

  /**
   * Marks a region failed: from now on every process reads the dummy pattern there
   * and its writes are dropped. Callers serialize through the namespace lock;
   * adding needs no seqlock because the range is written before the count that
   * makes it visible.
   */
  failRegion(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length <= 0)
      throw new RangeError('failed region needs a non-negative integer offset and a positive length');
    if (offset < this.layout.systemBytes || offset + length > this.layout.totalBytes)
      throw new RangeError(
        `failed region must lie within node contributions [${this.layout.systemBytes}, ${this.layout.totalBytes})`,
      );
    const count = this.map.load32(H.failedMap + 4);
    if (this.failedRegions().some((r) => r.offset <= offset && offset + length <= r.offset + r.length)) return;
    if (count >= FAILED_MAP_CAPACITY)
      throw new GsmError('ERR_GSM_FAILED_MAP_FULL', `the failed-region map holds at most ${FAILED_MAP_CAPACITY} regions`);
    const at = H.failedMap + 16 + 16 * count;
    this.map.store64n(at, offset);
    this.map.store64n(at + 8, length);
    this.map.store32(H.failedMap + 4, count + 1);
  }

  /**
   * Removes failed regions inside [offset, offset+length) (a node's contribution
   * repaired when the node rejoins). Readers may be mid-scan, so the table is
   * rewritten under the seqlock epoch the native access layer checks.
   */
  repairRegion(offset: number, length: number): void {
    const keep = this.failedRegions().filter((r) => r.offset + r.length <= offset || r.offset >= offset + length);
    const epoch = this.map.load32(H.failedMap);
    this.map.store32(H.failedMap, (epoch | 1) >>> 0);
    keep.forEach((r, i) => {
      this.map.store64n(H.failedMap + 16 + 16 * i, r.offset);
      this.map.store64n(H.failedMap + 24 + 16 * i, r.length);
    });
    this.map.store32(H.failedMap + 4, keep.length);
    this.map.store32(H.failedMap, ((epoch | 1) + 1) >>> 0);
  }

  /** A writer that died mid-repair leaves the epoch odd; the namespace repair calls this. */
  repairFailedMapEpoch(): void {
    const epoch = this.map.load32(H.failedMap);
    if (epoch & 1) this.map.store32(H.failedMap, (epoch + 1) >>> 0);
  }
}

/** Resets a node's contribution to one free block spanning all of it. */
export function initContribution(map: Mapping, layout: GsmLayout, node: number): void {
  const base = contribution(layout, node);
  map.store64n(base + B.size, layout.contributionBytes);
  map.store32(base + B.state, BlockState.Free);
  map.store32(base + B.objectSlot, 0);
  map.store32(base + B.objectGeneration, 0);
  map.store32(base + B.magic, BLOCK_MAGIC);
}
