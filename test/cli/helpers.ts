// Runs the real `mcs` command (node bin/mcs.js) as a child process: the CLI tests
// check what a user or script sees — stdout, stderr, exit code — never internals.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MCS = path.join(ROOT, 'bin/mcs.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  bytes: Buffer;
}

export function mcsEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MCS_HOME: home, ...extra };
  delete env.MCS_CLUSTER;
  delete env.MCS_DEBUG;
  return env;
}

export function startMcs(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [MCS, ...args], { cwd: ROOT, env, stdio: 'pipe' });
}

/** Runs to completion (asynchronously: the server under test lives in this process). */
export function mcs(args: readonly string[], env: NodeJS.ProcessEnv, input = ''): Promise<RunResult> {
  return finish(startMcs(args, env), input);
}

export function finish(child: ChildProcessWithoutNullStreams, input = ''): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const bytes = Buffer.concat(out);
      resolve({ code, signal, stdout: bytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), bytes });
    });
  });
}

/** Collects a long-running child's stdout so a test can wait for a line. */
export class Output {
  text = '';
  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (c: Buffer) => (this.text += c.toString()));
  }
}
