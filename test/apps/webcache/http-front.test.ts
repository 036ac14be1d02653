import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFrontEnd, type FrontEnd } from '../../../runtime/apps/webcache/http-front';
import { LruFileCache, NoFileCache } from '../../../runtime/apps/webcache/lru-cache';
import { siteRoot } from '../../../runtime/apps/webcache/site-path';
import { rawRequest } from '../../helpers/http';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-SITE';
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff));

describe('the Web cache front end (real HTTP over a static directory)', () => {
  let dir: string;
  let site: string;
  let front: FrontEnd;
  let off: FrontEnd;
  const files: Record<string, Buffer> = {};
  const get = (target: string, headers?: Record<string, string>, method?: string) => rawRequest(front.port, target, { headers, method });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mcs-webcache-'));
    site = path.join(dir, 'site');
    mkdirSync(path.join(site, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'secret.txt'), SECRET);
    const put = (rel: string, b: Buffer) => {
      files[rel] = b;
      writeFileSync(path.join(site, rel), b);
    };
    put('index.html', Buffer.from('<!doctype html><title>home</title>\n'));
    put('style.css', Buffer.from('body { color: red }\n'));
    put('logo.png', bytes(5000, 1));
    put('blob.unknownext', bytes(100, 2));
    put('sub/page.html', Buffer.from('<p>sub</p>\n'));
    put('empty.txt', Buffer.alloc(0));
    put('large.bin', bytes(300_000, 3));
    // Above the front's direct-read size (64 KiB), below the cache's whole-file limit.
    put('mid.bin', bytes(100_000, 4));
    symlinkSync(path.join(dir, 'secret.txt'), path.join(site, 'escape.txt'));
    symlinkSync(path.join(site, 'logo.png'), path.join(site, 'alias.png'));
    const root = await siteRoot(site);
    front = await startFrontEnd({ root, cache: new LruFileCache(200_000), wholeFileLimit: 200_000 });
    off = await startFrontEnd({ root, cache: new NoFileCache(), wholeFileLimit: 1 << 20 });
  });
  after(async () => {
    await front?.close();
    await off?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves each file byte for byte with its Content-Length, Content-Type and ETag, from disk first and from the cache after', async () => {
    const first = await get('/logo.png');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, files['logo.png']);
    assert.equal(first.headers['content-length'], '5000');
    assert.equal(first.headers['content-type'], 'image/png');
    assert.equal(first.headers['accept-ranges'], 'bytes');
    assert.match(first.headers.etag!, /^"[0-9a-z]+-[0-9a-z]+-[0-9a-z]+"$/);
    assert.equal(first.headers['x-cache'], 'miss');
    const second = await get('/logo.png');
    assert.equal(second.headers['x-cache'], 'hit');
    assert.deepEqual(second.body, files['logo.png']);
    assert.equal(second.headers.etag, first.headers.etag);
    assert.equal((await get('/style.css')).headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await get('/blob.unknownext')).headers['content-type'], 'application/octet-stream');
    const home = await get('/');
    assert.equal(home.headers['content-type'], 'text/html; charset=utf-8');
    assert.deepEqual(home.body, files['index.html']);
    assert.deepEqual((await get('/sub/page.html?x=1#frag')).body, files['sub/page.html']);
    for (const cache of ['miss', 'hit']) {
      const mid = await get('/mid.bin');
      assert.equal(mid.headers['x-cache'], cache);
      assert.deepEqual(mid.body, files['mid.bin']);
    }
    const empty = await get('/empty.txt');
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-length'], '0');
    assert.equal(empty.body.length, 0);
  });

  it('answers HEAD with the GET headers and no body', async () => {
    const h = await get('/logo.png', {}, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-length'], '5000');
    assert.equal(h.headers['content-type'], 'image/png');
    assert.equal(h.body.length, 0);
  });

  it('answers If-None-Match with 304 for the current version only (weak, listed and * forms)', async () => {
    const { etag } = (await get('/style.css')).headers;
    for (const inm of [etag!, `W/${etag}`, `"other", ${etag}`, '*']) {
      const r = await get('/style.css', { 'If-None-Match': inm });
      assert.equal(r.status, 304, inm);
      assert.equal(r.body.length, 0);
      assert.equal(r.headers.etag, etag);
    }
    assert.equal((await get('/style.css', { 'If-None-Match': '"stale"' })).status, 200);
  });

  it('serves one byte range with 206, ignores several or malformed ones, and answers 416 when none is satisfiable', async () => {
    const png = files['logo.png']!;
    const cases: [string, number, number][] = [
      ['bytes=0-9', 0, 9],
      ['bytes=4990-', 4990, 4999],
      ['bytes=-5', 4995, 4999],
      ['bytes=100-999999', 100, 4999],
      ['bytes=-999999', 0, 4999],
    ];
    for (const [range, start, end] of cases) {
      const r = await get('/logo.png', { Range: range });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers['content-range'], `bytes ${start}-${end}/5000`);
      assert.equal(r.headers['content-length'], String(end - start + 1));
      assert.deepEqual(r.body, png.subarray(start, end + 1), range);
    }
    for (const range of ['bytes=0-1,5-6', 'bytes=abc', 'items=0-1', 'bytes=9-3']) {
      const r = await get('/logo.png', { Range: range });
      assert.equal(r.status, 200, range);
      assert.deepEqual(r.body, png);
    }
    for (const range of ['bytes=5000-', 'bytes=9999-10000', 'bytes=-0']) {
      const r = await get('/logo.png', { Range: range });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers['content-range'], 'bytes */5000');
    }
    assert.equal((await get('/empty.txt', { Range: 'bytes=0-' })).status, 416);
    const etag = (await get('/logo.png')).headers.etag!;
    assert.equal((await get('/logo.png', { Range: 'bytes=0-9', 'If-Range': etag })).status, 206);
    assert.equal((await get('/logo.png', { Range: 'bytes=0-9', 'If-Range': '"older"' })).status, 200);
    const head = await get('/logo.png', { Range: 'bytes=0-9' }, 'HEAD');
    assert.equal(head.status, 206);
    assert.equal(head.headers['content-length'], '10');
  });

  it('answers 404 for missing files and directories, and 405 for methods other than GET and HEAD', async () => {
    assert.equal((await get('/nope.html')).status, 404);
    assert.equal((await get('/sub')).status, 404);
    assert.equal((await get('/sub/nope/')).status, 404);
    const post = await get('/logo.png', {}, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('streams a file larger than the cache from disk, whole or in a range, and never caches it', async () => {
    const big = files['large.bin']!;
    for (let i = 0; i < 2; i++) {
      const r = await get('/large.bin');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-cache'], 'bypass');
      assert.equal(r.headers['content-length'], String(big.length));
      assert.deepEqual(r.body, big);
    }
    const part = await get('/large.bin', { Range: 'bytes=123456-200000' });
    assert.equal(part.status, 206);
    assert.deepEqual(part.body, big.subarray(123456, 200001));
  });

  it('refuses every encoded form of path traversal and never serves a byte from outside the site', async () => {
    const attacks = [
      '/../secret.txt',
      '/sub/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/.%2e/secret.txt',
      '/..%2fsecret.txt',
      '/..%2Fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/sub\\..\\..\\secret.txt',
      '/%252e%252e/secret.txt',
      '/%252e%252e%252fsecret.txt',
      '/%25%32%65%25%32%65/secret.txt',
      '/secret.txt%00.html',
      '/index.html%00',
      '//secret.txt',
      `/${dir}/secret.txt`.replace('//', '/'),
      `/%2f${encodeURIComponent(dir.slice(1))}%2fsecret.txt`,
      '/%c0%ae%c0%ae/secret.txt',
      '/./index.html',
      'http://127.0.0.1/../secret.txt',
      '*',
      '/escape.txt',
    ];
    for (const target of attacks) {
      const r = await get(target);
      assert.notEqual(r.status, 200, target);
      assert.ok(r.status === 400 || r.status === 404, `${target}: ${r.status}`);
      assert.ok(!r.body.toString('latin1').includes(SECRET), target);
    }
    // A symlink that stays inside the site is followed, and shares the target's cache entry.
    const alias = await get('/alias.png');
    assert.equal(alias.status, 200);
    assert.deepEqual(alias.body, files['logo.png']);
    assert.equal(alias.headers['x-cache'], 'hit');
  });

  it('never serves a cached copy of a file that changed on disk: the stamp differs, so it is a miss with a new ETag', async () => {
    const file = path.join(site, 'sub/page.html');
    const v1 = await get('/sub/page.html');
    assert.equal((await get('/sub/page.html')).headers['x-cache'], 'hit');
    // Same size, different bytes and mtime: only the stamp tells the versions apart.
    const v2bytes = Buffer.from('<p>SUB</p>\n');
    writeFileSync(file, v2bytes);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const v2 = await get('/sub/page.html');
    assert.equal(v2.headers['x-cache'], 'miss');
    assert.deepEqual(v2.body, v2bytes);
    assert.notEqual(v2.headers.etag, v1.headers.etag);
    assert.equal((await get('/sub/page.html', { 'If-None-Match': v1.headers.etag! })).status, 200);
    const v2again = await get('/sub/page.html');
    assert.equal(v2again.headers['x-cache'], 'hit');
    assert.deepEqual(v2again.body, v2bytes);
    // Replaced by a new inode (an atomic rename, as deploy tools do).
    const v3bytes = Buffer.from('<p>third version, longer</p>\n');
    writeFileSync(file + '.new', v3bytes);
    const { renameSync } = await import('node:fs');
    renameSync(file + '.new', file);
    const v3 = await get('/sub/page.html');
    assert.deepEqual(v3.body, v3bytes);
    assert.equal(v3.headers['content-length'], String(v3bytes.length));
  });

  it('without a cache (off) serves the same bytes, every request from disk', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await rawRequest(off.port, '/logo.png');
      assert.equal(r.headers['x-cache'], 'miss');
      assert.deepEqual(r.body, files['logo.png']);
    }
  });

});

describe('the shared-nothing LRU', () => {
  it('evicts the least recently used entries to stay within its byte budget and declines files larger than it', async () => {
    const c = new LruFileCache(100);
    const s = (n: number) => ({ size: n, mtimeMs: 1, ino: n });
    await c.put('a', s(40), bytes(40, 1));
    await c.put('b', s(40), bytes(40, 2));
    assert.ok(await c.get('a', s(40)));
    await c.put('c', s(40), bytes(40, 3));
    assert.equal(await c.get('b', s(40)), null);
    assert.deepEqual(Buffer.from((await c.get('a', s(40)))!), bytes(40, 1));
    await c.put('huge', s(101), bytes(101, 4));
    assert.equal(await c.get('huge', s(101)), null);
    const st = c.stats();
    assert.equal(st.evictions, 1);
    assert.equal(st.files, 2);
    assert.equal(st.bytesCached, 80);
    assert.equal(await c.get('a', { size: 40, mtimeMs: 2, ino: 40 }), null);
  });
});
