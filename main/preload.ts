// The preload: runs sandboxed, before the page, and is the only code that can
// reach Electron's IPC. It exposes exactly the ConsoleBridge (main/bridge-types.ts)
// as `window.mcs` through contextBridge; the page never sees ipcRenderer.
//
// Built as CommonJS (electron.vite.config.ts): sandboxed preloads cannot be ES modules.
import { contextBridge, ipcRenderer } from 'electron';
import { createConsoleBridge } from './preload-bridge';

/** Replaced at build time with package.json's version (electron.vite.config.ts). */
declare const __MCS_VERSION__: string;

contextBridge.exposeInMainWorld('mcs', createConsoleBridge(ipcRenderer, { version: __MCS_VERSION__, platform: process.platform }));
