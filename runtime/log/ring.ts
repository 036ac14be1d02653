// The per-node event ring: how a node's events survive the node.
//
// A node process can be SIGKILLed at any instruction, so it must not hold its last
// events in private memory (a JS array, a socket buffer, a pending SQLite write).
// Each node appends into a ring in GSM instead; the supervisor process drains the
// rings into SQLite. When a node dies, everything it had published is still in GSM
// and `drainAfterDeath` collects it. The ring itself must therefore live in GSM
// that outlives the node (the supervisor's area, not the node's own contribution,
// which becomes failed memory when the node dies).
//
// Layout (all little-endian; `offset` must be 8-byte aligned):
//
//   header, 64 bytes
//     0  u32 magic          'MCSR' once `reset` ran: a writer refuses a ring nobody initialised.
//     4  u32 layout         LAYOUT_VERSION: a writer built against another layout refuses too.
//     8  u32 capacity       slots in the ring; the writer and reader must agree on it.
//    12  u32 slotBytes      SLOT_BYTES, for the same reason.
//    16  u32 node           whose events these are: a slot does not repeat it (it is the
//    20  u32 incarnation      same for every slot until the next `reset`).
//    24  u32 overflow       events dropped because the ring was full since the reader last
//                           looked; the reader swaps it to 0 and logs `log.overflow`.
//    28  u32 (spare)
//    32  u64 reserved       last seq handed out (seq = reserved + 1). Moved only by CAS and
//                           only while the ring has room, so a seq is never burnt on a full
//                           ring: a burnt seq would be a hole nobody ever fills.
//    40  u64 drained        last seq the reader has consumed; slots of seqs <= drained are
//                           free. Only the reader writes it.
//    48..63 (spare)
//
//   publish words, capacity × u32 (padded to 64 bytes)
//     word i = low 32 bits of the seq last published in slot i. The writer stores it
//     (release) after the slot body, so a reader that sees the expected seq here sees
//     the whole body. Kept apart from the slots so the reader finds the published
//     prefix with one small bulk copy, then copies just those slot bodies. A drained
//     slot needs no clearing: the next seq expected there differs by `capacity`.
//
//   slots, capacity × SLOT_BYTES; seq s lives in slot (s - 1) % capacity
//     0  f64 seq            (the full seq; the publish word only has its low 32 bits)
//     8  f64 clusterTimeNs  monotonicNs() at append: orders events across nodes
//    16  f64 wallTimeMs     Date.now() at append: what an operator reads
//    24  u32 detailsChars   0, or the length of the details JSON when it did not fit
//                           (the stored bytes are then a prefix; see `truncatedDetails`)
//    28  u8  kindBytes
//    29  u8  objectBytes    NULL_OBJECT when the event names no object
//    30  u16 detailsBytes
//    32  payload            kind, object, details JSON (UTF-8), PAYLOAD_BYTES in all.
//                           kind and object are cut at KIND_MAX / OBJECT_MAX bytes and end
//                           with '…' when cut, so the truncation is visible in the log.
import type { Mapping } from '../gsm/native';
import type { LogEvent } from './store';
import { monotonicNs } from '../gsm/native';

export const LAYOUT_VERSION = 1;
export const RING_MAGIC = 0x5253434d; // 'MCSR'
export const HEADER_BYTES = 64;
export const SLOT_BYTES = 256;
export const SLOT_HEAD_BYTES = 32;
export const PAYLOAD_BYTES = SLOT_BYTES - SLOT_HEAD_BYTES;
export const KIND_MAX = 64;
export const OBJECT_MAX = 96;
const NULL_OBJECT = 0xff;

/** Byte offsets of the header words, relative to the ring's start. */
export const H = {
  magic: 0,
  layout: 4,
  capacity: 8,
  slotBytes: 12,
  node: 16,
  incarnation: 20,
  overflow: 24,
  reserved: 32,
  drained: 40,
} as const;

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** Bytes a ring of `capacity` slots occupies in GSM. */
export function ringBytes(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0x7fffffff) {
    throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
  }
  return HEADER_BYTES + align64(capacity * 4) + capacity * SLOT_BYTES;
}

/** The largest capacity whose ring fits in `bytes`. */
export function ringCapacity(bytes: number): number {
  let cap = Math.floor((bytes - HEADER_BYTES) / (SLOT_BYTES + 4));
  while (cap > 0 && ringBytes(cap) > bytes) cap--;
  return cap;
}

/** An event as drained from a ring: a LogEvent whose details are always JSON text too. */
export interface RingEvent extends LogEvent {
  /** The details exactly as stored (JSON text), so the store need not re-serialise them. */
  detailsJson: string;
}

/** What a reader returns for details that did not fit in a slot. */
export interface TruncatedDetails {
  truncated: true;
  /** Length (UTF-16 code units) of the full JSON text the writer had. */
  length: number;
  /** The part of the JSON text that fit. */
  partial: string;
}

const ELLIPSIS = new Uint8Array([0xe2, 0x80, 0xa6]); // '…'
const encoder = new TextEncoder();
const decoder = new TextDecoder();

class Geometry {
  readonly capacity: number;
  readonly publishAt: number;
  readonly slotsAt: number;

  constructor(
    readonly map: Mapping,
    readonly offset: number,
    readonly bytes: number,
    capacity: number,
  ) {
    if (!Number.isInteger(offset) || offset % 8 !== 0) throw new RangeError(`ring offset ${offset} is not 8-byte aligned`);
    if (capacity < 1 || ringBytes(capacity) > bytes) throw new RangeError(`ring of ${bytes} bytes cannot hold ${capacity} slots`);
    if (offset + bytes > map.size) throw new RangeError(`ring [${offset}, +${bytes}) lies outside the mapping`);
    this.capacity = capacity;
    this.publishAt = offset + HEADER_BYTES;
    this.slotsAt = this.publishAt + align64(capacity * 4);
  }

  slotOffset(seq: number): number {
    return this.slotsAt + ((seq - 1) % this.capacity) * SLOT_BYTES;
  }

  publishOffset(seq: number): number {
    return this.publishAt + ((seq - 1) % this.capacity) * 4;
  }
}

/**
 * Encodes events into slots. Owns one scratch slot, so each thread (or process)
 * appending to a ring needs its own writer; writers coordinate only through GSM.
 */
class SlotEncoder {
  private readonly scratch = new Uint8Array(SLOT_BYTES);
  private readonly view = new DataView(this.scratch.buffer);

  /** Fills the scratch slot; returns it (the whole slot is copied: one memcpy, no subarray). */
  encode(seq: number, clusterTimeNs: number, wallTimeMs: number, kind: string, object: string | null, json: string): Uint8Array {
    const s = this.scratch;
    const v = this.view;
    v.setFloat64(0, seq, true);
    v.setFloat64(8, clusterTimeNs, true);
    v.setFloat64(16, wallTimeMs, true);
    let at = SLOT_HEAD_BYTES;
    const kindBytes = this.put(kind, at, KIND_MAX);
    at += kindBytes;
    let objectBytes = NULL_OBJECT;
    if (object !== null) {
      objectBytes = this.put(object, at, OBJECT_MAX);
      at += objectBytes;
    }
    const room = SLOT_BYTES - at;
    const r = encoder.encodeInto(json, s.subarray(at, SLOT_BYTES));
    v.setUint32(24, r.read < json.length ? json.length : 0, true);
    s[28] = kindBytes;
    s[29] = objectBytes;
    v.setUint16(30, Math.min(r.written, room), true);
    return s;
  }

  /** Encodes `text` at `at` in at most `max` bytes, ending in '…' if it had to be cut. */
  private put(text: string, at: number, max: number): number {
    const s = this.scratch;
    const r = encoder.encodeInto(text, s.subarray(at, at + max));
    if (r.read === text.length) return r.written;
    const cut = encoder.encodeInto(text, s.subarray(at, at + max - ELLIPSIS.length));
    s.set(ELLIPSIS, at + cut.written);
    return cut.written + ELLIPSIS.length;
  }
}

function detailsJson(details: unknown): string {
  if (details === undefined) return 'null';
  try {
    return JSON.stringify(details) ?? 'null';
  } catch (err) {
    // A node must not crash because it logged a cycle or a BigInt; the event still
    // goes out, saying what could not be serialised.
    return JSON.stringify({ unserializable: String((err as Error)?.message ?? err) });
  }
}

/** Attempts one reservation of the next seq; 0 if the ring is full (nothing changed). */
function reserveSeq(map: Mapping, offset: number, capacity: number, drained: number): number {
  for (;;) {
    const r = map.load64n(offset + H.reserved);
    if (r - drained >= capacity) {
      // Full as far as we know; look once more in case the reader just drained.
      const d = map.load64n(offset + H.drained);
      if (d <= drained || r - d >= capacity) return 0;
      drained = d;
      continue;
    }
    // A fetch-add would be cheaper, but on a full ring it would hand out a seq that can
    // never be published: a permanent hole that also blocks the reader. CAS only moves
    // `reserved` when the slot is known to be free.
    if (map.cas64(offset + H.reserved, BigInt(r), BigInt(r + 1)) === BigInt(r)) return r + 1;
  }
}

function checkHeader(map: Mapping, offset: number, bytes: number): number {
  if (offset + HEADER_BYTES > map.size) throw new RangeError(`ring header at ${offset} lies outside the mapping`);
  if (map.load32(offset + H.magic) !== RING_MAGIC) throw new Error(`no event ring at offset ${offset} (reset() was never run)`);
  const layout = map.load32(offset + H.layout);
  const slot = map.load32(offset + H.slotBytes);
  if (layout !== LAYOUT_VERSION || slot !== SLOT_BYTES) {
    throw new Error(`event ring at ${offset} has layout ${layout}/${slot}, expected ${LAYOUT_VERSION}/${SLOT_BYTES}`);
  }
  const capacity = map.load32(offset + H.capacity);
  if (capacity < 1 || ringBytes(capacity) > bytes) throw new Error(`event ring at ${offset} claims ${capacity} slots, more than ${bytes} bytes hold`);
  return capacity;
}

/** The node side: appends events. Safe to use from several threads, each with its own writer. */
export class EventRingWriter {
  private readonly g: Geometry;
  private readonly enc = new SlotEncoder();

  constructor(map: Mapping, offset: number, bytes: number) {
    this.g = new Geometry(map, offset, bytes, checkHeader(map, offset, bytes));
  }

  get capacity(): number {
    return this.g.capacity;
  }

  /**
   * Appends one event and returns its seq, or 0 if the ring was full: then the event
   * is not written and the ring's overflow counter says so (the reader logs it).
   */
  append(kind: string, object: string | null, details?: unknown): number {
    // Serialise before reserving: a reserved slot blocks the reader until it is
    // published, so nothing slow (or throwing) belongs between the two.
    const json = detailsJson(details);
    const { map, offset, capacity } = this.g;
    const seq = reserveSeq(map, offset, capacity, map.load64n(offset + H.drained));
    if (seq === 0) {
      map.add32(offset + H.overflow, 1);
      return 0;
    }
    writeSlot(this.g, this.enc, seq, kind, object, json);
    return seq;
  }
}

function writeSlot(g: Geometry, enc: SlotEncoder, seq: number, kind: string, object: string | null, json: string): void {
  const slot = enc.encode(seq, monotonicNs(), Date.now(), kind, object, json);
  g.map.write(g.slotOffset(seq), slot);
  g.map.store32(g.publishOffset(seq), seq >>> 0);
}

export interface DeathDrain {
  /** Every published event, plus a `log.lost` event in place of each slot reserved but never published. */
  events: RingEvent[];
  /** Slots the dead producer reserved but never published. */
  lost: number;
  /** Events the producer dropped on a full ring (also in `events` as a `log.overflow` event). */
  overflow: number;
}

/** The supervisor side: drains a ring into the log. One reader per ring. */
export class EventRingReader {
  private readonly g: Geometry;
  private readonly enc = new SlotEncoder();
  private readonly batch: number;
  // Reused for every drain: one copy of the publish words, one of the slot bodies.
  private readonly publishBuf: Uint8Array;
  private readonly publishWords: Uint32Array;
  private readonly slotBuf: Uint8Array;
  private readonly slotView: DataView;

  /** `maxBatch` bounds the events one drain returns (and the reader's buffers). */
  constructor(map: Mapping, offset: number, bytes: number, opts: { maxBatch?: number } = {}) {
    this.g = new Geometry(map, offset, bytes, ringCapacity(bytes));
    this.batch = Math.max(1, Math.min(opts.maxBatch ?? 4096, this.g.capacity));
    this.publishBuf = new Uint8Array(this.batch * 4);
    this.publishWords = new Uint32Array(this.publishBuf.buffer);
    this.slotBuf = new Uint8Array(this.batch * SLOT_BYTES);
    this.slotView = new DataView(this.slotBuf.buffer);
  }

  get capacity(): number {
    return this.g.capacity;
  }

  /**
   * (Re)initialises the ring for a node's new incarnation: empty, seq restarting at 1,
   * no overflow. Run it before the node process starts; never while a writer is live.
   */
  reset(node: number, incarnation: number): void {
    for (const [what, v] of [['node', node], ['incarnation', incarnation]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`ring ${what} must be an integer >= 0, got ${v}`);
    }
    const { map, offset, capacity } = this.g;
    map.store32(offset + H.magic, 0); // a writer attaching mid-reset sees no ring
    map.write(this.g.publishAt, new Uint8Array(this.g.slotsAt - this.g.publishAt));
    map.store32(offset + H.layout, LAYOUT_VERSION);
    map.store32(offset + H.capacity, capacity);
    map.store32(offset + H.slotBytes, SLOT_BYTES);
    map.store32(offset + H.node, node);
    map.store32(offset + H.incarnation, incarnation);
    map.store32(offset + H.overflow, 0);
    map.store64n(offset + H.reserved, 0);
    map.store64n(offset + H.drained, 0);
    map.store32(offset + H.magic, RING_MAGIC);
  }

  get node(): number {
    return this.g.map.load32(this.g.offset + H.node);
  }

  get incarnation(): number {
    return this.g.map.load32(this.g.offset + H.incarnation);
  }

  /** Seqs reserved but not yet drained (published or not). */
  pending(): number {
    const { map, offset } = this.g;
    return map.load64n(offset + H.reserved) - map.load64n(offset + H.drained);
  }

  /**
   * Returns committed events in seq order (at most `max`) and frees their slots. Stops
   * at the first slot reserved but not yet published: its writer is still writing.
   * Events lost to a full ring come out as one `log.overflow` event { lost }.
   */
  drain(max = this.batch): RingEvent[] {
    const { map, offset } = this.g;
    this.checkHeader();
    const out: RingEvent[] = [];
    const node = this.node;
    const incarnation = this.incarnation;
    let markerWritten = false;
    while (out.length < max) {
      const drained = map.load64n(offset + H.drained);
      const want = Math.min(map.load64n(offset + H.reserved) - drained, max - out.length, this.batch);
      const got = want > 0 ? this.readPublished(drained, want, false) : 0;
      for (let i = 0; i < got; i++) out.push(this.decodeSlot(i, drained + 1 + i, node, incarnation));
      // Log the overflow while we still hold the slots just read: one of them is then
      // free for the `log.overflow` event even if writers keep the ring full.
      const marker = !markerWritten && this.writeOverflowMarker(drained + got);
      if (got > 0) map.store64n(offset + H.drained, drained + got);
      if (marker) {
        markerWritten = true;
        continue; // pick the marker up in this same drain
      }
      if (got === 0 || got < want) break;
    }
    return out;
  }

  /**
   * For a producer known to be dead (SIGKILLed, fenced): returns everything it
   * published, puts a `log.lost` event where a slot was reserved but never published
   * (the producer died mid-append), a `log.overflow` event for events it dropped on a
   * full ring, and leaves the ring empty.
   */
  drainAfterDeath(): DeathDrain {
    const { map, offset } = this.g;
    this.checkHeader();
    const events: RingEvent[] = [];
    const node = this.node;
    const incarnation = this.incarnation;
    let lost = 0;
    let drained = map.load64n(offset + H.drained);
    let reserved = map.load64n(offset + H.reserved);
    // A writer never reserves more than a ring's worth past what was drained; a
    // larger count is corruption (a wild write, a failed word) and must not make
    // the supervisor loop or allocate without bound.
    const capacity = this.g.capacity;
    if (!(Number.isSafeInteger(reserved) && reserved >= drained && reserved - drained <= capacity)) {
      const details = { drained, reserved, capacity };
      drained += 1;
      map.store64n(offset + H.reserved, drained);
      reserved = drained;
      events.push(ringEvent(node, incarnation, drained, monotonicNs(), Date.now(), 'log.corrupt', null, details, JSON.stringify(details)));
    }
    while (drained < reserved) {
      const n = Math.min(reserved - drained, this.batch);
      this.readPublished(drained, n, true);
      const wall = Date.now();
      const now = monotonicNs();
      for (let i = 0; i < n; i++) {
        const seq = drained + 1 + i;
        if (this.publishWords[i] === seq >>> 0) {
          events.push(this.decodeSlot(i, seq, node, incarnation));
        } else {
          lost++;
          const details = { reason: 'producer died between reserving and publishing this seq' };
          events.push(ringEvent(node, incarnation, seq, now, wall, 'log.lost', null, details, JSON.stringify(details)));
        }
      }
      drained += n;
    }
    const overflow = map.xchg32(offset + H.overflow, 0);
    if (overflow > 0) {
      // Nobody else can reserve now: the producer is dead. Take the next seq for the marker.
      const seq = drained + 1;
      map.store64n(offset + H.reserved, seq);
      const details = { lost: overflow };
      events.push(ringEvent(node, incarnation, seq, monotonicNs(), Date.now(), 'log.overflow', null, details, JSON.stringify(details)));
      drained = seq;
    }
    // Empty, but seqs carry on: anything a not-quite-dead writer still publishes gets a
    // fresh seq instead of overwriting or duplicating what we just returned.
    map.store64n(offset + H.drained, drained);
    return { events, lost, overflow };
  }

  private checkHeader(): void {
    const capacity = checkHeader(this.g.map, this.g.offset, this.g.bytes);
    if (capacity !== this.g.capacity) {
      throw new Error(`event ring at ${this.g.offset} has ${capacity} slots; this reader expects ${this.g.capacity}`);
    }
  }

  /**
   * Copies the publish words for seqs drained+1 .. drained+n into publishWords and,
   * for the published prefix (or all n slots if `all`), the slot bodies into slotBuf.
   * Returns the length of the published prefix.
   */
  private readPublished(drained: number, n: number, all: boolean): number {
    const { capacity, publishAt, slotsAt } = this.g;
    const start = drained % capacity; // slot index of seq drained + 1
    const first = Math.min(n, capacity - start);
    this.copy(publishAt + start * 4, this.publishBuf, 0, first * 4);
    if (n > first) this.copy(publishAt, this.publishBuf, first * 4, (n - first) * 4);
    let k = 0;
    while (k < n && this.publishWords[k] === (drained + 1 + k) >>> 0) k++;
    const bodies = all ? n : k;
    if (bodies === 0) return k;
    // The native read ends with an acquire fence, so these copies, made after we saw
    // the publish words, see every byte the writers wrote before publishing.
    const firstBodies = Math.min(bodies, capacity - start);
    this.copy(slotsAt + start * SLOT_BYTES, this.slotBuf, 0, firstBodies * SLOT_BYTES);
    if (bodies > firstBodies) this.copy(slotsAt, this.slotBuf, firstBodies * SLOT_BYTES, (bodies - firstBodies) * SLOT_BYTES);
    return k;
  }

  private copy(from: number, into: Uint8Array, at: number, length: number): void {
    const failed = this.g.map.read(from, into.subarray(at, at + length));
    if (failed > 0) throw new Error(`event ring at ${this.g.offset} is in failed memory (${failed} bytes)`);
  }

  /**
   * Decodes slotBuf entry i, the body of `seq` (the slot repeats its seq for GSM
   * viewers). GSM is shared with every node, so a slot may have been scribbled on:
   * lengths are clamped to the slot and details that are not JSON are kept as text.
   */
  private decodeSlot(i: number, seq: number, node: number, incarnation: number): RingEvent {
    const v = this.slotView;
    const b = this.slotBuf;
    const base = i * SLOT_BYTES;
    const end = base + SLOT_BYTES;
    const detailsChars = v.getUint32(base + 24, true);
    const objectBytes = b[base + 29];
    let at = base + SLOT_HEAD_BYTES;
    const kindEnd = Math.min(at + b[base + 28], end);
    const kind = decoder.decode(b.subarray(at, kindEnd));
    at = kindEnd;
    let object: string | null = null;
    if (objectBytes !== NULL_OBJECT) {
      const objectEnd = Math.min(at + objectBytes, end);
      object = decoder.decode(b.subarray(at, objectEnd));
      at = objectEnd;
    }
    let json = decoder.decode(b.subarray(at, Math.min(at + v.getUint16(base + 30, true), end)));
    let details: unknown;
    if (detailsChars !== 0) {
      const t: TruncatedDetails = { truncated: true, length: detailsChars, partial: json };
      details = t;
      json = JSON.stringify(t);
    } else {
      try {
        details = JSON.parse(json);
      } catch {
        details = { corrupt: 'details in the ring slot are not JSON', text: json };
        json = JSON.stringify(details);
      }
    }
    return ringEvent(node, incarnation, seq, v.getFloat64(base + 8, true), v.getFloat64(base + 16, true), kind, object, details, json);
  }

  /**
   * Writes a `log.overflow` event for the events writers dropped, into the slot after
   * the last one reserved, treating slots up to `freeUpTo` as free (we hold them).
   */
  private writeOverflowMarker(freeUpTo: number): boolean {
    const { map, offset, capacity } = this.g;
    if (map.load32(offset + H.overflow) === 0) return false;
    const seq = reserveSeq(map, offset, capacity, freeUpTo);
    if (seq === 0) return false;
    const lost = map.xchg32(offset + H.overflow, 0);
    writeSlot(this.g, this.enc, seq, 'log.overflow', null, JSON.stringify({ lost }));
    return true;
  }
}

/** Drained events are plain objects: they go to SQLite, over IPC and into postMessage as they are. */
function ringEvent(
  node: number, incarnation: number, seq: number, clusterTimeNs: number, wallTimeMs: number,
  kind: string, object: string | null, details: unknown, detailsJson: string,
): RingEvent {
  return { node, incarnation, seq, clusterTimeNs, wallTimeMs, kind, object, details, detailsJson };
}
