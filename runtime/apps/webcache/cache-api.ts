// The seam between the Web cache's HTTP front end (one server per node, serving a
// static directory) and the cache behind it. The front end is the same in every
// mode; only the FileCache differs (selected at start):
//   global          the paper's design (§4.1): one cache in GSM shared by every node,
//                   hash chains under global mutexes, built on the McsComponent SDK
//   local           the same code over process-local memory and mutexes on one node
//                   (the paper's "Win32 local resources" bar of Figure 7)
//   shared-nothing  each node its own LRU of the same memory size
//   off             no cache: every request reads the disk
//
// Policy for files that change on disk while cached: the front end stats the file
// on every request and passes the stamp; an entry whose stamp differs is a miss
// (and is replaced), so a changed file is never served from the cache. In global
// mode each node's revalidation thread (revalidator.ts) also frees the memory of
// its stale entries within one sweep, whether or not the file is asked for.

export type CacheMode = 'global' | 'local' | 'shared-nothing' | 'off';

/** What identifies one version of a file on disk. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries evicted to make room (LRU). */
  evictions: number;
  /** Bytes of file data cached by this node (in its own contribution in global mode). */
  bytesCached: number;
  /** Files cached by this node. */
  files: number;
  /** Lookups that met failed memory or a recovery and fell back to the disk. */
  fallbacks: number;
}

export interface FileCache {
  readonly mode: CacheMode;
  /**
   * The cached bytes of `key` (a normalised site-relative path) if an entry with
   * exactly this stamp is cached, copied into local memory: bytes are never handed
   * out while they could still change or fail under the caller. Null on a miss.
   * Must never return bytes that differ from what was put (a failed GSM read is a
   * miss, not data).
   */
  get(key: string, stamp: FileStamp): Promise<Uint8Array | null>;
  /** Offers a file just read from disk for caching; the cache may decline (too big, no room). */
  put(key: string, stamp: FileStamp, bytes: Uint8Array): Promise<void>;
  stats(): CacheStats;
  close(): Promise<void>;
}
