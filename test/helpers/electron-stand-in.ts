// A small stand-in for the parts of Electron the desktop app uses
// (main/desktop.ts's DesktopElectron), so the real main-process code runs under
// plain Node where the Electron binary cannot be downloaded. It is not a mock of
// behaviour the test then asserts: utilityProcess.fork starts a real Node child
// running the bundled node entry, IPC payloads go through structuredClone as
// Electron's do, and the app's lifecycle events follow Electron's order
// (before-quit can be prevented; quit() then does nothing more).
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { BrowserWindowLike, BrowserWindowOptions, DesktopElectron, SessionLike, WebContentsLike } from '../../main/desktop';
import type { InvokeEventLike } from '../../main/ipc';
import type { IpcRendererLike } from '../../main/preload-bridge';
import type { Rect } from '../../main/window-state';
import type { UtilityProcessLike } from '../../runtime/nodes/host-electron';

let nextContentsId = 0;
/** userData → the app holding its single-instance lock (Electron scopes the lock the same way). */
const singleInstanceLocks = new Map<string, EventEmitter>();

export class StandInWebContents extends EventEmitter implements WebContentsLike {
  readonly id = ++nextContentsId;
  destroyed = false;
  reloads = 0;
  openHandler: ((details: { url: string }) => { action: 'deny' }) | null = null;
  /** Listeners of the page's ipcRenderer.on, by channel. */
  readonly rendererListeners = new Map<string, ((event: unknown, payload: unknown) => void)[]>();

  send(channel: string, payload: unknown): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    const copy = structuredClone(payload);
    for (const l of this.rendererListeners.get(channel) ?? []) l({}, copy);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.openHandler = handler;
  }
  reload(): void {
    this.reloads++;
    this.rendererListeners.clear(); // a reloaded page starts with a fresh preload
  }
  /** Plays a navigation; returns true if the app prevented it. */
  navigate(event: 'will-navigate' | 'will-redirect', url: string): boolean {
    let prevented = false;
    this.emit(event, { preventDefault: () => (prevented = true) }, url);
    return prevented;
  }
}

export class StandInWindow extends EventEmitter implements BrowserWindowLike {
  static all: StandInWindow[] = [];
  readonly webContents = new StandInWebContents();
  bounds: Rect;
  shown = false;
  focused = 0;
  destroyed = false;
  loaded: string | null = null;

  constructor(
    readonly options: BrowserWindowOptions,
    onCreated: (contents: StandInWebContents) => void,
  ) {
    super();
    this.bounds = { x: options.x ?? 100, y: options.y ?? 100, width: options.width, height: options.height };
    StandInWindow.all.push(this);
    onCreated(this.webContents);
  }
  override once(event: string, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any
    return super.once(event, listener);
  }
  show(): void {
    this.shown = true;
  }
  focus(): void {
    this.focused++;
  }
  restore(): void {}
  maximize(): void {}
  isMinimized(): boolean {
    return false;
  }
  isMaximized(): boolean {
    return false;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  getNormalBounds(): Rect {
    return { ...this.bounds };
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = url;
    this.emit('ready-to-show');
  }
  async loadFile(file: string): Promise<void> {
    this.loaded = file;
    this.emit('ready-to-show');
  }
  /** The user closes the window. */
  close(): void {
    this.emit('close', { preventDefault() {} });
    this.destroyed = true;
    StandInWindow.all = StandInWindow.all.filter((w) => w !== this);
    this.webContents.destroyed = true;
    this.webContents.emit('destroyed');
    this.emit('closed');
  }
}

export interface ForkedNode {
  modulePath: string;
  args: string[];
  pid: number | undefined;
  exited: Promise<number>;
}

export function createElectronStandIn(userData: string) {
  const app = new EventEmitter();
  const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  const forks: ForkedNode[] = [];
  const errors: string[] = [];
  let quitted = false;
  let sandboxed = false;
  const headerListeners: Parameters<SessionLike['webRequest']['onHeadersReceived']>[0][] = [];
  const permissionAnswers: boolean[] = [];

  const electron = {
    app: Object.assign(app, {
      isPackaged: false,
      getVersion: () => '0.1.0',
      getPath: (_name: 'userData') => userData,
      requestSingleInstanceLock: () => {
        const holder = singleInstanceLocks.get(userData);
        if (holder && holder !== app) {
          // Electron tells the first instance about the second one.
          setImmediate(() => holder.emit('second-instance'));
          return false;
        }
        singleInstanceLocks.set(userData, app);
        return true;
      },
      enableSandbox: () => void (sandboxed = true),
      whenReady: () => Promise.resolve(),
      quit: () => {
        if (quitted) return;
        let prevented = false;
        app.emit('before-quit', { preventDefault: () => (prevented = true) });
        if (prevented) return;
        quitted = true;
        if (singleInstanceLocks.get(userData) === app) singleInstanceLocks.delete(userData);
        app.emit('will-quit');
      },
    }),
    BrowserWindow: class extends StandInWindow {
      constructor(options: BrowserWindowOptions) {
        super(options, (contents) => app.emit('web-contents-created', {}, contents));
      }
      static getAllWindows(): StandInWindow[] {
        return [...StandInWindow.all];
      }
    },
    ipcMain: {
      handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown) {
        if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
        handlers.set(channel, listener);
      },
    },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (l) => void headerListeners.push(l) },
        setPermissionRequestHandler: (h) => h(null, 'media', (granted) => permissionAnswers.push(granted)),
        setPermissionCheckHandler: (h) => void permissionAnswers.push(h()),
      } satisfies SessionLike,
    },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    utilityProcess: {
      fork(modulePath: string, args: string[], options: { env?: NodeJS.ProcessEnv }): UtilityProcessLike {
        const child = spawn(process.execPath, [modulePath, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: options.env });
        const proc = new EventEmitter() as EventEmitter & { pid: number | undefined; stderr: NodeJS.ReadableStream | null };
        proc.pid = undefined;
        proc.stderr = child.stderr;
        const record: ForkedNode = {
          modulePath,
          args,
          pid: undefined,
          exited: new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1))),
        };
        forks.push(record);
        // Like Electron: the pid is known at 'spawn'; a signal death is a non-zero exit code.
        child.once('spawn', () => {
          proc.pid = record.pid = child.pid;
          proc.emit('spawn');
        });
        child.once('exit', (code) => proc.emit('exit', code ?? 1));
        return proc;
      },
    },
    dialog: { showErrorBox: (title: string, content: string) => void errors.push(`${title}: ${content}`) },
  } satisfies DesktopElectron;

  return {
    electron,
    forks,
    errors,
    headerListeners,
    permissionAnswers,
    get quitted() {
      return quitted;
    },
    get sandboxed() {
      return sandboxed;
    },
    windows: () => [...StandInWindow.all],
    /** The page's ipcRenderer, as the preload sees it, in a frame showing `frameUrl`. */
    rendererFor(contents: StandInWebContents, frameUrl: string): IpcRendererLike {
      return {
        async invoke(channel, ...args) {
          const handler = handlers.get(channel);
          if (!handler) throw new Error(`No handler registered for '${channel}'`);
          const event: InvokeEventLike = { senderFrame: { url: frameUrl }, sender: contents };
          try {
            return structuredClone(await handler(event, ...structuredClone(args)));
          } catch (e) {
            // Electron rejects the renderer's promise with the message only.
            throw new Error(`Error invoking remote method '${channel}': ${(e as Error).message}`);
          }
        },
        on(channel, listener) {
          const list = contents.rendererListeners.get(channel) ?? [];
          list.push(listener);
          contents.rendererListeners.set(channel, list);
        },
      };
    },
  };
}
