// The contract between the Electron preload and the renderer: what `window.mcs`
// holds, and which IPC channels exist with their argument and result types.
// Type-only on purpose: the renderer imports it without pulling in Electron or
// Node, and the preload, main and renderer cannot disagree on a channel's shape.

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
 * What the preload exposes as `window.mcs`. Kept deliberately small: the console
 * API (nodes, sections, mutexes, log, debugger) is declared once in
 * runtime/control and will be added here as typed members, never as a generic
 * `invoke(channel, ...args)` that would lose every type.
 */
export interface ConsoleBridge {
  /** The kit's version (package.json), fixed at build time. */
  readonly version: string;
  /** `process.platform` of the machine the console runs on. */
  readonly platform: string;
  /** Versions of the shell's parts, from the main process over the 'app:info' channel. */
  appInfo(): Promise<AppInfo>;
}

/**
 * Every IPC channel the main process answers: channel name → argument tuple and
 * result. `handleChecked` in main/ipc.ts and the preload's `invoke` are both typed
 * by this map, so a misspelt channel or a wrong argument is a compile error.
 */
export interface IpcChannels {
  'app:info': { args: []; result: AppInfo };
}

export type IpcChannel = keyof IpcChannels;
