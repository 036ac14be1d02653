// The console terminal's pty side (runtime/control/terminal.ts), on a real pty
// and a real shell: `mcs` on the PATH aimed at the console's multicomputer,
// resize reaching the program, bad messages refused without touching the shell,
// and acknowledgement-based flow control: a flood of output with a client that
// acknowledges slowly stays bounded by the high watermark, and the shell goes on
// as soon as the client catches up.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TerminalServerMessage } from '../../runtime/control/api/terminal-protocol';
import { openTerminal, type TerminalOptions, type TerminalSession } from '../../runtime/control/terminal';
import { isProcessAlive as alive } from '../../runtime/control/connection-file';
import { until } from './helpers';

/** A terminal whose output is collected; nothing is acknowledged unless the test does. */
function collect(options: Partial<TerminalOptions>) {
  const messages: TerminalServerMessage[] = [];
  const session: TerminalSession = openTerminal(
    { mcsHome: '/tmp/mcs-terminal-test-home', cluster: 'termtest', shell: '/bin/sh', ...options },
    (m) => messages.push(m),
  );
  const output = () =>
    messages
      .filter((m): m is Extract<TerminalServerMessage, { type: 'output' }> => m.type === 'output')
      .map((m) => m.data)
      .join('');
  return { session, messages, output };
}

describe('the console terminal (pty side)', () => {
  test('runs a shell with mcs first on its PATH and this multicomputer as its default', async () => {
    const t = collect({ shellArgs: ['-c', 'command -v mcs; echo "home=$MCS_HOME cluster=$MCS_CLUSTER term=$TERM"'] });
    try {
      assert.equal(t.messages[0]?.type, 'ready');
      await until('the shell exits', () => t.messages.some((m) => m.type === 'exit'));
      assert.match(t.output(), /\/bin\/mcs\r?\n/);
      assert.match(t.output(), /home=\/tmp\/mcs-terminal-test-home cluster=termtest term=xterm-256color/);
      assert.deepEqual(t.messages.at(-1), { type: 'exit', code: 0, signal: 0 });
    } finally {
      t.session.close();
    }
  });

  test('a resize reaches the program; input is typed into it', async () => {
    const t = collect({ shellArgs: ['-c', 'read line; stty size; echo "got $line"'] });
    try {
      t.session.receive({ type: 'resize', cols: 120, rows: 40 });
      t.session.receive({ type: 'input', data: 'hello\r' });
      await until('the shell exits', () => t.messages.some((m) => m.type === 'exit'));
      assert.match(t.output(), /40 120/);
      assert.match(t.output(), /got hello/);
    } finally {
      t.session.close();
    }
  });

  test('malformed messages are answered with an error and never reach the pty', async () => {
    const t = collect({ shellArgs: ['-c', 'read line; echo "got [$line]"'] });
    try {
      for (const bad of [
        undefined,
        'text',
        { type: 'input' },
        { type: 'input', data: 'x'.repeat(64 * 1024 + 1) },
        { type: 'resize', cols: 0, rows: 10 },
        { type: 'resize', cols: 80, rows: 10, extra: 1 },
        { type: 'ack', chars: -5 },
        { type: 'exec', command: 'rm -rf /' },
      ]) {
        t.session.receive(bad);
      }
      const errors = t.messages.filter((m) => m.type === 'error');
      assert.equal(errors.length, 8);
      t.session.receive({ type: 'input', data: 'ok\r' });
      await until('the shell exits', () => t.messages.some((m) => m.type === 'exit'));
      assert.match(t.output(), /got \[ok\]/);
    } finally {
      t.session.close();
    }
  });

  test('a flood of output with a slow acknowledger stays bounded, pauses the shell, and resumes on acks', async () => {
    const high = 20_000;
    const low = 2_000;
    // Endless output: only flow control stands between it and unbounded memory.
    const t = collect({ shellArgs: ['-c', 'yes 0123456789abcdefghijklmnopqrstuvwxyz'], highWatermarkChars: high, lowWatermarkChars: low });
    try {
      await until('the pty is paused', () => t.session.paused);
      const atPause = t.output().length;
      // Nothing is acknowledged for a while: the amount sent must not grow past
      // the watermark by more than what the pty had already read (one read).
      let maxUnacked = 0;
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 25));
        maxUnacked = Math.max(maxUnacked, t.session.unacknowledged);
      }
      const afterWait = t.output().length;
      assert.ok(afterWait - atPause <= 64 * 1024, `output went on while paused: ${afterWait - atPause} more chars`);
      assert.ok(maxUnacked <= high + 64 * 1024, `unacknowledged output reached ${maxUnacked}`);
      assert.equal(t.session.paused, true);

      // A slow client: acknowledges what it has parsed, a little at a time.
      let acked = 0;
      let resumed = false;
      while (!resumed) {
        const pending = t.output().length - acked;
        const chunk = Math.min(pending, 5_000);
        if (chunk > 0) {
          t.session.receive({ type: 'ack', chars: chunk });
          acked += chunk;
        }
        if (!t.session.paused) resumed = true;
        await new Promise((r) => setTimeout(r, 5));
      }
      await until('output flows again after the acks', () => t.output().length > afterWait + high);
      assert.ok(t.session.unacknowledged <= high + 64 * 1024);
    } finally {
      t.session.close();
    }
    await until('closing the terminal ends its shell', () => !alive(t.session.pid));
  });
});
