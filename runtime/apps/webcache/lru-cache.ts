// The shared-nothing mode: each node its own LRU of file bytes in process memory,
// with the same byte budget a node contributes in the global mode. Popular files
// end up duplicated in every node's cache, which is exactly what the global cache
// is supposed to beat (paper §4.4, Figure 9 discussion).
import type { CacheStats, FileCache, FileStamp } from './cache-api';

interface Entry {
  stamp: FileStamp;
  bytes: Uint8Array;
}

export const sameStamp = (a: FileStamp, b: FileStamp) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

export class LruFileCache implements FileCache {
  readonly mode = 'shared-nothing' as const;
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly counts = { hits: 0, misses: 0, evictions: 0, fallbacks: 0 };

  constructor(private readonly capacityBytes: number) {}

  async get(key: string, stamp: FileStamp): Promise<Uint8Array | null> {
    const e = this.entries.get(key);
    if (!e || !sameStamp(e.stamp, stamp)) {
      this.counts.misses++;
      return null;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    this.counts.hits++;
    // Entries are never written after put, so handing out the stored bytes is safe.
    return e.bytes;
  }

  async put(key: string, stamp: FileStamp, bytes: Uint8Array): Promise<void> {
    if (bytes.length > this.capacityBytes) return;
    this.remove(key);
    while (this.bytes + bytes.length > this.capacityBytes) {
      const oldest = this.entries.keys().next().value as string;
      this.remove(oldest);
      this.counts.evictions++;
    }
    // A private copy: the caller's buffer may be reused.
    this.entries.set(key, { stamp: { ...stamp }, bytes: Uint8Array.prototype.slice.call(bytes) });
    this.bytes += bytes.length;
  }

  private remove(key: string) {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.bytes.length;
  }

  stats(): CacheStats {
    return { ...this.counts, bytesCached: this.bytes, files: this.entries.size };
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }
}

/** The `off` mode: every request reads the disk (Figure 7's first bar). */
export class NoFileCache implements FileCache {
  readonly mode = 'off' as const;
  private misses = 0;
  async get(): Promise<Uint8Array | null> {
    this.misses++;
    return null;
  }
  async put(): Promise<void> {}
  stats(): CacheStats {
    return { hits: 0, misses: this.misses, evictions: 0, bytesCached: 0, files: 0, fallbacks: 0 };
  }
  async close(): Promise<void> {}
}
