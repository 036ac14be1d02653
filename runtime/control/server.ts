// The headless control server: the console API over HTTP (one POST per method)
// and WebSocket (calls and subscriptions), on loopback only, behind a bearer token
// found in <stateDir>/control.json. The same API the Electron preload offers, so
// the renderer runs unchanged in a browser, and the CLI and tests use it too.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4 } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ControlError, type ControlBackend, type ErrorCode, type Unsubscribe } from './api';
import {
  controlFilePath,
  isProcessAlive,
  newToken,
  readConnectionFile,
  removeConnectionFile,
  writeConnectionFile,
} from './connection-file';
import { dispatch } from './dispatch';
import { subscribeLogFeed } from './log-feed';
import { parseClientMessage, WS_CLOSE_UNAUTHORIZED, type MessageId } from './api/protocol';
import { createBrowserLogins, sessionCookie } from './browser-login';
import { ensureStateDir } from './state-dir';
import { serveStatic } from './static-files';
import { subscribeStatusFeed, type StatusFeedOptions } from './status-feed';

export interface ControlServerOptions {
  stateDir: string;
  /** A loopback address; anything else is refused. */
  host?: string;
  port?: number;
  /** The built renderer, served at / (the API stays under /api and /ws). */
  staticDir?: string;
  /** Largest request body (HTTP) or message (WebSocket); default 1 MiB. */
  maxBodyBytes?: number;
  statusFeed?: StatusFeedOptions;
  /** Where unexpected backend exceptions are reported (their message also goes to the caller). */
  onInternalError?: (error: unknown, method: string) => void;
  /** How long a one-time browser login code stays valid (default 2 minutes). */
  loginCodeTtlMs?: number;
  /**
   * Further WebSocket endpoints (the terminal's /pty): path → handler, reached only
   * after the same checks as /ws (Host, Origin, and a bearer token or a browser session).
   */
  sockets?: Record<string, (ws: WebSocket, req: IncomingMessage) => void>;
}

export interface ControlServer {
  url: string;
  token: string;
  port: number;
  /**
   * A one-time URL that signs a browser in (browser-login.ts): spent on first use,
   * expired after loginCodeTtlMs. The token itself never goes into a URL.
   */
  loginUrl(): string;
  close(): Promise<void>;
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  'bad-request': 400,
  unauthorized: 401,
  'not-found': 404,
  'invalid-id': 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

const MAX_SUBSCRIPTIONS_PER_SOCKET = 32;
const AUTH_DEADLINE_MS = 10_000;
/** A client this far behind gets no more status pushes (the next one supersedes them anyway)… */
const SKIP_STATUS_BUFFERED = 1 << 20;
/** …and is disconnected past this: the supervisor must not buffer without bound for a stuck console. */
const MAX_BUFFERED = 16 << 20;

export function isLoopbackAddress(host: string): boolean {
  return (isIPv4(host) && host.startsWith('127.')) || host === '::1';
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time: hashing first makes the comparison independent of where (and whether) lengths differ. */
function tokenMatches(expected: string, given: string | undefined | null): boolean {
  if (typeof given !== 'string') return false;
  return timingSafeEqual(digest(expected), digest(given));
}

function bearer(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1]! : null;
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: ControlError, extra: Record<string, string> = {}): void {
  sendJson(res, HTTP_STATUS[e.code], { ok: false, error: e.toJSON() }, extra);
}

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        return reject(new TooLarge());
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}

/**
 * Refuses a second live supervisor for the same state directory: two of them
 * would fight over one control.json (and, below us, one GSM name).
 */
function checkNotRunning(stateDir: string): void {
  let existing;
  try {
    existing = readConnectionFile(stateDir);
  } catch {
    return; // unreadable leftovers are replaced
  }
  if (existing && existing.pid !== process.pid && isProcessAlive(existing.pid)) {
    throw new ControlError(
      'conflict',
      `a multicomputer is already running with state in ${stateDir} (pid ${existing.pid}, ${existing.url})`,
    );
  }
}

export async function startControlServer(backend: ControlBackend, options: ControlServerOptions): Promise<ControlServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackAddress(host)) {
    throw new ControlError('bad-request', `host: refusing to listen on '${host}': the control server binds loopback addresses only (127.0.0.1 or ::1)`);
  }
  const port = options.port ?? 0;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const onInternalError =
    options.onInternalError ?? ((error: unknown, method: string) => console.error(`mcs control: ${method} failed:`, error));
  ensureStateDir(options.stateDir);
  checkNotRunning(options.stateDir);

  const token = newToken();
  let boundPort = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${boundPort}`, `localhost:${boundPort}`, `[::1]:${boundPort}`, `${hostForUrl(host)}:${boundPort}`]);
  // DNS rebinding: a web page on evil.example resolved to 127.0.0.1 still sends "Host: evil.example".
  const hostOk = (req: IncomingMessage) => allowedHosts().has(String(req.headers.host ?? '').toLowerCase());

  const logins = createBrowserLogins(options.loginCodeTtlMs);
  const ownOrigins = () => new Set([...allowedHosts()].map((h) => `http://${h}`));
  /**
   * A browser sends Origin with every POST and WebSocket handshake; a page of
   * another origin (even one rebinding DNS to 127.0.0.1) must not ride on the
   * session cookie. CLI clients send no Origin and authenticate with the token.
   */
  const foreignOrigin = (req: IncomingMessage) => {
    const origin = req.headers.origin;
    return origin !== undefined && !ownOrigins().has(origin.toLowerCase());
  };
  const browserSession = (req: IncomingMessage) =>
    req.headers.origin !== undefined && !foreignOrigin(req) && logins.isSession(req.headers.cookie);
  const authorized = (req: IncomingMessage) => tokenMatches(token, bearer(req)) || browserSession(req);

  const reportInternal = (e: ControlError, method: string) => {
    if (e.code === 'internal') onInternalError(e.cause ?? e, method);
  };

  const http = createServer((req, res) => {
    void handleHttp(req, res).catch((e) => {
      if (!res.headersSent) sendError(res, ControlError.from(e));
      else res.destroy();
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostOk(req)) return sendError(res, new ControlError('bad-request', 'unexpected Host header'), { Connection: 'close' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const pathname = url.pathname;
    if (pathname === '/api/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        req.resume();
        return sendJson(res, 405, { ok: false, error: { code: 'bad-request', message: 'use GET /api/health' } }, { Allow: 'GET, HEAD' });
      }
      return sendJson(res, 200, { ok: true });
    }
    if (pathname === '/login') return serveLogin(req, res, url);
    if (pathname === '/api' || pathname.startsWith('/api/')) {
      if (!authorized(req)) {
        req.resume();
        return sendError(res, new ControlError('unauthorized', 'missing or wrong bearer token (see control.json)'), {
          'WWW-Authenticate': 'Bearer',
        });
      }
      if (req.method !== 'POST') {
        req.resume();
        return sendJson(res, 405, { ok: false, error: { code: 'bad-request', message: `use POST ${pathname}` } }, { Allow: 'POST' });
      }
      let name: string;
      try {
        name = decodeURIComponent(pathname.slice('/api/'.length));
      } catch {
        req.resume();
        return sendError(res, new ControlError('not-found', `no such path ${pathname}`));
      }
      let body: Buffer;
      try {
        body = await readBody(req, maxBody);
      } catch (e) {
        if (e instanceof TooLarge) {
          req.resume(); // discard the rest so the client can read our answer
          res.on('finish', () => req.socket.end());
          sendJson(res, 413, { ok: false, error: { code: 'bad-request', message: `request body exceeds ${maxBody} bytes` } }, { Connection: 'close' });
          return;
        }
        throw e;
      }
      let params: unknown;
      if (body.length > 0) {
        try {
          params = JSON.parse(body.toString('utf8'));
        } catch {
          return sendError(res, new ControlError('bad-request', 'request body is not valid JSON'));
        }
      }
      try {
        const result = await dispatch(backend, name, params);
        return sendJson(res, 200, { ok: true, result });
      } catch (e) {
        const err = ControlError.from(e);
        reportInternal(err, name);
        return sendError(res, err);
      }
    }
    if (options.staticDir) return serveStatic(options.staticDir, req, res, pathname);
    return sendError(res, new ControlError('not-found', `no such path ${pathname}`));
  }

  function serveLogin(req: IncomingMessage, res: ServerResponse, url: URL): void {
    req.resume();
    // The code must not leak onwards through a Referer, nor be kept by a cache.
    const common = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' };
    if (req.method !== 'GET') {
      res.writeHead(405, { ...common, Allow: 'GET', 'Content-Type': 'text/plain; charset=utf-8' }).end('use GET /login\n');
      return;
    }
    const session = logins.redeem(url.searchParams.get('once'));
    if (!session) {
      res
        .writeHead(403, { ...common, 'Content-Type': 'text/plain; charset=utf-8' })
        .end('This login link has been used already or has expired.\nPress Enter in the terminal where `mcs console` runs for a new one (or start it again).\n');
      return;
    }
    res.writeHead(303, { ...common, Location: '/', 'Set-Cookie': sessionCookie(session), 'Content-Length': 0 }).end();
  }

  // ---- WebSocket

  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBody });
  const sockets = new Set<WebSocket>();

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostOk(req)) return refuse('400 Bad Request');
    // Browsers do not apply the same-origin policy to WebSockets: the server must.
    if (foreignOrigin(req)) return refuse('403 Forbidden');
    const extra = options.sockets?.[url.pathname];
    if (extra) {
      if (!authorized(req)) return refuse('401 Unauthorized');
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        ws.on('close', () => sockets.delete(ws));
        extra(ws, req);
      });
      return;
    }
    if (url.pathname !== '/ws') return refuse('404 Not Found');
    // A token in a URL outlives the request (history, proxy and server logs, Referer):
    // refused outright, right or wrong, so no client can come to depend on it (issue #9 §1).
    if (url.searchParams.has('token')) return refuse('400 Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, authorized(req)));
  });

  function serveSocket(ws: WebSocket, authenticated: boolean): void {
    sockets.add(ws);
    const subscriptions = new Map<MessageId, Unsubscribe>();
    let subscriptionCounter = 0;
    const authTimer = authenticated
      ? null
      : setTimeout(() => ws.close(WS_CLOSE_UNAUTHORIZED, 'no token'), AUTH_DEADLINE_MS);

    const send = (msg: unknown, skippable = false): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED) {
        ws.terminate();
        return;
      }
      if (skippable && ws.bufferedAmount > SKIP_STATUS_BUFFERED) return;
      ws.send(JSON.stringify(msg));
    };
    const reply = (id: MessageId | null, e: ControlError) => send({ id, ok: false, error: e.toJSON() });

    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        reply(null, new ControlError('bad-request', 'binary messages are not accepted; send JSON text'));
        return;
      }
      const parsed = parseClientMessage(data.toString());
      if (!authenticated) {
        if (parsed.ok && parsed.value.kind === 'auth' && tokenMatches(token, parsed.value.msg.token)) {
          authenticated = true;
          if (authTimer) clearTimeout(authTimer);
          send({ id: null, ok: true, result: { authenticated: true } });
        } else {
          reply(
            null,
            new ControlError(
              'unauthorized',
              'not signed in: open the one-time login URL that `mcs console` printed, or send {"token": "<token from control.json>"} first',
            ),
          );
          ws.close(WS_CLOSE_UNAUTHORIZED, 'unauthorized');
        }
        return;
      }
      if (!parsed.ok) {
        reply(parsed.id, new ControlError('bad-request', parsed.message));
        return;
      }
      const m = parsed.value;
      switch (m.kind) {
        case 'auth':
          if (!tokenMatches(token, m.msg.token)) {
            reply(null, new ControlError('unauthorized', 'wrong token'));
            ws.close(WS_CLOSE_UNAUTHORIZED, 'unauthorized');
          } else send({ id: null, ok: true, result: { authenticated: true } });
          return;
        case 'call': {
          const { id, method, params } = m.msg;
          dispatch(backend, method, params).then(
            (result) => send({ id, ok: true, result }),
            (e) => {
              const err = ControlError.from(e);
              reportInternal(err, method);
              reply(id, err);
            },
          );
          return;
        }
        case 'subscribe': {
          const { subscribe, filter } = m.msg;
          const requestId = m.msg.id ?? null;
          const sid = m.msg.id ?? `${subscribe}-${++subscriptionCounter}`;
          if (subscriptions.has(sid)) return reply(requestId, new ControlError('conflict', `subscription ${sid} already exists`));
          if (subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
            return reply(requestId, new ControlError('conflict', `at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions per connection`));
          }
          if (subscribe === 'status' && filter !== undefined) {
            return reply(requestId, new ControlError('bad-request', 'message.filter: only log subscriptions take a filter'));
          }
          const pushError = (e: ControlError) => send({ subscription: sid, error: e.toJSON() });
          let unsubscribe: Unsubscribe;
          try {
            if (subscribe === 'status') {
              unsubscribe = subscribeStatusFeed(backend, (status) => send({ subscription: sid, status }, true), pushError, options.statusFeed);
            } else {
              unsubscribe = subscribeLogFeed(
                backend,
                filter ?? {},
                (rows) => send({ subscription: sid, rows }),
                (err) => {
                  reportInternal(err, 'subscribeLog');
                  pushError(err);
                },
              );
            }
          } catch (e) {
            const err = ControlError.from(e);
            reportInternal(err, `subscribe ${subscribe}`);
            return reply(requestId, err);
          }
          subscriptions.set(sid, unsubscribe);
          send({ id: requestId, ok: true, result: { subscription: sid } });
          return;
        }
        case 'unsubscribe': {
          const sid = m.msg.unsubscribe;
          const unsubscribe = subscriptions.get(sid);
          if (!unsubscribe) return reply(null, new ControlError('not-found', `no subscription ${sid}`));
          subscriptions.delete(sid);
          unsubscribe();
          return;
        }
      }
    });

    ws.on('close', () => {
      if (authTimer) clearTimeout(authTimer);
      sockets.delete(ws);
      for (const unsubscribe of subscriptions.values()) unsubscribe();
      subscriptions.clear();
    });
    ws.on('error', () => ws.terminate());
  }

  wss.on('wsClientError', (_e, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address();
  boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${hostForUrl(host)}:${boundPort}`;

  try {
    writeConnectionFile(options.stateDir, { url, token, pid: process.pid, startedAtMs: Date.now() });
  } catch (e) {
    http.close();
    throw new ControlError('internal', `cannot write ${controlFilePath(options.stateDir)}: ${(e as Error).message}`);
  }

  let closing: Promise<void> | null = null;
  return {
    url,
    token,
    port: boundPort,
    loginUrl: () => `${url}/login?once=${logins.issueCode()}`,
    close() {
      closing ??= (async () => {
        removeConnectionFile(options.stateDir, token);
        for (const ws of sockets) ws.close(1001, 'server shutting down');
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          // Answers in flight (the reply to `shutdown` itself) are let out; the rest is cut shortly after.
          http.closeIdleConnections();
          setTimeout(() => {
            http.closeAllConnections();
            for (const ws of sockets) ws.terminate();
          }, 200).unref();
        });
        wss.close();
      })();
      return closing;
    },
  };
}
