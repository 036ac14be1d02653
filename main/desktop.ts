// The desktop app's life: one instance, the multicomputer hosted in this (main)
// process, one window showing the Vue console, locked down per the Electron
// security checklist, and an orderly stop on quit. Written against the few parts
// of Electron it uses (DesktopElectron below) and handed the real module by
// main/index.ts, so test/main runs it under a stand-in with real node processes.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { CLUSTER_NAME_RE, mcsHome } from '../runtime/control/state-dir';
import type { UtilityProcessModule } from '../runtime/nodes/host-electron';
import { isAppUrl, type AppEntry } from './app-origin';
import { CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from './csp';
import { hostRuntime, type HostedRuntime } from './host-runtime';
import { createHandleChecked, type IpcMainLike, type SenderLike } from './ipc';
import { DEFAULT_SIZE, MIN_SIZE, loadWindowState, saveWindowState, type Rect } from './window-state';

type Listener = (...args: any[]) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface WebContentsLike extends SenderLike {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: string, listener: Listener): unknown;
  reload(): void;
}

export interface BrowserWindowLike {
  readonly webContents: WebContentsLike;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: string, listener: Listener): unknown;
  show(): void;
  focus(): void;
  restore(): void;
  maximize(): void;
  isMinimized(): boolean;
  isMaximized(): boolean;
  isDestroyed(): boolean;
  getNormalBounds(): Rect;
  loadURL(url: string): Promise<void>;
  loadFile(file: string): Promise<void>;
}

export interface BrowserWindowOptions {
  x?: number;
  y?: number;
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  backgroundColor: string;
  title: string;
  webPreferences: {
    preload: string;
    contextIsolation: true;
    nodeIntegration: false;
    nodeIntegrationInSubFrames: false;
    sandbox: true;
    webSecurity: true;
    allowRunningInsecureContent: false;
    experimentalFeatures: false;
    webviewTag: false;
    navigateOnDragDrop: false;
    spellcheck: false;
  };
}

export interface SessionLike {
  webRequest: {
    onHeadersReceived(
      listener: (
        details: { responseHeaders?: Record<string, string[]> },
        callback: (response: { responseHeaders: Record<string, string[] | string> }) => void,
      ) => void,
    ): void;
  };
  setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: () => boolean): void;
}

/** The parts of Electron the desktop app uses; main/index.ts passes the real module. */
export interface DesktopElectron {
  app: {
    readonly isPackaged: boolean;
    getVersion(): string;
    getPath(name: 'userData'): string;
    requestSingleInstanceLock(): boolean;
    enableSandbox(): void;
    whenReady(): Promise<unknown>;
    on(event: string, listener: Listener): unknown;
    quit(): void;
  };
  BrowserWindow: {
    new (options: BrowserWindowOptions): BrowserWindowLike;
    getAllWindows(): BrowserWindowLike[];
  };
  ipcMain: IpcMainLike;
  session: { readonly defaultSession: SessionLike };
  screen: { getAllDisplays(): { workArea: Rect }[] };
  utilityProcess: UtilityProcessModule;
  dialog: { showErrorBox(title: string, content: string): void };
}

export interface DesktopOptions {
  /** out/main: where index.js, node-entry.js and ../preload, ../renderer are. */
  outMain: string;
  env: NodeJS.ProcessEnv;
  versions: { electron: string; chrome: string; node: string };
}

export interface DesktopApp {
  readonly runtime: HostedRuntime;
  readonly window: () => BrowserWindowLike | null;
  /** Resolves once a quit has stopped the multicomputer. */
  readonly stopped: Promise<void>;
}

/** Renderer crashes reloaded per minute before the app gives up reloading (a crash loop). */
const MAX_RELOADS_PER_MINUTE = 3;

const DesktopEnv = z.object({
  MCS_CLUSTER: z.string().regex(CLUSTER_NAME_RE).default('desktop'),
  MCS_NODES: z.coerce.number().int().min(1).max(256).default(4),
  MCS_APPS: z.string().regex(/^[a-z0-9,-]*$/).default('counter'),
  MCS_GSM_MB: z.coerce.number().int().min(1).max(65536).default(64),
  MCS_HEARTBEAT_MS: z.coerce.number().int().min(1).max(60_000).optional(),
});

export async function startDesktop(electron: DesktopElectron, options: DesktopOptions): Promise<DesktopApp | null> {
  const { app, BrowserWindow, ipcMain } = electron;
  // A second launch hands over to the first (which focuses its window) and leaves.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  // electron-vite dev sets ELECTRON_RENDERER_URL to its dev server; a built app
  // loads the bundled page from disk.
  const devServerUrl = !app.isPackaged ? options.env['ELECTRON_RENDERER_URL'] : undefined;
  const rendererIndex = path.join(options.outMain, '../renderer/index.html');
  const entry: AppEntry = devServerUrl
    ? { kind: 'dev-server', url: devServerUrl }
    : { kind: 'file', url: pathToFileURL(rendererIndex).href };
  const csp = devServerUrl ? DEV_CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY;
  const settings = DesktopEnv.parse(options.env);

  // Every renderer is sandboxed, including any a future feature might open.
  app.enableSandbox();
  app.on('web-contents-created', (_event: unknown, contents: WebContentsLike) => fenceIn(contents, entry));

  let win: BrowserWindowLike | null = null;
  app.on('second-instance', () => {
    if (!win || win.isDestroyed()) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  await app.whenReady();
  lockDownSession(electron.session.defaultSession, csp);

  const home = mcsHome(options.env);
  let runtime: HostedRuntime;
  try {
    runtime = await hostRuntime(electron.utilityProcess, {
      multicomputer: {
        name: settings.MCS_CLUSTER,
        stateDir: path.join(home, settings.MCS_CLUSTER),
        nodes: settings.MCS_NODES,
        gsmMb: settings.MCS_GSM_MB,
        apps: settings.MCS_APPS.split(',').filter(Boolean),
        heartbeatMs: settings.MCS_HEARTBEAT_MS,
      },
      nodeEntry: path.join(options.outMain, 'node-entry.js'),
      nodeEnv: options.env,
      mcsHome: home,
    });
  } catch (e) {
    electron.dialog.showErrorBox('MCS Developer Kit', `The multicomputer did not start:\n${(e as Error).message}`);
    app.quit();
    throw e;
  }

  const trusted = (url: string) => isAppUrl(entry, url);
  runtime.registerIpc(ipcMain, trusted);
  createHandleChecked(ipcMain, trusted)('app:info', z.tuple([]), () => ({
    version: app.getVersion(),
    ...options.versions,
    platform: process.platform,
    arch: process.arch,
    packaged: app.isPackaged,
  }));

  const userData = app.getPath('userData');
  const createWindow = (): BrowserWindowLike => {
    const saved = loadWindowState(userData, electron.screen.getAllDisplays().map((d) => d.workArea));
    const w = new BrowserWindow({
      ...(saved ? { x: saved.x, y: saved.y, width: saved.width, height: saved.height } : DEFAULT_SIZE),
      minWidth: MIN_SIZE.width,
      minHeight: MIN_SIZE.height,
      show: false,
      backgroundColor: '#11151c', // the sidebar colour: no white flash before the first paint
      title: 'MCS Developer Kit',
      webPreferences: {
        preload: path.join(options.outMain, '../preload/preload.cjs'),
        contextIsolation: true,
        nodeIntegration: false,
        nodeIntegrationInSubFrames: false,
        sandbox: true,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        navigateOnDragDrop: false,
        spellcheck: false,
      },
    });
    w.once('ready-to-show', () => {
      if (saved?.maximized) w.maximize();
      w.show();
    });
    w.on('close', () => saveWindowState(userData, { ...w.getNormalBounds(), maximized: w.isMaximized() }));
    const contentsId = w.webContents.id;
    // A crashed page is reloaded; the multicomputer it showed runs on untouched.
    // Its subscriptions and terminals went with it and are released here.
    const reloads: number[] = [];
    w.webContents.on('render-process-gone', (_event: unknown, details: { reason: string }) => {
      runtime.dropSender(contentsId);
      if (details.reason === 'clean-exit' || w.isDestroyed()) return;
      const now = Date.now();
      while (reloads.length && now - reloads[0]! > 60_000) reloads.shift();
      if (reloads.length >= MAX_RELOADS_PER_MINUTE) {
        electron.dialog.showErrorBox('MCS Developer Kit', `The console page crashed ${reloads.length + 1} times in a minute (${details.reason}); not reloading it again.`);
        return;
      }
      reloads.push(now);
      w.webContents.reload();
    });
    if (devServerUrl) void w.loadURL(devServerUrl);
    else void w.loadFile(rendererIndex);
    return w;
  };
  win = createWindow();
  // macOS keeps the app running without windows; re-open one from the dock.
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) win = createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Quitting stops the multicomputer first: the quit is held until every node has
  // left and the control server is closed, then let through.
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let phase: 'running' | 'stopping' | 'stopped' = 'running';
  app.on('before-quit', (event: { preventDefault(): void }) => {
    if (phase === 'stopped') return;
    event.preventDefault();
    if (phase === 'stopping') return;
    phase = 'stopping';
    runtime
      .stop()
      .catch((e: unknown) => console.error('mcs console: stopping the multicomputer failed:', e))
      .finally(() => {
        phase = 'stopped';
        resolveStopped();
        app.quit();
      });
  });

  return { runtime, window: () => win, stopped };
}

/** Keeps every web contents on the console page: no popups, no navigation, no webviews. */
function fenceIn(contents: WebContentsLike, entry: AppEntry): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const refuseForeign = (event: { preventDefault(): void }, url: string) => {
    if (!isAppUrl(entry, url)) event.preventDefault();
  };
  contents.on('will-navigate', refuseForeign);
  contents.on('will-redirect', refuseForeign);
  contents.on('will-frame-navigate', (event: { preventDefault(): void; url: string }) => {
    if (!isAppUrl(entry, event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event: { preventDefault(): void }) => event.preventDefault());
}

function lockDownSession(ses: SessionLike, csp: string): void {
  // The same policy as the <meta> tag, as a header, so it also covers responses
  // that carry no meta tag (the dev server's modules, any future page).
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  // The console needs no camera, notifications, geolocation, clipboard-read...
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}
