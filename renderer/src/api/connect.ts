// The one place the renderer chooses its transport to the console API. Inside
// Electron the preload puts a ControlClient on `window.mcs.api` (IPC underneath);
// in a browser the page was served by the headless control server, so the client
// speaks HTTP + WebSocket to the same origin. Every view and store gets the
// client from here and never knows which transport it has.
//
// Token acquisition lives here too, and only here, so the headless login can
// change (a cookie set by a one-time login URL) without touching a view.
import type { ControlClient } from '../../../runtime/control/api';
import { createRemoteClient } from '../../../runtime/control/api/remote';

const TOKEN_KEY = 'mcs.token';

/**
 * The bearer token of the headless server. It arrives once as `?token=…` on the
 * page URL (the link `mcs` prints); it is moved to sessionStorage and removed
 * from the address bar at once, so it does not stay in history or a bookmark.
 */
export function takeToken(loc: Location = window.location, storage: Storage = window.sessionStorage): string {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY) ?? '';
}

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
    client = { api: createRemoteClient({ url: window.location.origin, token: takeToken() }), transport: 'http' };
  }
  return client;
}

/** Tests hand the stores a client of their own. */
export function setClient(api: ControlClient, transport: Transport = 'http'): void {
  client = { api, transport };
}
