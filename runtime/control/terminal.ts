// The console terminal's pty side: a shell under node-pty with `mcs` on its PATH
// and the running multicomputer as its default (MCS_HOME, MCS_CLUSTER), so the
// first thing an operator types, `mcs nodes`, talks to the multicomputer the
// console shows. It lives in the process that hosts the multicomputer (the
// headless server, or Electron's main process), never in the renderer; the
// transport (a WebSocket or IPC) only carries TerminalClientMessage and
// TerminalServerMessage (api/terminal-protocol.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn as spawnPty, type IPty } from 'node-pty';
import { describeIssues } from './api';
import {
  HIGH_WATERMARK_CHARS,
  LOW_WATERMARK_CHARS,
  TERMINAL_SOCKET_PATH,
  TerminalClientMessage,
  type TerminalServerMessage,
  type TerminalSize,
} from './api/terminal-protocol';
import type { WebSocket } from 'ws';

/** The checkout's bin/ (holds `mcs`), put first on the shell's PATH. */
export const MCS_BIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin');

export interface TerminalOptions {
  /** The multicomputer `mcs` in the shell talks to by default. */
  mcsHome: string;
  cluster: string;
  /** Where `mcs` lives; default the checkout's bin/. */
  binDir?: string;
  /** Default $SHELL, else /bin/bash, else /bin/sh. */
  shell?: string;
  shellArgs?: string[];
  cwd?: string;
  size?: TerminalSize;
  /** Flow-control thresholds (tests use small ones). */
  highWatermarkChars?: number;
  lowWatermarkChars?: number;
}

export interface TerminalSession {
  readonly pid: number;
  /** One message from the client, not yet validated. */
  receive(message: unknown): void;
  /** Characters sent and not yet acknowledged (flow control's measure). */
  readonly unacknowledged: number;
  readonly paused: boolean;
  close(): void;
}

function defaultShell(env: NodeJS.ProcessEnv): string {
  for (const candidate of [env.SHELL, '/bin/bash', '/bin/sh']) if (candidate && existsSync(candidate)) return candidate;
  return '/bin/sh';
}

export function openTerminal(options: TerminalOptions, send: (message: TerminalServerMessage) => void): TerminalSession {
  const binDir = options.binDir ?? MCS_BIN_DIR;
  const shell = options.shell ?? defaultShell(process.env);
  const size = options.size ?? { cols: 80, rows: 24 };
  const high = options.highWatermarkChars ?? HIGH_WATERMARK_CHARS;
  const low = options.lowWatermarkChars ?? LOW_WATERMARK_CHARS;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    PATH: [binDir, env.PATH].filter(Boolean).join(path.delimiter),
    MCS_HOME: options.mcsHome,
    MCS_CLUSTER: options.cluster,
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
  });
  // Variables meant for the console's own process, not for programs run in its terminal.
  for (const k of ['ELECTRON_RUN_AS_NODE', 'MCS_TEST', 'NODE_OPTIONS']) delete env[k];

  const child: IPty = spawnPty(shell, options.shellArgs ?? [], {
    name: 'xterm-256color',
    cols: size.cols,
    rows: size.rows,
    cwd: options.cwd ?? env.HOME ?? process.cwd(),
    env,
  });
  let unacknowledged = 0;
  let paused = false;
  let closed = false;

  child.onData((data) => {
    if (closed) return;
    send({ type: 'output', data });
    unacknowledged += data.length;
    if (!paused && unacknowledged > high) {
      paused = true;
      child.pause();
    }
  });
  child.onExit(({ exitCode, signal }) => {
    if (closed) return;
    closed = true;
    send({ type: 'exit', code: exitCode ?? null, signal: signal ?? null });
  });
  send({ type: 'ready', shell, pid: child.pid, ...size });

  return {
    pid: child.pid,
    get unacknowledged() {
      return unacknowledged;
    },
    get paused() {
      return paused;
    },
    receive(message) {
      if (closed) return;
      const parsed = TerminalClientMessage.safeParse(message);
      if (!parsed.success) {
        send({ type: 'error', message: describeIssues(parsed.error, 'message') });
        return;
      }
      const m = parsed.data;
      switch (m.type) {
        case 'input':
          child.write(m.data);
          return;
        case 'resize':
          child.resize(m.cols, m.rows);
          return;
        case 'ack':
          unacknowledged = Math.max(0, unacknowledged - m.chars);
          if (paused && unacknowledged < low) {
            paused = false;
            child.resume();
          }
          return;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        child.kill('SIGHUP');
      } catch {
        // already gone
      }
    },
  };
}

/** Most shells one console server runs at once: each is a process and a pty. */
const MAX_TERMINALS = 16;

/**
 * The headless server's /pty endpoint: one shell per WebSocket, ended with it.
 * Messages are JSON text; anything else is refused without reaching the pty.
 */
export function terminalSockets(options: TerminalOptions): Record<string, (ws: WebSocket) => void> {
  const live = new Set<TerminalSession>();
  return {
    [TERMINAL_SOCKET_PATH]: (ws) => {
      if (live.size >= MAX_TERMINALS) {
        ws.send(JSON.stringify({ type: 'error', message: `at most ${MAX_TERMINALS} terminals at once` } satisfies TerminalServerMessage));
        ws.close(1013, 'too many terminals');
        return;
      }
      const session = openTerminal(options, (m) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
        if (m.type === 'exit') ws.close(1000, 'shell exited');
      });
      live.add(session);
      ws.on('message', (data, isBinary) => {
        let message: unknown;
        try {
          message = isBinary ? undefined : JSON.parse(data.toString());
        } catch {
          message = undefined;
        }
        session.receive(message);
      });
      ws.on('close', () => {
        live.delete(session);
        session.close();
      });
      ws.on('error', () => ws.terminate());
    },
  };
}
