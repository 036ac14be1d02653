// The Web cache's `local` mode: the global cache's code over process-local memory
// and mutexes (paper Figure 7's "local resources" bar), in this process.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CacheComponent } from '../../../runtime/apps/webcache/global-cache';
import { masterAreaBytes } from '../../../runtime/apps/webcache/cache-layout';
import { localSpace } from '../../../runtime/sdk';
import { SYNTHETIC_FILES, syntheticFile } from '../../fixtures/apps/synthetic-files';

async function localCache(bytes: number) {
  const c = new CacheComponent(localSpace({ node: 0, bytes: bytes + masterAreaBytes(16) + 4096 }), { bytes, buckets: 16 });
  assert.equal(await c.start(), 'OK');
  return c;
}

describe('the Web cache over local resources', () => {
  it('returns exactly what was put, misses on another version of the file, and evicts LRU when full', async () => {
    const c = await localCache(128 * 1024);
    assert.equal(c.mode, 'local');
    const f = syntheticFile(3);
    assert.equal(await c.get(f.key, f.stamp), null);
    await c.put(f.key, f.stamp, f.bytes);
    assert.deepEqual(await c.get(f.key, f.stamp), f.bytes);
    assert.equal(await c.get(f.key, { ...f.stamp, mtimeMs: f.stamp.mtimeMs + 1 }), null, 'a changed file is a miss');
    for (let i = 0; i < SYNTHETIC_FILES; i++) {
      const g = syntheticFile(i);
      if (!(await c.get(g.key, g.stamp))) await c.put(g.key, g.stamp, g.bytes);
    }
    const s = c.stats();
    assert.ok(s.evictions > 0, 'the file set is larger than the cache');
    assert.ok(s.bytesCached <= 128 * 1024);
    for (let i = 0; i < SYNTHETIC_FILES; i++) {
      const g = syntheticFile(i);
      const got = await c.get(g.key, g.stamp);
      if (got) assert.deepEqual(got, g.bytes, `${g.key} cached whole`);
    }
    await c.close();
  });

  it('concurrent gets and puts of one process share the chains without deadlock or wrong bytes', async () => {
    const c = await localCache(256 * 1024);
    for (let wave = 0; wave < 4; wave++) {
      const ops = Array.from({ length: 100 }, async (_, k) => {
        const g = syntheticFile(k % 20);
        const got = await c.get(g.key, g.stamp);
        if (got) assert.deepEqual(got, g.bytes);
        else await c.put(g.key, g.stamp, g.bytes);
      });
      await Promise.all(ops);
    }
    assert.ok(c.stats().hits > 0);
    await c.close();
  });
});
