// The console API over HTTP + WebSocket, for any JavaScript host: Node (through
// client.ts) or a browser tab opened on the headless server. Needs only fetch and
// a WebSocket constructor, so it imports nothing from node:.
//
// Params are validated before they leave (a typo fails here, naming the field)
// and results on arrival (a supervisor of another version fails loudly, not with
// undefined fields deep in a table).
import { z } from 'zod';
import {
  ControlError,
  LogFilter,
  LogRow,
  StatusUpdate,
  describeIssues,
  methodNames,
  parseParams,
  parseResult,
  type ControlClient,
  type MethodName,
  type SubscribeOptions,
  type Unsubscribe,
} from '../api';
import { HttpResponse, MessageId } from './protocol';

/** The part of the WebSocket interface we use: the browser's and the `ws` package's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface RemoteOptions {
  /** http://127.0.0.1:PORT */
  url: string;
  /**
   * The bearer token (CLI, tests). Absent in a browser signed in through the
   * one-time login URL: its session cookie goes with every same-origin request.
   */
  token?: string;
  fetch?: typeof fetch;
  openWebSocket?: (url: string) => WebSocketLike;
}

const OPEN = 1;

interface Subscription {
  request: Record<string, unknown>;
  onPush: (msg: Record<string, unknown>) => void;
  onError: (e: ControlError) => void;
  onReady?: () => void;
}

export function createRemoteClient(remote: RemoteOptions): ControlClient {
  const base = remote.url.replace(/\/+$/, '');
  const fetchImpl = remote.fetch ?? globalThis.fetch.bind(globalThis);
  const openWebSocket =
    remote.openWebSocket ??
    ((u: string) => {
      const Ctor = (globalThis as unknown as { WebSocket?: new (u: string) => WebSocketLike }).WebSocket;
      if (!Ctor) throw new ControlError('unavailable', 'no WebSocket implementation in this environment');
      return new Ctor(u);
    });
  const notAnswering = () => new ControlError('unavailable', `the multicomputer at ${base} is not answering`);

  async function call(name: MethodName, params: unknown): Promise<unknown> {
    const checked = parseParams(name, params);
    let res: Response;
    try {
      res = await fetchImpl(`${base}/api/${name}`, {
        method: 'POST',
        headers: { ...(remote.token ? { Authorization: `Bearer ${remote.token}` } : {}), 'Content-Type': 'application/json' },
        body: JSON.stringify(checked),
      });
    } catch {
      throw notAnswering();
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new ControlError('internal', `${base} answered ${name} with HTTP ${res.status} and a body that is not JSON`);
    }
    const envelope = HttpResponse.safeParse(body);
    if (!envelope.success) throw new ControlError('internal', `${base} answered ${name} with HTTP ${res.status} and an unexpected body`);
    if (!envelope.data.ok) throw new ControlError(envelope.data.error.code, envelope.data.error.message);
    return parseResult(name, envelope.data.result);
  }

  const reportError = (e: ControlError) => {
    console.error(`mcs: subscription failed: ${e.message}`);
  };

  // ---- subscriptions: one WebSocket, opened on first use, authenticated by its first message

  let ws: WebSocketLike | null = null;
  let closed = false;
  const queue: string[] = [];
  const subs = new Map<string | number, Subscription>();
  let counter = 0;

  const sendWs = (msg: unknown) => {
    const text = JSON.stringify(msg);
    if (ws && ws.readyState === OPEN) ws.send(text);
    else queue.push(text);
  };

  const failAll = (e: ControlError) => {
    const all = [...subs.values()];
    subs.clear();
    for (const s of all) s.onError(e);
  };

  const ensureSocket = () => {
    if (ws || closed) return;
    const socket = openWebSocket(`${base.replace(/^http/, 'ws')}/ws`);
    ws = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      if (remote.token) socket.send(JSON.stringify({ token: remote.token }));
      for (const text of queue.splice(0)) socket.send(text);
    };
    socket.onmessage = (ev) => handleMessage(typeof ev.data === 'string' ? ev.data : String(ev.data));
    socket.onerror = () => {};
    socket.onclose = (ev) => {
      if (ws === socket) ws = null;
      queue.length = 0;
      if (closed) return;
      failAll(
        !opened
          ? notAnswering()
          : ev.code === 4401
            ? new ControlError(
                'unauthorized',
                remote.token ? 'the multicomputer refused the token' : 'not signed in: open the one-time login URL that `mcs console` printed',
              )
            : new ControlError('unavailable', `lost the connection to the multicomputer at ${base}`),
      );
    };
  };

  const handleMessage = (text: string) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return failAll(new ControlError('internal', 'the multicomputer sent a message that is not JSON'));
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('subscription' in msg) {
      const sid = MessageId.safeParse(msg.subscription);
      const sub = sid.success ? subs.get(sid.data) : undefined;
      if (sub) sub.onPush(msg);
      return;
    }
    if (msg.ok === true) {
      const id = MessageId.safeParse(msg.id);
      if (id.success) subs.get(id.data)?.onReady?.();
      return;
    }
    if (msg.ok === false) {
      const e = ControlError.from(msg.error);
      const id = MessageId.safeParse(msg.id);
      const sub = id.success ? subs.get(id.data) : undefined;
      if (sub) {
        subs.delete(id.data!);
        sub.onError(e);
      } else if (!id.success) {
        failAll(e); // connection-level: bad token, protocol error
      }
    }
  };

  const subscribe = (request: Record<string, unknown>, onPush: Subscription['onPush'], options: SubscribeOptions): Unsubscribe => {
    if (closed) throw new ControlError('unavailable', 'this client is closed');
    const sid = `sub-${++counter}`;
    subs.set(sid, { request, onPush, onError: options.onError ?? reportError, onReady: options.onReady });
    ensureSocket();
    sendWs({ id: sid, ...request });
    return () => {
      if (!subs.delete(sid)) return;
      if (ws && ws.readyState === OPEN) ws.send(JSON.stringify({ unsubscribe: sid }));
    };
  };

  const client = {
    subscribeStatus(cb: (u: StatusUpdate) => void, options: SubscribeOptions = {}): Unsubscribe {
      const onError = options.onError ?? reportError;
      return subscribe(
        { subscribe: 'status' },
        (msg) => {
          if ('error' in msg) return onError(ControlError.from(msg.error));
          const r = StatusUpdate.safeParse(msg.status);
          if (r.success) cb(r.data);
          else onError(new ControlError('internal', `invalid status push: ${describeIssues(r.error, 'status')}`));
        },
        options,
      );
    },
    subscribeLog(filter: LogFilter, cb: (rows: LogRow[]) => void, options: SubscribeOptions = {}): Unsubscribe {
      const onError = options.onError ?? reportError;
      const f = LogFilter.safeParse(filter);
      if (!f.success) throw new ControlError('bad-request', `subscribeLog: ${describeIssues(f.error, 'filter')}`);
      return subscribe(
        { subscribe: 'log', filter: f.data },
        (msg) => {
          if ('error' in msg) return onError(ControlError.from(msg.error));
          const r = z.array(LogRow).safeParse(msg.rows);
          if (r.success) cb(r.data);
          else onError(new ControlError('internal', `invalid log push: ${describeIssues(r.error, 'rows')}`));
        },
        options,
      );
    },
    close() {
      closed = true;
      subs.clear();
      queue.length = 0;
      ws?.close(1000, 'client closed');
      ws = null;
    },
  } as Record<string, unknown>;
  for (const name of methodNames) client[name] = (params?: unknown) => call(name, params);
  return client as unknown as ControlClient;
}
