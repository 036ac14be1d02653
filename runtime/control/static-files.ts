// Serves the built renderer so the same console runs in a browser against the
// headless server. Only files under the root are ever served: the path is decoded
// once, resolved, and checked against the root both lexically and after symlinks.
import { createReadStream, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function fileAt(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Resolves a URL path to a file under root, or null (not found / outside the root). */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const realRoot = realpathSync(root);
  let file = path.resolve(realRoot, '.' + path.posix.normalize('/' + decoded));
  if (!inside(realRoot, file)) return null;
  try {
    if (statSync(file).isDirectory()) file = path.join(file, 'index.html');
  } catch {
    // A path without an extension is a client-side route of the single-page app.
    if (path.extname(file) === '') file = path.join(realRoot, 'index.html');
  }
  if (!fileAt(file)) return null;
  const real = realpathSync(file);
  return inside(realRoot, real) ? real : null;
}

export function serveStatic(root: string, req: IncomingMessage, res: ServerResponse, urlPath: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  const file = resolveStaticPath(root, urlPath);
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  const size = statSync(file).size;
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': size,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': path.basename(file) === 'index.html' ? 'no-cache' : 'max-age=3600',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}
