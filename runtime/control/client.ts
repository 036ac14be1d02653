// connectControl: the Node entry to a running multicomputer, found through its
// connection file (<stateDir>/control.json) or given a URL and token directly.
import WebSocket from 'ws';
import { ControlError, type ControlClient } from './api';
import { controlFilePath, isProcessAlive, readConnectionFile } from './connection-file';
import { createRemoteClient, type WebSocketLike } from './api/remote';

export type ConnectOptions = { stateDir: string } | { url: string; token: string };

export async function connectControl(options: ConnectOptions): Promise<ControlClient> {
  let url: string;
  let token: string;
  if ('stateDir' in options) {
    const file = controlFilePath(options.stateDir);
    const info = readConnectionFile(options.stateDir);
    if (!info) throw new ControlError('unavailable', `no multicomputer is running (no ${file})`);
    if (!isProcessAlive(info.pid)) {
      throw new ControlError('unavailable', `no multicomputer is running (${file} was left by pid ${info.pid}, which has exited)`);
    }
    ({ url, token } = info);
  } else {
    ({ url, token } = options);
  }
  return createRemoteClient({
    url,
    token,
    openWebSocket: (u) => new WebSocket(u) as unknown as WebSocketLike,
  });
}
