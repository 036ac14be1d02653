import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCampaign, type FaultKind } from '../../bench/chaos/campaign';
import { VerifyingLoad } from '../../bench/chaos/verifying-load';
import type { CacheStats, FileCache, FileStamp } from '../../runtime/apps/webcache/cache-api';
import { startFrontEnd } from '../../runtime/apps/webcache/http-front';
import { siteRoot } from '../../runtime/apps/webcache/site-path';

/** A broken cache: it flips one byte of what it hands back (what a failed GSM read could do). */
class CorruptingCache implements FileCache {
  readonly mode = 'shared-nothing' as const;
  private readonly m = new Map<string, Uint8Array>();
  async get(key: string, _stamp: FileStamp) {
    const b = this.m.get(key);
    if (!b) return null;
    const copy = Uint8Array.from(b);
    copy[0] ^= 0xff;
    return copy;
  }
  async put(key: string, _stamp: FileStamp, bytes: Uint8Array) {
    this.m.set(key, Uint8Array.from(bytes));
  }
  stats(): CacheStats {
    return { hits: 0, misses: 0, evictions: 0, bytesCached: 0, files: 0, fallbacks: 0 };
  }
  async close() {}
}

describe('the fault campaign', () => {
  it('its verifying load catches a server that sends one wrong byte', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcs-chaos-'));
    const files = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}.bin`, bytes: Buffer.alloc(1000 + i, i + 1) }));
    for (const f of files) writeFileSync(path.join(dir, f.path), f.bytes);
    const front = await startFrontEnd({ root: await siteRoot(dir), cache: new CorruptingCache(), wholeFileLimit: 1 << 20 });
    try {
      const load = new VerifyingLoad(() => [front.url], files, { zipf: 0.9, seed: 1, concurrency: 2, boundMs: 5000 });
      load.start();
      await new Promise((r) => setTimeout(r, 500));
      await load.stop();
      assert.ok(load.counts.ok > 0, 'first reads come from disk and are right');
      assert.ok(load.counts.corrupt > 0, 'cached reads are corrupt and must be caught');
      assert.ok(load.violations.some((v) => v.check === 'corrupt'));
    } finally {
      await front.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function campaign(mode: 'shared-nothing' | 'global', faults: number, seed: number, kinds: FaultKind[] = []) {
    const seen: string[] = [];
    const report = await runCampaign({ faults, seed, mode }, (f) => seen.push(`${f.kind}: ${JSON.stringify(f.violations)} ${f.details.join('; ')}`));
    assert.equal(report.faults, faults);
    assert.equal(seen.length, faults);
    assert.deepEqual(report.checks, { corrupt: 0, hang: 0, badStatus: 0, mutex: 0, membership: 0, serving: 0, consistency: 0, master: 0, threads: 0, logGap: 0 }, seen.join('\n'));
    assert.equal(report.violations, 0);
    assert.ok(report.ok > 0, 'traffic was verified');
    for (const k of kinds) assert.ok(report.byKind[k], `the seed draws ${k} (${JSON.stringify(report.byKind)})`);
  }

  it('a short seed-fixed campaign (kills, two at once, during recovery, SIGSTOP, memory failures, restarts) violates no invariant: shared-nothing', () => campaign('shared-nothing', 4, 5));

  it(
    'the same over the global cache, with a worker-thread death and a master kill',
    // Seed 64 draws a revalidation-thread kill, a master kill, a memory failure and
    // two kills at once: after each, a new master with a relocated area, the thread
    // running again, the cache consistent.
    () => campaign('global', 4, 64, ['thread', 'master']),
  );

  it(
    'two nodes killed at once over the global cache, after memory failures in their contributions',
    // Seed 11 draws a memory failure in node 2's contribution, a kill of node 2, a
    // SIGSTOP, then kills 1 and 2 at once: node 2 restarts (twice) into a
    // contribution that was marked failed and must allocate its 4 MB cache area
    // there again.
    () => campaign('global', 4, 11),
  );
});
