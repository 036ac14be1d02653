// The Electron shell: one window showing the Vue console, locked down per the
// Electron security checklist. Everything the console does lives in runtime/ and
// is reached through the typed bridge (main/bridge-types.ts); this file only
// creates the window, fences it in, and answers the few IPC channels.
import { app, BrowserWindow, ipcMain, session, type WebContents } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { isAppUrl, type AppEntry } from './app-origin';
import { CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from './csp';
import { createHandleChecked } from './ipc';

const here = path.dirname(fileURLToPath(import.meta.url)); // out/main

// electron-vite dev sets ELECTRON_RENDERER_URL to its dev server; a built app
// loads the bundled page from disk.
const devServerUrl = !app.isPackaged ? process.env['ELECTRON_RENDERER_URL'] : undefined;
const rendererIndex = path.join(here, '../renderer/index.html');
const entry: AppEntry = devServerUrl
  ? { kind: 'dev-server', url: devServerUrl }
  : { kind: 'file', url: pathToFileURL(rendererIndex).href };
const csp = devServerUrl ? DEV_CONTENT_SECURITY_POLICY : CONTENT_SECURITY_POLICY;

// Every renderer is sandboxed, including any a future feature might open.
app.enableSandbox();

/** Keeps every web contents on the console page: no popups, no navigation, no webviews. */
function fenceIn(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const refuseForeign = (event: { preventDefault(): void }, url: string) => {
    if (!isAppUrl(entry, url)) event.preventDefault();
  };
  contents.on('will-navigate', refuseForeign);
  contents.on('will-redirect', refuseForeign);
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(entry, event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function lockDownSession(): void {
  const ses = session.defaultSession;
  // The same policy as the <meta> tag, as a header, so it also covers responses
  // that carry no meta tag (the dev server's modules, any future page).
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] },
    });
  });
  // The console needs no camera, notifications, geolocation, clipboard-read...
  ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

function registerIpc(): void {
  const handleChecked = createHandleChecked(ipcMain, (url) => isAppUrl(entry, url));
  handleChecked('app:info', z.tuple([]), () => ({
    version: app.getVersion(),
    electron: process.versions.electron ?? 'unknown',
    chrome: process.versions.chrome ?? 'unknown',
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    packaged: app.isPackaged,
  }));
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 500,
    show: false,
    backgroundColor: '#11151c', // the sidebar colour: no white flash before the first paint
    title: 'MCS Developer Kit',
    webPreferences: {
      preload: path.join(here, '../preload/preload.cjs'),
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
  win.once('ready-to-show', () => win.show());
  if (devServerUrl) void win.loadURL(devServerUrl);
  else void win.loadFile(rendererIndex);
  return win;
}

app.on('web-contents-created', (_event, contents) => fenceIn(contents));

void app.whenReady().then(() => {
  lockDownSession();
  registerIpc();
  createWindow();
  // macOS keeps the app running without windows; re-open one from the dock.
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
