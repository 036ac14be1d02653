// What every mcs command gets: the parsed global flags, the target
// multicomputer's state directory, a lazily opened client, output helpers and the
// confirmation gate for destructive methods.
import { createInterface } from 'node:readline';
import { ControlError, methods, type ControlClient, type MethodName, type Params, type Result } from '../control/api';
import { connectControl } from '../control/client';
import type { StateDir } from '../control/state-dir';
import { UsageError, type FlagSpec, type ParsedArgs } from './args';

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

/** The user answered no. */
export class Cancelled extends Error {}

export class Context {
  private clientPromise: Promise<ControlClient> | null = null;

  constructor(
    readonly io: CliIO,
    readonly state: StateDir,
    readonly json: boolean,
    readonly yes: boolean,
    readonly commandName: string,
  ) {}

  client(): Promise<ControlClient> {
    this.clientPromise ??= connectControl({ stateDir: this.state.dir });
    return this.clientPromise;
  }

  async close(): Promise<void> {
    if (!this.clientPromise) return;
    try {
      (await this.clientPromise).close();
    } catch {
      // connecting failed: nothing to close
    }
  }

  write(text: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.io.stdout.write(text, (e?: Error | null) => (e ? reject(e) : resolve()));
    });
  }

  printJson(value: unknown): Promise<void> {
    return this.write(JSON.stringify(value, null, 2) + '\n');
  }

  note(text: string): void {
    this.io.stderr.write(text + '\n');
  }

  /**
   * Calls a method; a destructive one first asks `question` on a terminal, and
   * without a terminal refuses unless --yes was given. The refusal comes before
   * any connection is made, so a script without --yes changes nothing.
   */
  async call<M extends MethodName>(
    method: M,
    params: Params<M>,
    question?: (client: ControlClient) => Promise<string> | string,
  ): Promise<Result<M>> {
    if (methods[method].destructive && !this.yes) {
      if (!this.io.stdin.isTTY) {
        throw new UsageError(`${this.commandName} is destructive: pass --yes to run it without a terminal`);
      }
      const client = await this.client();
      const text = question ? await question(client) : `Run ${this.commandName}?`;
      if (!(await this.ask(`${text} [y/N] `))) throw new Cancelled('cancelled');
    }
    const client = await this.client();
    const fn = client[method] as unknown as (p: Params<M>) => Promise<Result<M>>;
    return fn(params);
  }

  /** Resolves with the signal's name on the first SIGINT or SIGTERM (for --follow and up). */
  untilInterrupted(): Promise<NodeJS.Signals> {
    return new Promise((resolve) => {
      const on = (sig: NodeJS.Signals) => {
        process.off('SIGINT', on);
        process.off('SIGTERM', on);
        resolve(sig);
      };
      process.on('SIGINT', on);
      process.on('SIGTERM', on);
    });
  }

  private ask(prompt: string): Promise<boolean> {
    return new Promise((resolve) => {
      const rl = createInterface({ input: this.io.stdin, output: this.io.stderr, terminal: true });
      let answered = false;
      rl.question(prompt, (answer) => {
        answered = true;
        rl.close();
        resolve(/^\s*y(es)?\s*$/i.test(answer));
      });
      rl.on('close', () => {
        if (!answered) {
          this.io.stderr.write('\n');
          resolve(false);
        }
      });
    });
  }
}

export interface Command {
  name: string;
  group: 'status' | 'modify' | 'lifecycle';
  /** Usage after the command name, e.g. "N" or "NAME|ID [--hex]". */
  usage: string;
  summary: string;
  flags?: FlagSpec[];
  /** Names of required, then optional positionals (for errors and help). */
  required?: string[];
  optional?: string[];
  run(ctx: Context, args: ParsedArgs, positionals: string[]): Promise<number | void>;
}

export function notFound(what: string): ControlError {
  return new ControlError('not-found', what);
}
