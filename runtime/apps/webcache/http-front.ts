// The Web server of one node: real HTTP/1.1 over a static directory, with the
// file bytes coming from the FileCache when it has them (any mode) and from the
// disk otherwise. What a client sees is the same in every mode except speed.
//
// Changed files (cache-api.ts): every request stats the file and looks the cache
// up with that stamp, so a cached entry of an older version is a miss. A file read
// from disk is read through one descriptor whose stamp is taken before and after
// the read: if it changed in between, the read is retried, never cached or served
// as a mix of two versions.
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mime from 'mime-types';
import type { FileCache, FileStamp } from './cache-api';
import { sameStamp } from './lru-cache';
import { resolveSitePath } from './site-path';

export interface FrontEndOptions {
  /** The site's real root (site-path.ts siteRoot). */
  root: string;
  cache: FileCache;
  /** Files larger than this are streamed from disk and never cached (they fit no contribution). */
  wholeFileLimit: number;
  /** A request that failed inside the server (500): logged by the app. */
  onError?(err: unknown, url: string): void;
  /** Called as each request arrives (the app's request counter). */
  onRequest?(): void;
}

export interface FrontEndCounts {
  requests: number;
  hits: number;
  misses: number;
  /** Served straight from disk (too large for the cache). */
  streamed: number;
  notModified: number;
  /** Reads that saw the file change under them and were retried. */
  rereads: number;
  /** Cache lookups that threw (a failed cache): served from disk instead. */
  cacheFailures: number;
  errors: number;
}

export interface FrontEnd {
  readonly url: string;
  readonly port: number;
  counts(): FrontEndCounts;
  close(): Promise<void>;
}

const READ_ATTEMPTS = 3;

export const stampOf = (s: { size: number; mtimeMs: number; ino: number }): FileStamp => ({ size: s.size, mtimeMs: s.mtimeMs, ino: s.ino });

/** A strong validator of one version of a file: inode, size and mtime (µs). */
export function etagOf(s: FileStamp): string {
  return `"${s.ino.toString(36)}-${s.size.toString(36)}-${Math.round(s.mtimeMs * 1000).toString(36)}"`;
}

/** If-None-Match (RFC 9110 §13.1.2): weak comparison, `*` matches any current file. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => bare(t) === bare(etag));
}

export type RangeResult = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * One byte range (RFC 9110 §14): null means "send the whole file" (no Range, a
 * syntactically invalid one, or several ranges, which a server may ignore).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * Files up to this size are read with direct calls. From the page cache that is
 * tens of microseconds; through the thread pool it is five round trips (open,
 * stat, read, stat, close), each a wait for a pool thread and the event loop,
 * which on a busy machine took milliseconds per miss.
 */
const DIRECT_READ_MAX = 64 * 1024;

/** The whole file and the stamp of exactly the version read, or null if it kept changing. */
async function readWhole(file: string, expectedSize: number): Promise<{ bytes: Buffer; stamp: FileStamp } | null> {
  if (expectedSize <= DIRECT_READ_MAX) {
    const direct = readWholeDirect(file);
    if (direct !== 'grew') return direct;
  }
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const fh = await open(file, 'r');
    try {
      const before = stampOf(await fh.stat());
      const bytes = Buffer.allocUnsafe(before.size);
      let got = 0;
      while (got < bytes.length) {
        const { bytesRead } = await fh.read(bytes, got, bytes.length - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const after = stampOf(await fh.stat());
      if (got === before.size && sameStamp(before, after)) return { bytes, stamp: before };
    } finally {
      await fh.close();
    }
  }
  return null;
}

/** readWhole with direct calls, for small files; 'grew' if the file is no longer small. */
function readWholeDirect(file: string): { bytes: Buffer; stamp: FileStamp } | null | 'grew' {
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    const fd = openSync(file, 'r');
    try {
      const before = stampOf(fstatSync(fd));
      if (before.size > DIRECT_READ_MAX) return 'grew';
      const bytes = Buffer.allocUnsafe(before.size);
      let got = 0;
      while (got < bytes.length) {
        const n = readSync(fd, bytes, got, bytes.length - got, got);
        if (n === 0) break;
        got += n;
      }
      if (got === before.size && sameStamp(before, stampOf(fstatSync(fd)))) return { bytes, stamp: before };
    } finally {
      closeSync(fd);
    }
  }
  return null;
}

/**
 * Streams [start, end] of an open file. If the file shrank meanwhile, fewer bytes
 * than Content-Length exist: the connection is cut so the client sees a failed
 * transfer, not a short body it could take for the whole file.
 */
async function streamRange(fh: FileHandle, start: number, end: number, res: ServerResponse): Promise<void> {
  let sent = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      done(sent === end - start + 1 ? null : new Error(`file changed while streaming (${sent} of ${end - start + 1} bytes)`));
    },
  });
  try {
    await pipeline(fh.createReadStream({ start, end, autoClose: true }), counted, res);
  } catch {
    res.destroy();
  } finally {
    await fh.close().catch(() => undefined);
  }
}

function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) {
  const body = Buffer.from(text + '\n');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...extra });
  res.end(body);
}

export async function startFrontEnd(opts: FrontEndOptions, port = 0): Promise<FrontEnd> {
  const { root, cache, wholeFileLimit } = opts;
  const counts: FrontEndCounts = { requests: 0, hits: 0, misses: 0, streamed: 0, notModified: 0, rereads: 0, cacheFailures: 0, errors: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counts.requests++;
    opts.onRequest?.();
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    const where = resolveSitePath(root, req.url ?? '');
    if (!where.ok) return sendText(res, where.status, where.status === 404 ? 'not found' : `bad path: ${where.reason}`);
    let st;
    try {
      // Synchronous: see resolveSitePath.
      st = statSync(where.file);
    } catch {
      return sendText(res, 404, 'not found');
    }
    if (!st.isFile()) return sendText(res, 404, 'not found');
    let stamp = stampOf(st);
    if (noneMatch(req.headers['if-none-match'], etagOf(stamp))) {
      counts.notModified++;
      res.writeHead(304, { ETag: etagOf(stamp), 'Last-Modified': new Date(stamp.mtimeMs).toUTCString() });
      return void res.end();
    }

    let body: Uint8Array | null = null;
    let source: 'hit' | 'miss' | 'bypass' = 'bypass';
    let large: FileHandle | null = null;
    let caching: Promise<void> | null = null;
    if (req.method === 'GET' && stamp.size > wholeFileLimit) {
      // Headers and bytes from one descriptor: one version even if the path is replaced.
      large = await open(where.file, 'r');
      stamp = stampOf(await large.stat());
    } else if (req.method === 'GET') {
      try {
        body = await cache.get(where.key, stamp);
      } catch (err) {
        counts.cacheFailures++;
        opts.onError?.(err, req.url ?? '');
      }
      source = body ? 'hit' : 'miss';
      if (!body) {
        const read = await readWhole(where.file, stamp.size);
        if (!read) return sendText(res, 503, 'the file keeps changing; try again', { 'Retry-After': '1' });
        if (!sameStamp(read.stamp, stamp)) counts.rereads++;
        ({ bytes: body, stamp } = read);
        // Cached while the answer goes out, not before: a put may wait for a
        // chain mutex or a recovery (after one, every file a dead node cached is
        // a miss on every node), and the client's bytes are already read.
        caching = cache.put(where.key, stamp, read.bytes).catch((err: unknown) => {
          counts.cacheFailures++;
          opts.onError?.(err, req.url ?? '');
        });
      }
    }
    if (req.method === 'GET') counts[source === 'hit' ? 'hits' : source === 'miss' ? 'misses' : 'streamed']++;

    const etag = etagOf(stamp);
    const headers: Record<string, string | number> = {
      'Content-Type': mime.contentType(path.extname(where.file)) || 'application/octet-stream',
      ETag: etag,
      'Last-Modified': new Date(stamp.mtimeMs).toUTCString(),
      'Accept-Ranges': 'bytes',
      'X-Cache': source,
    };
    // If-Range: the range only applies to the version the client already has part of.
    const ifRange = req.headers['if-range'];
    const range = ifRange && ifRange !== etag ? null : parseRange(req.headers.range, stamp.size);
    if (range === 'unsatisfiable') {
      await large?.close();
      return sendText(res, 416, 'range not satisfiable', { 'Content-Range': `bytes */${stamp.size}` });
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : stamp.size - 1;
    headers['Content-Length'] = stamp.size === 0 ? 0 : end - start + 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${stamp.size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (body) {
      res.end(body.subarray(start, end + 1));
      return void (await caching);
    }
    if (!large || stamp.size === 0) {
      await large?.close();
      return void res.end();
    }
    await streamRange(large, start, end, res);
  }

  const server: Server = createServer({ keepAliveTimeout: 5000, requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      counts.errors++;
      opts.onError?.(err, req.url ?? '');
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    counts: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
