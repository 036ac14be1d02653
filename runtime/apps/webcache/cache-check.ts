// The global Web cache's consistency check, run from outside the nodes (tests,
// the chaos harness) over the supervisor's view of GSM. With no recovery pending
// it holds each chain's mutex while it walks the chain and checks: the table is
// where the component record says, every chain mutex is a live mutex, every
// entry lies in a live member's cache area, is well-formed and on the chain its
// key hashes to, no chain loops, no file is cached twice in one version, no
// failed instance still holds a reference, and (given `verify`) every cached
// byte equals the file on disk.
import type { Gsm } from '../../gsm/gsm';
import { MAX_NODES, ObjectType } from '../../gsm/layout';
import { LockCode } from '../../gsm/native';
import { MUTEX_WORD } from '../../objects/mutex';
import type { Namespace } from '../../objects/namespace';
import { C, findComponent, viewComponent } from '../../sdk/component-record';
import type { FileStamp } from './cache-api';
import { ENTRY, MASTER, PROBE_BYTES, dataOffsetOf, decodeHeader, hashKey, headerProblem, chainMutexId } from './cache-layout';
import { WEBCACHE_COMPONENT } from './global-cache';

export interface CacheCheck {
  /** A recovery is pending or running: structures are being rebuilt, nothing was checked. */
  recovering: boolean;
  members: number[];
  chains: number;
  entries: number;
  problems: string[];
  /** With recovering: the reads of failed memory that made this check count a failure. */
  undetected?: string[];
}

const dec = new TextDecoder();

export function checkCacheConsistency(
  gsm: Gsm,
  ns: Namespace,
  opts: { component?: string; lockTimeoutMs?: number; verify?: (key: string, stamp: FileStamp, bytes: Uint8Array) => boolean } = {},
): CacheCheck {
  const map = gsm.map;
  const rec = findComponent(map, gsm.layout, opts.component ?? WEBCACHE_COMPONENT);
  const problems: string[] = [];
  /** Problems that are reads of failed memory. */
  let latent = 0;
  const out: CacheCheck = { recovering: false, members: [], chains: 0, entries: 0, problems };
  if (!rec) return { ...out, problems: ['no webcache component record'] };
  const view = viewComponent(rec, map, gsm.layout);
  out.members = view.members;
  if (view.recovering || view.masterAreaId === null) return { ...out, recovering: true };
  // A memory failure after the last recovery completed: the instances detect it
  // (within their loop's period) and recover; until then the structures may
  // still point into the failed range, and that is the recovery's to repair.
  if (gsm.memoryFailures() !== map.load64n(rec.base + C.memoryFailures)) return { ...out, recovering: true };
  let table;
  try {
    table = ns.resolve(view.masterAreaId, ObjectType.Section);
  } catch (err) {
    return { ...out, problems: [`master area ${view.masterAreaId}: ${(err as Error).message}`] };
  }
  if (table.ownerNode !== view.master) problems.push(`master area housed by node ${table.ownerNode}, master is ${view.master}`);
  const base = table.dataOffset;
  const buckets = map.load32(base + MASTER.buckets);
  out.chains = buckets;
  const areas = new Map<number, { offset: number; bytes: number }>();
  for (const n of view.members) {
    const at = base + MASTER.areas + n * MASTER.areaBytes;
    const id = `${map.load32(at)}.${map.load32(at + 4)}`;
    if (map.load32(at + 4) === 0) continue; // its cache memory failed: it caches nothing
    try {
      const a = ns.resolve(id, ObjectType.Section);
      if (a.ownerNode !== n) problems.push(`cache area ${id} of node ${n} is housed by node ${a.ownerNode}`);
      areas.set(n, { offset: a.dataOffset, bytes: a.dataBytes });
    } catch (err) {
      problems.push(`cache area ${id} of member ${n}: ${(err as Error).message}`);
    }
  }
  const areaOf = (at: number) => [...areas.entries()].find(([, a]) => at >= a.offset && at < a.offset + a.bytes);
  const seen = new Set<string>();
  for (let b = 0; b < buckets; b++) {
    const h = base + MASTER.heads + MASTER.headBytes * b;
    const mid = chainMutexId(map, base, b);
    let mutex;
    try {
      mutex = ns.resolve(mid, ObjectType.Mutex);
    } catch (err) {
      problems.push(`chain ${b}: mutex ${mid}: ${(err as Error).message}`);
      continue;
    }
    // Abandoned and not yet seen by the cache: a failure it has still to recover from.
    if (map.load32(mutex.dataOffset) & MUTEX_WORD.FUTEX_OWNER_DIED) continue;
    const code = map.mutexLock(mutex.dataOffset, opts.lockTimeoutMs ?? 2000);
    if (code === LockCode.TIMED_OUT) {
      problems.push(`chain ${b}: mutex ${mid} not free within ${opts.lockTimeoutMs ?? 2000} ms (wedged?)`);
      continue;
    }
    if (code !== LockCode.OK && code !== LockCode.ABANDONED) {
      problems.push(`chain ${b}: mutex ${mid}: lock code ${code}`);
      continue;
    }
    try {
      if (code === LockCode.ABANDONED) continue; // a failure not yet detected: the cache will recover it
      let at = map.load64n(h + 8);
      for (let steps = 0; at !== 0; steps++) {
        if (steps > 100_000) {
          problems.push(`chain ${b} loops`);
          break;
        }
        const found = areaOf(at);
        if (!found) {
          problems.push(`chain ${b}: entry at ${at} is in no live member's cache area`);
          break;
        }
        const [owner, area] = found;
        const rel = at - area.offset;
        const probe = new Uint8Array(Math.min(PROBE_BYTES, area.bytes - rel));
        if (map.read(at, probe)) {
          problems.push(`chain ${b}: entry at ${at} is failed memory`);
          latent++;
          break;
        }
        const e = decodeHeader(probe);
        const bad = headerProblem(e, rel, area.bytes, b, buckets);
        if (bad) {
          problems.push(`chain ${b}: entry at ${at}: ${bad}`);
          break;
        }
        out.entries++;
        if (e.owner !== owner) problems.push(`chain ${b}: entry at ${at} says owner ${e.owner}, lies in node ${owner}'s area`);
        const keyBytes = new Uint8Array(e.keyLength);
        map.read(at + ENTRY.key, keyBytes);
        const key = dec.decode(keyBytes);
        if (hashKey(keyBytes) % buckets !== b) problems.push(`chain ${b}: ${key} hashes to chain ${hashKey(keyBytes) % buckets}`);
        const version = `${key}|${e.size}|${e.mtimeMs}|${e.ino}`;
        if (seen.has(version)) problems.push(`chain ${b}: ${key} is cached twice in one version`);
        seen.add(version);
        for (let n = 0; n < MAX_NODES; n++) {
          const refs = map.load32(at + ENTRY.refs + 4 * n);
          if (refs && !view.members.includes(n)) problems.push(`chain ${b}: ${key} still has ${refs} reference(s) of failed instance ${n}`);
        }
        if (opts.verify) {
          const data = new Uint8Array(e.dataLength);
          if (map.read(at + dataOffsetOf(e.keyLength), data)) {
            problems.push(`chain ${b}: ${key}: data in failed memory`);
            latent++;
          }
          else if (!opts.verify(key, { size: e.size, mtimeMs: e.mtimeMs, ino: e.ino }, data)) problems.push(`chain ${b}: ${key}: cached bytes differ from the file`);
        }
        at = e.next;
      }
    } finally {
      // Abandoned while we waited: not ours to repair. Unlocked without
      // markConsistent it becomes NOT_RECOVERABLE, which the cache's next locker
      // reports as a failure and its recovery replaces.
      map.mutexUnlock(mutex.dataOffset);
    }
  }
  // Failed memory nobody had touched yet is a failure not yet detected, not an
  // inconsistency: this read counted it (paper §7.2), so the instances now see
  // the memory-failure count move and recover. The caller asks again; if the
  // recovery leaves failed memory on a chain, it is still there afterwards.
  if (latent > 0 && latent === problems.length) return { ...out, recovering: true, problems: [], undetected: problems };
  return out;
}
