// The terminal's transport, chosen once like the API's (api/connect.ts): inside
// Electron the preload's typed `window.mcs.terminal` (IPC to the pty in the main
// process); in a browser a WebSocket to the headless server's /pty, signed in by
// the same session cookie as the API. Every message that arrives is validated.
import {
  TERMINAL_SOCKET_PATH,
  TerminalServerMessage,
  type TerminalClientMessage,
  type TerminalSize,
} from '../../../runtime/control/api/terminal-protocol';
import type { TerminalBridge } from '../../../main/bridge-types';

export interface TerminalChannel {
  send(message: TerminalClientMessage): void;
  onMessage(listener: (message: TerminalServerMessage) => void): void;
  /** The transport ended (socket closed, bridge refused): no more messages come. */
  onClose(listener: (reason: string) => void): void;
  close(): void;
}

export function openTerminalChannel(size: TerminalSize, w: Window = window): TerminalChannel {
  const bridge = (w as unknown as { mcs?: { terminal?: TerminalBridge } }).mcs?.terminal;
  return bridge ? bridgeChannel(bridge, size) : webSocketChannel(size, w.location);
}

function webSocketChannel(size: TerminalSize, loc: Location): TerminalChannel {
  const ws = new WebSocket(`${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${TERMINAL_SOCKET_PATH}`);
  const queue: string[] = [JSON.stringify({ type: 'resize', ...size } satisfies TerminalClientMessage)];
  let onMessage: (m: TerminalServerMessage) => void = () => {};
  let onClose: (reason: string) => void = () => {};
  ws.onopen = () => {
    for (const text of queue.splice(0)) ws.send(text);
  };
  ws.onmessage = (ev) => {
    let raw: unknown;
    try {
      raw = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    const m = TerminalServerMessage.safeParse(raw);
    if (m.success) onMessage(m.data);
  };
  ws.onclose = (ev) =>
    onClose(ev.code === 1000 ? 'the shell exited' : ev.reason || (ev.code === 1006 ? 'not signed in, or the console server is gone' : `closed (${ev.code})`));
  return {
    send(message) {
      const text = JSON.stringify(message);
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
      else if (ws.readyState === WebSocket.CONNECTING) queue.push(text);
    },
    onMessage: (l) => void (onMessage = l),
    onClose: (l) => void (onClose = l),
    close: () => ws.close(1000),
  };
}

function bridgeChannel(bridge: TerminalBridge, size: TerminalSize): TerminalChannel {
  let onMessage: (m: TerminalServerMessage) => void = () => {};
  let onClose: (reason: string) => void = () => {};
  const pending: TerminalClientMessage[] = [];
  let id: number | null = null;
  let closed = false;
  bridge.open(size).then(
    (opened) => {
      if (closed) return bridge.close(opened);
      id = opened;
      bridge.onMessage(opened, (raw) => {
        const m = TerminalServerMessage.safeParse(raw);
        if (m.success) onMessage(m.data);
        if (m.success && m.data.type === 'exit') onClose('the shell exited');
      });
      for (const m of pending.splice(0)) bridge.send(opened, m);
    },
    (e: unknown) => onClose(e instanceof Error ? e.message : String(e)),
  );
  return {
    send(message) {
      if (id === null) pending.push(message);
      else bridge.send(id, message);
    },
    onMessage: (l) => void (onMessage = l),
    onClose: (l) => void (onClose = l),
    close() {
      closed = true;
      if (id !== null) bridge.close(id);
    },
  };
}
