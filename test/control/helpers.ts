// Shared by the control and CLI tests: temporary state directories, a control
// server over the fixture backend, raw WebSocket message queues, and polling for
// a condition (never a fixed sleep, never a timing assertion).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startControlServer, type ControlServer, type ControlServerOptions } from '../../runtime/control/server';
import { FixtureBackend } from './fixture-backend';

export function tempDir(prefix = 'mcs-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Harness {
  backend: FixtureBackend;
  server: ControlServer;
  home: string;
  stateDir: string;
  close(): Promise<void>;
}

/** A control server over a fresh FixtureBackend, its control.json in <tmp>/default (an MCS_HOME). */
export async function startHarness(options: Partial<ControlServerOptions> = {}, cluster = 'default'): Promise<Harness> {
  const tmp = tempDir();
  const stateDir = path.join(tmp.dir, cluster);
  const backend = new FixtureBackend();
  const server = await startControlServer(backend, {
    stateDir,
    statusFeed: { minIntervalMs: 10, maxIntervalMs: 60_000 },
    onInternalError: () => {},
    ...options,
  });
  return {
    backend,
    server,
    home: tmp.dir,
    stateDir,
    async close() {
      await server.close();
      tmp.remove();
    },
  };
}

export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw WebSocket whose incoming JSON messages can be awaited one by one, or by predicate. */
export class Socket {
  readonly ws: WebSocket;
  private queue: unknown[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | null = null;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      this.queue.push(JSON.parse(data.toString()));
      this.waiters.splice(0).forEach((w) => w());
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code) => {
        this.closeCode = code;
        resolve(code);
        this.waiters.splice(0).forEach((w) => w());
      });
    });
    this.opened.catch(() => {});
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next message matching the predicate (earlier non-matching ones are skipped). */
  async next<T = Record<string, unknown>>(match: (m: Record<string, unknown>) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const m = this.queue.shift() as Record<string, unknown>;
        if (match(m)) return m as T;
      }
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting for a message`);
      if (Date.now() > deadline) throw new Error('timed out waiting for a WebSocket message');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}
