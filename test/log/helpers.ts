// Shared fixtures for the event-log tests: temp dirs, GSM mappings that are always
// unlinked, and child "node" processes that are always killed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMapping, unlinkMapping, type Mapping } from '../../runtime/gsm/native';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');
export const ringWriterScript = path.join(here, 'fixtures/ring-writer.ts');

let counter = 0;

/** A fresh mapping of at least `bytes`, unlinked (and closed) by the returned cleanup. */
export function tempMapping(bytes: number): { name: string; map: Mapping; dispose(): void } {
  const name = `/mcs-logtest-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const map = createMapping(name, Math.max(4096, Math.ceil(bytes / 4096) * 4096));
  return {
    name,
    map,
    dispose() {
      if (!map.closed) map.close();
      unlinkMapping(name);
    },
  };
}

export function tempDir(): { dir: string; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcs-log-'));
  return { dir, dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface Child {
  proc: ChildProcess;
  /** Resolves at the first stdout line equal to `line`. */
  waitFor(line: string): Promise<void>;
  /** Every stdout line so far. */
  lines(): string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Starts a TypeScript script as a separate OS process (a stand-in node). */
export function spawnTs(script: string, args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  const out: string[] = [];
  let partial = '';
  let stderr = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      out.push(l);
      for (const w of waiters.filter((w) => w.line === l)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    }),
  );
  return {
    proc,
    lines: () => out,
    exited,
    waitFor(line) {
      if (out.includes(line)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ line, resolve });
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${code ?? signal}) before printing "${line}":\n${stderr}`)),
        );
      });
    },
    kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}
