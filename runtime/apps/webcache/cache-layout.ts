// The global Web cache's structures in memory (paper §4.1, Figure 5), shared by
// the cache (global-cache.ts) and its consistency checker (cache-check.ts).
//
// Master area (in the master's contribution, allocated by the SDK):
//   u32 bucket count | areas: per node { u32 slot, u32 generation, u64 bytes }
//   (the id of each member's cache area) | per bucket { u32 mutex slot,
//   u32 mutex generation, u64 head } (the chain's global mutex and first entry).
// Entries (in the caching node's own cache area, one contiguous block per file):
//   header | key | data, linked into their bucket's chain by absolute offsets.
import { MAX_NODES } from '../../gsm/layout';

export const MASTER = {
  buckets: 0,
  areas: 64,
  areaBytes: 16,
  heads: 64 + 16 * MAX_NODES,
  headBytes: 16,
} as const;
export const masterAreaBytes = (buckets: number) => MASTER.heads + MASTER.headBytes * buckets;
/** The id of bucket `bucket`'s chain mutex, as the table at absolute offset `table` names it. */
export const chainMutexId = (mem: { load32(offset: number): number }, table: number, bucket: number) => {
  const at = table + MASTER.heads + MASTER.headBytes * bucket;
  return `${mem.load32(at)}.${mem.load32(at + 4)}`;
};

export const ENTRY = {
  next: 0, // u64 absolute offset of the next entry in the chain (0: end)
  magic: 8,
  keyLength: 12,
  dataLength: 16,
  capacity: 20, // bytes of the whole block
  size: 24, // stamp: f64 size
  mtimeMs: 32, // f64
  ino: 40, // f64
  lastAccess: 48, // u64 ms, written by every node that hits it (the owner's LRU reads it)
  bucket: 56,
  owner: 60,
  /** Per-instance reference counts (paper §4.2): MAX_NODES x u32, each written only by its node. */
  refs: 64,
  key: 128,
} as const;
export const ENTRY_MAGIC = 0x57434531; // 'WCE1'
export const MAX_KEY_BYTES = 1024;
/** Bytes of a chain step's first read: the header and a short key. */
export const PROBE_BYTES = ENTRY.key + 128;

export const align = (v: number, a: number) => Math.ceil(v / a) * a;
export const dataOffsetOf = (keyLength: number) => ENTRY.key + align(keyLength, 8);
export const entryBytes = (keyLength: number, dataLength: number) => align(dataOffsetOf(keyLength) + dataLength, 64);

/** FNV-1a of the key: which chain it lives on. */
export function hashKey(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export interface EntryHeader {
  next: number;
  magic: number;
  keyLength: number;
  dataLength: number;
  capacity: number;
  size: number;
  mtimeMs: number;
  ino: number;
  bucket: number;
  owner: number;
}

export function decodeHeader(buf: Uint8Array): EntryHeader {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    next: Number(v.getBigUint64(ENTRY.next, true)),
    magic: v.getUint32(ENTRY.magic, true),
    keyLength: v.getUint32(ENTRY.keyLength, true),
    dataLength: v.getUint32(ENTRY.dataLength, true),
    capacity: v.getUint32(ENTRY.capacity, true),
    size: v.getFloat64(ENTRY.size, true),
    mtimeMs: v.getFloat64(ENTRY.mtimeMs, true),
    ino: v.getFloat64(ENTRY.ino, true),
    bucket: v.getUint32(ENTRY.bucket, true),
    owner: v.getUint32(ENTRY.owner, true),
  };
}

/** Why a header read from memory cannot be trusted, or null if it is well-formed. */
export function headerProblem(h: EntryHeader, rel: number, regionBytes: number, bucket: number, buckets: number): string | null {
  if (h.magic !== ENTRY_MAGIC) return `bad magic ${h.magic.toString(16)}`;
  if (h.keyLength === 0 || h.keyLength > MAX_KEY_BYTES) return `bad key length ${h.keyLength}`;
  if (h.capacity < entryBytes(h.keyLength, h.dataLength) || rel + h.capacity > regionBytes) return `bad capacity ${h.capacity}`;
  if (h.bucket !== bucket || h.bucket >= buckets) return `on chain ${bucket} but tagged ${h.bucket}`;
  if (h.owner >= MAX_NODES) return `bad owner ${h.owner}`;
  return null;
}
