// The contract between the Electron preload and the renderer: what `window.mcs`
// holds, and which IPC channels exist with their argument and result types.
// Type-only on purpose: the renderer imports it without pulling in Electron or
// Node, and the preload, main and renderer cannot disagree on a channel's shape.
import type { ControlClient, ErrorCode, LogFilter, LogRow, MethodName, Params, Result, StatusUpdate } from '../runtime/control/api';
import type { TerminalClientMessage, TerminalServerMessage, TerminalSize } from '../runtime/control/api/terminal-protocol';

/** Facts about the running desktop shell, answered by the main process. */
export interface AppInfo {
  /** The kit's version (package.json). */
  version: string;
  electron: string;
  chrome: string;
  node: string;
  platform: string;
  arch: string;
  /** True for a packaged app, false when started from a checkout. */
  packaged: boolean;
}

/**
 * The desktop terminal: a pty in the main process (runtime/control/terminal.ts),
 * one session per id. Messages are the same as over the web mode's WebSocket.
 */
export interface TerminalBridge {
  /** Starts a shell; resolves with its session id. */
  open(size: TerminalSize): Promise<number>;
  send(id: number, message: TerminalClientMessage): void;
  /** Every message of the session; its last is `exit`. Returns the unsubscribe. */
  onMessage(id: number, listener: (message: TerminalServerMessage) => void): () => void;
  close(id: number): void;
}

/**
 * What the preload exposes as `window.mcs`: the console API as typed members
 * (the same ControlClient shape the web mode's HTTP client has, declared once in
 * runtime/control/api.ts), never a generic `invoke(channel, ...args)` that would
 * lose every type.
 */
export interface ConsoleBridge {
  /** The kit's version (package.json), fixed at build time. */
  readonly version: string;
  /** `process.platform` of the machine the console runs on. */
  readonly platform: string;
  /** Versions of the shell's parts, from the main process over the 'app:info' channel. */
  appInfo(): Promise<AppInfo>;
  /** The console API over IPC to the multicomputer hosted by the main process. */
  readonly api: ControlClient;
  readonly terminal: TerminalBridge;
}

/**
 * What main answers an `api:<method>` call with: the result, or the error's code
 * and message (a thrown Error would reach the renderer with its message only).
 */
export type ApiEnvelope<T> = { ok: true; result: T } | { ok: false; error: { code: ErrorCode; message: string } };

/** Channels the main process pushes on (webContents.send), with their payloads. */
export interface IpcPushChannels {
  /** A status subscription's update, or its end. */
  'api:status': { subscription: number; update?: StatusUpdate; error?: { code: string; message: string } };
  'api:log': { subscription: number; rows?: LogRow[]; error?: { code: string; message: string } };
  'terminal:message': { id: number; message: TerminalServerMessage };
}

/**
 * Every IPC channel the main process answers: channel name → argument tuple and
 * result. `handleChecked` in main/ipc.ts and the preload's `invoke` are both typed
 * by this map, so a misspelt channel or a wrong argument is a compile error.
 */
export type IpcChannels = {
  'app:info': { args: []; result: AppInfo };
  /** Starts pushing 'api:status' for this subscription id. */
  'api:subscribeStatus': { args: [subscription: number]; result: void };
  'api:subscribeLog': { args: [subscription: number, filter: LogFilter]; result: void };
  'api:unsubscribe': { args: [subscription: number]; result: void };
  'terminal:open': { args: [size: TerminalSize]; result: number };
  'terminal:send': { args: [id: number, message: TerminalClientMessage]; result: void };
  'terminal:close': { args: [id: number]; result: void };
} & {
  /** One channel per console API method: `api:<method>`. */
  [M in MethodName as `api:${M}`]: { args: [params: Params<M>]; result: ApiEnvelope<Result<M>> };
};

export type IpcChannel = keyof IpcChannels;
