// The preload: runs sandboxed, before the page, and is the only code that can
// reach Electron's IPC. It exposes exactly the ConsoleBridge (main/bridge-types.ts)
// as `window.mcs` through contextBridge; the page never sees ipcRenderer.
//
// Built as CommonJS (electron.vite.config.ts): sandboxed preloads cannot be ES modules.
import { contextBridge, ipcRenderer } from 'electron';
import type { ConsoleBridge, IpcChannel, IpcChannels } from './bridge-types';

/** Replaced at build time with package.json's version (electron.vite.config.ts). */
declare const __MCS_VERSION__: string;

/** Typed by IpcChannels, and private to this file: not part of the bridge. */
function invoke<C extends IpcChannel>(channel: C, ...args: IpcChannels[C]['args']): Promise<IpcChannels[C]['result']> {
  return ipcRenderer.invoke(channel, ...args) as Promise<IpcChannels[C]['result']>;
}

const bridge: ConsoleBridge = {
  version: __MCS_VERSION__,
  platform: process.platform,
  appInfo: () => invoke('app:info'),
};

contextBridge.exposeInMainWorld('mcs', bridge);
