// The Web cache's revalidation thread (one per node, a worker thread started
// through AppContext.startThread and kept running by its node): it walks every
// hash chain of the global cache under the chain's global mutex, noting the
// entries this node caches, and after the unlock compares the stamp each was
// cached with to the file on disk. Entries whose file changed or vanished are
// reported to the node's main thread, which takes them off their chain and
// frees their memory (only the owner manages its contribution, §4.1). The stat
// calls run here, off the request path's event loop.
//
// Policy for files that change on disk while cached (cache-api.ts): a request
// never gets an entry whose stamp differs from the file's; this thread makes the
// stale copy's memory free again within one sweep instead of waiting for LRU.
//
// It takes a chain mutex only while no recovery is requested or running, and
// checks that again once it holds it: recovery's master takes every chain mutex
// before it empties the chains, so a sweep never overlaps a rebuild. It only
// reads GSM; if it dies holding a chain mutex, the next locker gets ABANDONED and
// recovery runs (the chain itself is consistent).
import { statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort } from 'node:worker_threads';
import { z } from 'zod';
import type { ThreadContext } from '../../nodes/app-threads';
import type { GlobalMutex } from '../../objects/mutex';
import type { Section } from '../../objects/section';
import { C, findComponent, type ComponentRecord } from '../../sdk/component-record';
import { ENTRY, ENTRY_MAGIC, MASTER, MAX_KEY_BYTES, PROBE_BYTES, decodeHeader, type EntryHeader } from './cache-layout';

export const REVALIDATOR_THREAD = 'webcache.revalidate';

export const RevalidatorData = z.object({
  component: z.string(),
  /** The site's real root directory (keys are paths relative to it). */
  root: z.string(),
  periodMs: z.number().int().min(10).max(60_000),
});
export type RevalidatorData = z.infer<typeof RevalidatorData>;

/** What the thread reports to its node's main thread: entries (absolute offsets) whose file changed. */
export interface StaleReport {
  type: 'webcache.stale';
  entries: { at: number; size: number; mtimeMs: number; ino: number }[];
}

const LOCK_TIMEOUT_MS = 500;
const MAX_CHAIN_STEPS = 1 << 16;
const dec = new TextDecoder();

/** One of this node's entries as a sweep found it on its chain. */
interface Cached {
  at: number;
  h: EntryHeader;
  key: string;
}

export async function run(ctx: ThreadContext): Promise<void> {
  const data = RevalidatorData.parse(ctx.data);
  const gsm = ctx.objects.gsm;
  const mutexes = new Map<string, GlobalMutex>();
  let area: Section | null = null;

  /** Drops the handles of a view a recovery replaced. */
  async function forget(): Promise<void> {
    for (const m of mutexes.values()) await m.close().catch(() => undefined);
    mutexes.clear();
    await area?.close().catch(() => undefined);
    area = null;
  }

  const stillCurrent = (rec: ComponentRecord, R: number) => rec.u32(C.recoveryGeneration) === R && rec.u32(C.completedGeneration) === R;

  /** One sweep over every chain; stops early at the first sign of a recovery. */
  async function sweep(): Promise<void> {
    const rec = findComponent(gsm.map, gsm.layout, data.component);
    if (!rec) return;
    const R = rec.u32(C.recoveryGeneration);
    if (!stillCurrent(rec, R)) return;
    const areaId = `${rec.u32(C.masterAreaSlot)}.${rec.u32(C.masterAreaGeneration)}`;
    if (area?.id !== areaId) {
      await forget();
      area = await ctx.objects.openSection(areaId);
    }
    const master = area;
    const head = new Uint8Array(MASTER.headBytes);
    const count = new Uint8Array(4);
    if (master.read(MASTER.buckets, count)) return;
    const buckets = new DataView(count.buffer).getUint32(0, true);
    if (buckets === 0 || master.size < MASTER.heads + MASTER.headBytes * buckets) return;
    for (let b = 0; b < buckets && !ctx.signal.aborted; b++) {
      if (master.read(MASTER.heads + MASTER.headBytes * b, head)) return;
      const v = new DataView(head.buffer);
      const id = `${v.getUint32(0, true)}.${v.getUint32(4, true)}`;
      let m = mutexes.get(id);
      if (!m) {
        m = await ctx.objects.openMutex(id);
        mutexes.set(id, m);
      }
      const s = m.lockSync(LOCK_TIMEOUT_MS);
      if (s === 'TIMEOUT') continue;
      if (s !== 'OK' && s !== 'ABANDONED') {
        rec.request(R, `chain mutex ${id}: ${s}`);
        return;
      }
      let mine: Cached[];
      try {
        if (s === 'ABANDONED') {
          // As a consistent block does: recovery rebuilds what it guarded.
          rec.request(R, `abandoned mutex ${id}`);
          m.markConsistent();
          return;
        }
        if (!stillCurrent(rec, R)) return;
        mine = ownEntriesOn(b, master);
      } finally {
        m.unlock();
      }
      // The disk is asked after the unlock: a chain mutex is held for a walk of
      // GSM, never for syscalls, or the requests on that chain would wait on them.
      // An entry evicted meanwhile is harmless: the main thread drops only an
      // entry it still has with the reported stamp.
      const stale = mine.filter(changedOnDisk).map(({ at, h }) => ({ at, size: h.size, mtimeMs: h.mtimeMs, ino: h.ino }));
      if (stale.length) parentPort?.postMessage({ type: 'webcache.stale', entries: stale } satisfies StaleReport);
    }
  }

  /** This node's entries on chain `bucket`, with their keys (the caller holds the chain mutex). */
  function ownEntriesOn(bucket: number, master: Section): Cached[] {
    const out: Cached[] = [];
    const word = new Uint8Array(8);
    if (master.read(MASTER.heads + MASTER.headBytes * bucket + 8, word)) return out;
    let at = Number(new DataView(word.buffer).getBigUint64(0, true));
    const probe = new Uint8Array(PROBE_BYTES);
    for (let steps = 0; at !== 0 && steps < MAX_CHAIN_STEPS; steps++) {
      // Bounded reads only: an entry outside the node contributions, or in failed
      // memory, ends the walk (recovery is the main thread's to run).
      if (at < gsm.layout.systemBytes || at + ENTRY.key > gsm.layout.totalBytes || !gsm.isAccessible(at, ENTRY.key)) break;
      const len = Math.min(PROBE_BYTES, gsm.layout.totalBytes - at);
      if (gsm.map.read(at, probe.subarray(0, len))) break;
      const h = decodeHeader(probe);
      if (h.magic !== ENTRY_MAGIC || h.bucket !== bucket || h.keyLength === 0 || h.keyLength > MAX_KEY_BYTES) break;
      if (h.owner === ctx.node) {
        const key = keyOf(at, h, probe.subarray(0, len));
        if (key !== null) out.push({ at, h, key });
      }
      at = h.next;
    }
    return out;
  }

  function keyOf(at: number, h: EntryHeader, probed: Uint8Array): string | null {
    let key = probed.subarray(ENTRY.key, ENTRY.key + h.keyLength);
    if (key.length < h.keyLength) {
      key = new Uint8Array(h.keyLength);
      if (at + ENTRY.key + h.keyLength > gsm.layout.totalBytes || gsm.map.read(at + ENTRY.key, key)) return null;
    }
    return dec.decode(key);
  }

  function changedOnDisk({ h, key }: Cached): boolean {
    // Keys are normalised site paths (site-path.ts); anything else is not ours to judge.
    if (key.startsWith('/') || key.split('/').includes('..')) return false;
    try {
      const st = statSync(path.join(data.root, key));
      return st.size !== h.size || st.mtimeMs !== h.mtimeMs || st.ino !== h.ino;
    } catch {
      return true; // gone from disk
    }
  }

  while (!ctx.signal.aborted) {
    try {
      await sleep(data.periodMs, undefined, { signal: ctx.signal });
    } catch {
      break; // stopping
    }
    try {
      await sweep();
    } catch (err) {
      // An id gone stale under us (a recovery replaced the area or a chain mutex): next sweep.
      ctx.log('webcache.revalidate-error', REVALIDATOR_THREAD, { message: (err as Error).message });
      await forget();
    }
  }
  await forget();
}
