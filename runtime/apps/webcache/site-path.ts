// From a request target to a file under the site root, refusing every way out of
// it. The rule is to refuse rather than normalise: a path that needs fixing
// (dot segments, empty segments, encoded slashes or backslashes, a '%' left after
// decoding, NUL) is an attack or a broken client, and serving "what it probably
// meant" is how traversal bugs are born. Symlinks are followed only if they land
// inside the root (checked on the real path, per request: links can change).
import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';

export type SitePath =
  | { ok: true; key: string; file: string }
  | { ok: false; status: 400 | 404; reason: string };

const refuse = (reason: string): SitePath => ({ ok: false, status: 400, reason });

/**
 * The site-relative key of a request target (origin-form, query stripped), or why
 * it is refused. Pure: no file-system access.
 */
export function siteKey(target: string): { key: string } | { refused: string } {
  const q = target.search(/[?#]/);
  const raw = q === -1 ? target : target.slice(0, q);
  if (!raw.startsWith('/')) return { refused: 'not an origin-form path' };
  // Encoded separators would change how the path splits into segments.
  if (/%2f|%5c|%00/i.test(raw)) return { refused: 'encoded separator or NUL' };
  if (raw.includes('\\')) return { refused: 'backslash' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { refused: 'malformed percent-encoding' };
  }
  // What is left after one decoding must be plain: a '%' means double encoding.
  if (/[%\\\0]/.test(decoded) || /[\x00-\x1f\x7f]/.test(decoded)) return { refused: 'double encoding or control character' };
  const segments = decoded.slice(1).split('/');
  if (segments.length === 1 && segments[0] === '') return { key: 'index.html' };
  if (segments[segments.length - 1] === '') segments[segments.length - 1] = 'index.html';
  for (const s of segments) {
    if (s === '') return { refused: 'empty segment (absolute or doubled slash)' };
    if (s === '.' || s === '..') return { refused: 'dot segment' };
  }
  return { key: segments.join('/') };
}

/** The real root of a site, resolved once at start (the root itself may be a symlink). */
export async function siteRoot(dir: string): Promise<string> {
  return realpath(path.resolve(dir));
}

/**
 * Synchronous on purpose, like the request path's stat (http-front.ts): both are
 * metadata lookups the kernel answers from its dentry cache in microseconds, and
 * the asynchronous versions cost a round trip through libuv's thread pool that,
 * on a busy machine (every node's pool competing for two cores), took 5-10 ms
 * per call in the recovery benchmark.
 */
export function resolveSitePath(realRoot: string, target: string): SitePath {
  const k = siteKey(target);
  if ('refused' in k) return refuse(k.refused);
  let real: string;
  try {
    real = realpathSync.native(path.join(realRoot, k.key));
  } catch {
    return { ok: false, status: 404, reason: 'no such file' };
  }
  const rel = path.relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return { ok: false, status: 404, reason: 'outside the site' };
  // The cache key is the real path: two links to one file share one entry.
  return { ok: true, key: rel.split(path.sep).join('/'), file: real };
}
