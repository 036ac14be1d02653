// The one place the renderer chooses its transport to the console API. Inside
// Electron the preload puts a ControlClient on `window.mcs.api` (IPC underneath);
// in a browser the page was served by the headless control server, so the client
// speaks HTTP + WebSocket to the same origin. Every view and store gets the
// client from here and never knows which transport it has.
//
// A browser holds no token: it was signed in by the one-time login URL that
// `mcs console` prints (runtime/control/browser-login.ts), which left an HttpOnly
// session cookie that goes with every same-origin request and WebSocket.
import type { ControlClient } from '../../../runtime/control/api';
import { createRemoteClient } from '../../../runtime/control/api/remote';

interface DesktopBridgeWithApi {
  api?: ControlClient;
}

export type Transport = 'electron-ipc' | 'http';

let client: { api: ControlClient; transport: Transport } | null = null;

export function connect(): { api: ControlClient; transport: Transport } {
  if (client) return client;
  const bridge = (window as unknown as { mcs?: DesktopBridgeWithApi }).mcs;
  if (bridge?.api) {
    client = { api: bridge.api, transport: 'electron-ipc' };
  } else {
    client = { api: createRemoteClient({ url: window.location.origin }), transport: 'http' };
  }
  return client;
}

/** Tests hand the stores a client of their own. */
export function setClient(api: ControlClient, transport: Transport = 'http'): void {
  client = { api, transport };
}
