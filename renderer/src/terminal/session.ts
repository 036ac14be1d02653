// The console's shell session, kept for the life of the page: leaving the
// Terminal view does not end the shell (as in VS Code, a terminal outlives the
// panel showing it). The xterm.js instance draws into a container element of its
// own, which the view attaches while it is shown. Output is acknowledged as
// xterm.js finishes parsing it, so a flood of output pauses the shell instead of
// piling up in memory (api/terminal-protocol.ts).
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { ref, watchEffect, type Ref } from 'vue';
import { MAX_INPUT_CHARS, createAckCounter } from '../../../runtime/control/api/terminal-protocol';
import { useTheme } from '../lib/theme';
import { mirrorStyleElementsIntoAdoptedSheets } from './adopted-styles';
import { openTerminalChannel, type TerminalChannel } from './channel';

export interface TerminalSessionView {
  readonly term: Terminal;
  readonly fit: FitAddon;
  /** Where xterm.js draws; the view moves it into its pane. */
  readonly container: HTMLDivElement;
  readonly state: Ref<'connecting' | 'running' | 'ended'>;
  readonly detail: Ref<string>;
}

let current: (TerminalSessionView & { channel: TerminalChannel; stopTheme: () => void }) | null = null;

const THEMES = {
  dark: { background: '#11151c', foreground: '#e6e9ef', cursor: '#e6e9ef', selectionBackground: '#2f4a6b' },
  light: { background: '#fbfbfc', foreground: '#1d2330', cursor: '#1d2330', selectionBackground: '#b9d7f5' },
};

/**
 * The running session shown in `host`, or a new one if there is none or its shell
 * has ended. xterm.js measures its font when it opens, so the container is in
 * the page before that.
 */
export function terminalSession(host: HTMLElement): TerminalSessionView {
  if (current && current.state.value !== 'ended') {
    host.replaceChildren(current.container);
    return current;
  }
  current?.channel.close();
  current?.stopTheme();
  current?.term.dispose();
  mirrorStyleElementsIntoAdoptedSheets();

  const container = document.createElement('div');
  container.className = 'terminal-surface';
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 13,
    scrollback: 5000,
  });
  // Follows the console's light/dark choice (lib/theme.ts), also when it changes.
  const { theme } = useTheme();
  const stopTheme = watchEffect(() => (term.options.theme = THEMES[theme.value]));
  const fit = new FitAddon();
  term.loadAddon(fit);
  host.replaceChildren(container);
  term.open(container);
  fit.fit();
  const state = ref<'connecting' | 'running' | 'ended'>('connecting');
  const detail = ref('');

  const channel = openTerminalChannel({ cols: term.cols, rows: term.rows });
  const acks = createAckCounter();
  channel.onMessage((m) => {
    switch (m.type) {
      case 'ready':
        state.value = 'running';
        detail.value = m.shell;
        channel.send({ type: 'resize', cols: term.cols, rows: term.rows });
        return;
      case 'output':
        term.write(m.data, () => {
          const ack = acks.written(m.data.length);
          if (ack > 0) channel.send({ type: 'ack', chars: ack });
        });
        return;
      case 'exit':
        state.value = 'ended';
        detail.value = `shell exited${m.code !== null ? ` with code ${m.code}` : ''}`;
        return;
      case 'error':
        term.write(`\r\n\x1b[31m[terminal: ${m.message}]\x1b[0m\r\n`);
        return;
    }
  });
  channel.onClose((reason) => {
    if (state.value !== 'ended') {
      state.value = 'ended';
      detail.value = reason;
    }
  });
  term.onData((data) => {
    for (let i = 0; i < data.length; i += MAX_INPUT_CHARS) channel.send({ type: 'input', data: data.slice(i, i + MAX_INPUT_CHARS) });
  });
  term.onResize(({ cols, rows }) => channel.send({ type: 'resize', cols, rows }));
  current = { term, fit, container, state, detail, channel, stopTheme };
  return current;
}
