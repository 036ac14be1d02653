// Starts a real multicomputer (supervisor in this process, nodes as child
// processes) with a unique name and a temp state dir, and tears it all down.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RestartMode } from '../../runtime/cluster/restart-policy';
import { Supervisor, startMulticomputer } from '../../runtime/cluster/supervisor';

let counter = 0;
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/apps');

/** Absolute path of a test app in test/fixtures/apps (nodes load it by path). */
export const testApp = (name: string) => path.join(fixtures, `${name}.ts`);

export interface TestMulticomputer {
  mc: Supervisor;
  dir: string;
  name: string;
  stop(): Promise<void>;
}

export async function startTestMulticomputer(opts: {
  nodes: number;
  apps?: string[];
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  dir?: string;
  name?: string;
  /** Tests see failed nodes stay failed unless they ask for the restart policy. */
  restart?: RestartMode;
  gsmMb?: number;
  appConfig?: Record<string, unknown>;
}): Promise<TestMulticomputer> {
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'mcs-mc-'));
  const name = opts.name ?? `t${process.pid}-${++counter}`;
  const mc = await startMulticomputer({
    name,
    stateDir: dir,
    nodes: opts.nodes,
    gsmMb: opts.gsmMb ?? 2,
    apps: opts.apps ?? [],
    appConfig: opts.appConfig,
    heartbeatMs: opts.heartbeatMs ?? 100,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    restart: opts.restart ?? 'never',
  });
  return {
    mc,
    dir,
    name,
    async stop() {
      await mc.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
