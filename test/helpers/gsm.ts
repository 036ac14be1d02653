// Test fixtures: a private GSM per test (unique name, always unlinked) and actor
// processes: real OS processes attached to that GSM as nodes, driven over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Gsm } from '../../runtime/gsm/gsm';
import { DUMMY_BYTE, FAILED_MAP_CAPACITY, H, type GsmGeometry } from '../../runtime/gsm/layout';
import { GlobalObjects } from '../../runtime/objects/global-objects';

const here = path.dirname(fileURLToPath(import.meta.url));
let counter = 0;

export const uniqueGsmName = (tag: string) => `/mcs-test-${tag}-${process.pid}-${++counter}`;

const addon = path.join(here, '../../runtime/gsm/native/build/Release/mcs_gsm.node');

/**
 * Plain-JS prelude for threads and processes that use the addon directly: it
 * declares `map`, a mapping of GSM `gsmName`, with the memory-failure model on
 * when given that GSM's layout (as `Gsm.attach` sets it up).
 */
export const mappingPrelude = (gsmName: string, failures?: { systemBytes: number }) => `
  const { createRequire } = await import('node:module');
  const native = createRequire(import.meta.url)(${JSON.stringify(addon)});
  const map = new native.Mapping(${JSON.stringify(gsmName)}, 0, false);
  ${failures ? `map.configureFailureModel(${H.failedMap}, ${FAILED_MAP_CAPACITY}, ${H.memoryFailures}, ${DUMMY_BYTE}, ${failures.systemBytes});` : ''}
`;

export interface TestGsm {
  gsm: Gsm;
  name: string;
  /** A second attachment acting as node `node` in this (test) process. */
  objects(node: number, incarnation?: number): GlobalObjects;
  cleanup(): void;
}

const smallGeometry: Partial<GsmGeometry> = {
  maxNodes: 8,
  contributionBytes: 1024 * 1024,
  objectCapacity: 256,
  logRingBytes: 64 * 1024,
};

export function createTestGsm(tag: string, geometry: Partial<GsmGeometry> = {}): TestGsm {
  const name = uniqueGsmName(tag);
  const gsm = Gsm.create(name, { ...smallGeometry, ...geometry });
  const extra: Gsm[] = [];
  return {
    gsm,
    name,
    objects(node, incarnation = 1) {
      // Each node identity needs its own mapping: the identity is per mapping.
      const g = Gsm.attach(name);
      extra.push(g);
      return new GlobalObjects(g, { node, incarnation });
    },
    cleanup() {
      for (const g of extra) g.close();
      gsm.close();
      Gsm.unlink(name);
    },
  };
}

export interface Actor {
  child: ChildProcess;
  pid: number;
  /** Sends one command and resolves with its reply (rejects with the actor's error). */
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** Sends a command without waiting for the reply (for commands that block). */
  send(op: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Resolves when the actor reports `tag` via a 'mark' message. */
  mark(tag: string): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const actors = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of actors) c.kill('SIGKILL');
});

export async function startActor(gsmName: string, node: number, incarnation = 1, env: Record<string, string> = {}): Promise<Actor> {
  const child = fork(path.join(here, 'actor.ts'), [gsmName, String(node), String(incarnation)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  actors.add(child);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const marks = new Map<string, () => void>();
  const seenMarks = new Set<string>();
  let nextId = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (msg: { id?: number; ok?: boolean; result?: unknown; error?: string; mark?: string }) => {
    if (msg.mark !== undefined) {
      seenMarks.add(msg.mark);
      marks.get(msg.mark)?.();
      return;
    }
    const p = pending.get(msg.id!);
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(Object.assign(new Error(msg.error), { actorError: true }));
  });
  child.once('exit', (code, signal) => {
    actors.delete(child);
    for (const p of pending.values()) p.reject(new Error(`actor exited (${signal ?? code})`));
    pending.clear();
  });
  const send = (op: string, args: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      child.send({ id, op, args });
    });
  const actor: Actor = {
    child,
    pid: child.pid!,
    call: <T>(op: string, args?: Record<string, unknown>) => send(op, args) as Promise<T>,
    send: (op, args) => {
      const p = send(op, args);
      p.catch(() => undefined);
      return p;
    },
    mark: (tag) => (seenMarks.has(tag) ? Promise.resolve() : new Promise((resolve) => marks.set(tag, resolve))),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  await actor.call('ready');
  return actor;
}
