// `mcs debug`: the HPD-style shell of the distributed debugger (paper §5.3). On a
// terminal it is interactive: the prompt shows the focus set, history is kept in
// the multicomputer's state directory, Tab completes commands and set names, and
// stops, freezes and aggregated output appear as they happen. Without a terminal,
// or with --file, it runs one command per line (# starts a comment) and ends the
// session when the script ends; --json prints one JSON object per command and
// event. Everything goes through the control API (debugCommand, debugEvents,
// debugState), the same calls the console's Debugger view makes.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { ControlError, type ControlClient, type DebugEvent } from '../control/api';
import { VERBS } from '../debugger/commands';
import { stringFlag, UsageError, type ParsedArgs } from './args';
import type { Command, Context } from './context';

const HISTORY_FILE = 'debug_history';
const HISTORY_MAX = 500;

function eventLine(e: DebugEvent): string {
  return e.kind === 'output' ? `${e.thread}  ${e.text}` : `* ${e.text}`;
}

class DebugShell {
  session: string | undefined;
  focus = '[all]';
  private after: number | undefined;
  private polling = false;
  failures = 0;

  constructor(
    private readonly ctx: Context,
    private readonly client: ControlClient,
  ) {}

  async run(line: string): Promise<void> {
    try {
      const r = await this.client.debugCommand({ session: this.session, line });
      this.session = r.session;
      this.focus = r.focus;
      if (this.ctx.json) await this.ctx.write(JSON.stringify({ line, ok: true, text: r.text, data: r.data }) + '\n');
      else if (r.text) await this.ctx.write(r.text + '\n');
    } catch (e) {
      const err = ControlError.from(e);
      this.failures++;
      if (err.code === 'not-found' && this.session) this.session = undefined; // it lapsed: the next line opens a new one
      if (this.ctx.json) await this.ctx.write(JSON.stringify({ line, ok: false, error: err.toJSON() }) + '\n');
      else this.ctx.io.stderr.write(`error: ${err.message}\n`);
    }
  }

  async open(): Promise<void> {
    const r = await this.client.debugCommand({ line: '' });
    this.session = r.session;
    this.focus = r.focus;
  }

  /** Events since the last call, printed; waits up to waitMs for the first. */
  async drainEvents(waitMs: number, print: (text: string) => void): Promise<void> {
    if (!this.session) return;
    const r = await this.client.debugEvents({ session: this.session, after: this.after, waitMs });
    this.after = r.next;
    for (const e of r.events) print(this.ctx.json ? JSON.stringify({ event: e }) : eventLine(e));
  }

  /** Keeps the session alive and shows events until stopped: the shell's heartbeat to the debugger. */
  startPolling(print: (text: string) => void): () => void {
    this.polling = true;
    void (async () => {
      while (this.polling) {
        try {
          await this.drainEvents(2000, print);
          if (!this.session) await new Promise((r) => setTimeout(r, 200));
        } catch {
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    })();
    return () => {
      this.polling = false;
    };
  }
}

async function names(client: ControlClient): Promise<string[]> {
  try {
    const s = await client.debugState();
    return ['all', 'running', 'stopped', 'held', ...s.sets.map((x) => x.name)];
  } catch {
    return ['all', 'running', 'stopped', 'held'];
  }
}

async function interactive(ctx: Context, shell: DebugShell, client: ControlClient): Promise<void> {
  const historyPath = path.join(ctx.state.dir, HISTORY_FILE);
  const history = existsSync(historyPath) ? readFileSync(historyPath, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_MAX).reverse() : [];
  let setNames = await names(client);
  const verbs = Object.keys(VERBS);
  const rl: Interface = createInterface({
    input: ctx.io.stdin,
    output: ctx.io.stdout,
    terminal: true,
    history,
    historySize: HISTORY_MAX,
    completer: (line: string) => {
      const word = line.split(/[\s[,]/).pop() ?? '';
      const atStart = /^\s*(\[[^\]]*\]\s*)?\S*$/.test(line);
      const pool = atStart ? verbs : [...setNames, ...verbs];
      const hits = pool.filter((c) => c.startsWith(word));
      return [hits.length ? hits : pool, word];
    },
  });
  const prompt = () => rl.setPrompt(`mcs ${shell.focus}> `);
  // Events arrive while the user types: print them above the prompt.
  const print = (text: string) => {
    ctx.io.stdout.write(`\r\x1b[K${text}\n`);
    rl.prompt(true);
  };
  await shell.run('status');
  const stop = shell.startPolling(print);
  prompt();
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    if (line === 'quit' || line === 'exit') break;
    if (line) {
      appendFileSync(historyPath, line + '\n', { mode: 0o600 });
      await shell.run(line);
      if (/^(\[[^\]]*\]\s*)?(defset|undefset)\b/.test(line)) setNames = await names(client);
    }
    prompt();
    rl.prompt();
  }
  stop();
  rl.close();
}

async function scripted(ctx: Context, shell: DebugShell, text: string): Promise<void> {
  const print = (t: string) => void ctx.write(t + '\n');
  // An empty line opens the session, so a first command that fails does not leave one behind.
  await shell.open();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line === 'quit' || line === 'exit') break;
    if (!ctx.json) await ctx.write(`mcs ${shell.focus}> ${line}\n`);
    await shell.run(line);
    await shell.drainEvents(0, print).catch(() => undefined);
  }
}

export const debugCommand: Command = {
  name: 'debug',
  group: 'status',
  usage: '[--file SCRIPT]',
  summary: 'the distributed debugger: HPD thread sets, broadcast breakpoints, freeze (interactive, or a script)',
  flags: [{ name: 'file', kind: 'string', value: 'SCRIPT', help: 'run the commands in SCRIPT (one per line) instead of reading a terminal' }],
  async run(ctx: Context, args: ParsedArgs) {
    const file = stringFlag(args, 'file');
    const client = await ctx.client();
    const shell = new DebugShell(ctx, client);
    try {
      if (file !== undefined) {
        if (!existsSync(file)) throw new UsageError(`no such script: ${file}`);
        await scripted(ctx, shell, readFileSync(file, 'utf8'));
      } else if (ctx.io.stdin.isTTY && !ctx.json) {
        await interactive(ctx, shell, client);
      } else {
        const chunks: Buffer[] = [];
        for await (const c of ctx.io.stdin) chunks.push(Buffer.from(c as Buffer));
        await scripted(ctx, shell, Buffer.concat(chunks).toString('utf8'));
      }
    } finally {
      // The last session to go resumes every thread and ends every freeze.
      if (shell.session) await client.debugCommand({ session: shell.session, line: 'quit' }).catch(() => undefined);
    }
    return shell.failures ? 1 : 0;
  },
};
