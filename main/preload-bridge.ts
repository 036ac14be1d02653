// Builds the ConsoleBridge (main/bridge-types.ts) over an ipcRenderer. Kept apart
// from preload.ts, which only hands it Electron's ipcRenderer and exposes the
// result, so the whole bridge runs in test/main under a stand-in ipcRenderer.
//
// Every console API method becomes a typed member (`api.killNode({node: 2})`),
// generated from the one method table in runtime/control/api.ts; subscriptions
// cross as events on 'api:status' / 'api:log'. Errors cross contextBridge as
// plain {name, code, message} objects: contextBridge keeps only the message of a
// thrown Error, and the renderer needs the code (not-found, conflict, …).
import {
  ControlError,
  methodNames,
  type ControlClient,
  type LogFilter,
  type LogRow,
  type MethodName,
  type StatusUpdate,
  type SubscribeOptions,
} from '../runtime/control/api';
import type { TerminalServerMessage } from '../runtime/control/api/terminal-protocol';
import type { ApiEnvelope, AppInfo, ConsoleBridge, IpcChannel, IpcChannels, IpcPushChannels, TerminalBridge } from './bridge-types';

/** The part of Electron's ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, payload: unknown) => void): unknown;
}

export interface BridgeFacts {
  version: string;
  platform: string;
}

/** A rejection the renderer can read `.code` from after contextBridge has copied it. */
function crossable(e: { code: ControlError['code']; message: string }) {
  return { name: 'ControlError', code: e.code, message: e.message };
}

export function createConsoleBridge(ipc: IpcRendererLike, facts: BridgeFacts): ConsoleBridge {
  function invoke<C extends IpcChannel>(channel: C, ...args: IpcChannels[C]['args']): Promise<IpcChannels[C]['result']> {
    return ipc.invoke(channel, ...args) as Promise<IpcChannels[C]['result']>;
  }

  // ---- pushes: one listener per channel, fanned out by subscription / session id
  type Listener<T> = { cb: (value: T) => void; options: SubscribeOptions };
  function fanOut<T>(channel: 'api:status' | 'api:log', value: (payload: never) => T | undefined): Map<number, Listener<T>> {
    const listeners = new Map<number, Listener<T>>();
    ipc.on(channel, (_e, payload) => {
      const p = payload as { subscription: number; error?: { code: string; message: string } };
      const l = listeners.get(p.subscription);
      if (!l) return;
      if (p.error) {
        listeners.delete(p.subscription);
        l.options.onError?.(ControlError.from(p.error));
        return;
      }
      const v = value(payload as never);
      if (v !== undefined) l.cb(v);
    });
    return listeners;
  }
  const statusListeners = fanOut('api:status', (p: IpcPushChannels['api:status']) => p.update);
  const logListeners = fanOut('api:log', (p: IpcPushChannels['api:log']) => p.rows);
  const terminalListeners = new Map<number, (m: TerminalServerMessage) => void>();
  ipc.on('terminal:message', (_e, payload) => {
    const p = payload as IpcPushChannels['terminal:message'];
    terminalListeners.get(p.id)?.(p.message);
  });

  let nextSubscription = 0;
  function subscription<T>(
    listeners: Map<number, { cb: T; options: SubscribeOptions }>,
    cb: T,
    options: SubscribeOptions,
    start: (id: number) => Promise<void>,
  ): () => void {
    const id = ++nextSubscription;
    listeners.set(id, { cb, options });
    start(id).then(
      () => options.onReady?.(),
      (e: unknown) => {
        listeners.delete(id);
        options.onError?.(ControlError.from(e));
      },
    );
    return () => {
      if (listeners.delete(id)) void invoke('api:unsubscribe', id).catch(() => {});
    };
  }

  const api = {
    subscribeStatus: (cb: (u: StatusUpdate) => void, options: SubscribeOptions = {}) =>
      subscription(statusListeners, cb, options, (id) => invoke('api:subscribeStatus', id)),
    subscribeLog: (filter: LogFilter, cb: (rows: LogRow[]) => void, options: SubscribeOptions = {}) =>
      subscription(logListeners, cb, options, (id) => invoke('api:subscribeLog', id, filter)),
    close() {
      for (const id of [...statusListeners.keys(), ...logListeners.keys()]) void invoke('api:unsubscribe', id).catch(() => {});
      statusListeners.clear();
      logListeners.clear();
    },
  } as Record<string, unknown>;
  for (const name of methodNames) {
    api[name] = async (params?: unknown) => {
      const envelope = (await ipc.invoke(`api:${name satisfies MethodName}`, params ?? {})) as ApiEnvelope<unknown>;
      if (envelope.ok) return envelope.result;
      throw crossable(envelope.error);
    };
  }

  const terminal: TerminalBridge = {
    open: (size) => invoke('terminal:open', size),
    send: (id, message) => void invoke('terminal:send', id, message).catch(() => {}),
    onMessage(id, listener) {
      terminalListeners.set(id, (m) => {
        listener(m);
        if (m.type === 'exit') terminalListeners.delete(id);
      });
      return () => void terminalListeners.delete(id);
    },
    close(id) {
      terminalListeners.delete(id);
      void invoke('terminal:close', id).catch(() => {});
    },
  };

  return {
    version: facts.version,
    platform: facts.platform,
    appInfo: (): Promise<AppInfo> => invoke('app:info'),
    api: api as unknown as ControlClient,
    terminal,
  };
}
