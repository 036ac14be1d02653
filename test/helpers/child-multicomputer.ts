// A whole multicomputer in a child process (test/fixtures/supervisor-child.ts), so
// a test or benchmark can pause the supervisor together with its nodes, as a
// laptop lid, a paused virtual machine or a debugger's all-stop would. Its GSM is
// attached here to read membership; its event log is read once it has stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RestartMode } from '../../runtime/cluster/restart-policy';
import { Gsm } from '../../runtime/gsm/gsm';
import { H, N, nodeRecord } from '../../runtime/gsm/layout';
import { membersOf } from '../../runtime/membership/generations';
import { EventQuery } from '../../runtime/log/query';
import { EventStore } from '../../runtime/log/store';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/supervisor-child.ts');
let counter = 0;

export interface ChildMulticomputer {
  name: string;
  dir: string;
  supervisorPid: number;
  nodePids: number[];
  gsm: Gsm;
  generation(): number;
  members(): number[];
  /** The generation node `node` has installed. */
  installed(node: number): number;
  /** Every node and the supervisor, by pid: what an all-stop pauses. */
  allPids(): number[];
  /** Stops the multicomputer; its event log is then readable through the returned query (close it). */
  stop(): Promise<{ query: EventQuery; close(): void }>;
}

export async function startChildMulticomputer(opts: {
  nodes: number;
  heartbeatMs?: number;
  restart?: RestartMode;
  apps?: string[];
}): Promise<ChildMulticomputer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mcs-child-'));
  const name = `c${process.pid}-${++counter}`;
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, name, dir, String(opts.nodes), JSON.stringify({ heartbeatMs: opts.heartbeatMs, restart: opts.restart, apps: opts.apps })],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const nodePids: number[] = await new Promise((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(JSON.parse(String(d)) as number[]));
    child.once('exit', (code) => reject(new Error(`the supervisor child exited (${code}) before it was up`)));
  });
  const gsm = Gsm.attach(`/mcs-${name}`);
  return {
    name,
    dir,
    supervisorPid: child.pid!,
    nodePids,
    gsm,
    generation: () => gsm.map.load32(H.generation),
    members: () => membersOf(gsm.map.load32(H.memberMask)),
    installed: (node) => gsm.map.load32(nodeRecord(gsm.layout, node) + N.installedGeneration),
    allPids: () => [child.pid!, ...nodePids],
    async stop() {
      gsm.close();
      for (const pid of [child.pid!, ...nodePids]) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
      child.kill('SIGTERM');
      await exited;
      const store = EventStore.open(path.join(dir, 'events.db'));
      return {
        query: new EventQuery(store),
        close() {
          store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}
