// A node-like test process: attaches a GSM as node <node> and runs the commands
// the test sends over IPC. Kept generic so tests read as scenarios.
import { writeFileSync } from 'node:fs';
import { Gsm } from '../../runtime/gsm/gsm';
import { H } from '../../runtime/gsm/layout';
import { threadId } from '../../runtime/gsm/native';
import type { GlobalEvent } from '../../runtime/objects/event';
import { GlobalObjects } from '../../runtime/objects/global-objects';
import type { Mailbox } from '../../runtime/objects/mailbox';
import type { GlobalMutex } from '../../runtime/objects/mutex';
import type { Section } from '../../runtime/objects/section';
import { ObjectType } from '../../runtime/gsm/layout';

const [gsmName, nodeArg, incArg] = process.argv.slice(2);
const gsm = Gsm.attach(gsmName);
const objects = new GlobalObjects(gsm, { node: Number(nodeArg), incarnation: Number(incArg) });
const handles = new Map<string, Section | GlobalMutex | GlobalEvent | Mailbox>();

const mark = (tag: string) => process.send!({ mark: tag });
const get = <T>(name: string) => {
  const h = handles.get(name);
  if (!h) throw new Error(`actor has no handle ${name}`);
  return h as T;
};

type Args = Record<string, any>;
const ops: Record<string, (a: Args) => unknown> = {
  ready: () => ({ pid: process.pid, tid: threadId() }),
  createSection: async (a) => void handles.set(a.name, await objects.createSection(a.name, a.size)),
  openSection: async (a) => void handles.set(a.name, await objects.openSection(a.target ?? a.name)),
  createMutex: async (a) => void handles.set(a.name, await objects.createMutex(a.name)),
  openMutex: async (a) => void handles.set(a.name, await objects.openMutex(a.target ?? a.name)),
  lock: async (a) => get<GlobalMutex>(a.name).lock(a.timeoutMs ?? Infinity),
  lockSync: (a) => get<GlobalMutex>(a.name).lockSync(a.timeoutMs ?? Infinity),
  unlock: (a) => get<GlobalMutex>(a.name).unlock(),
  markConsistent: (a) => get<GlobalMutex>(a.name).markConsistent(),
  /** Locks, reports the mark, then holds the lock until killed. */
  lockAndHold: async (a) => {
    const status = await get<GlobalMutex>(a.name).lock();
    mark(`holding:${a.name}:${status}`);
    return new Promise(() => undefined);
  },
  /** Each iteration: lock, non-atomic read-modify-write of a u32 in a section, unlock. */
  incrementLoop: (a) => {
    const mutex = get<GlobalMutex>(a.mutex);
    const section = get<Section>(a.section);
    const buf = new Uint8Array(4);
    const view = new DataView(buf.buffer);
    const statuses: Record<string, number> = {};
    for (let i = 0; i < a.iterations; i++) {
      const s = mutex.lockSync();
      statuses[s] = (statuses[s] ?? 0) + 1;
      if (s === 'ABANDONED') mutex.markConsistent();
      section.read(a.offset ?? 0, buf);
      view.setUint32(0, view.getUint32(0, true) + 1, true);
      section.write(a.offset ?? 0, buf);
      mutex.unlock();
    }
    return statuses;
  },
  write: (a) => get<Section>(a.name).write(a.offset, Uint8Array.from(a.bytes)),
  read: (a) => Array.from(get<Section>(a.name).readBytes(a.offset, a.length)),
  createEvent: async (a) => void handles.set(a.name, await objects.createEvent(a.name, a.opts ?? {})),
  openEvent: async (a) => void handles.set(a.name, await objects.openEvent(a.target ?? a.name)),
  waitEvent: async (a) => {
    mark(`waiting:${a.name}`);
    return get<GlobalEvent>(a.name).wait(a.timeoutMs ?? Infinity);
  },
  signalEvent: (a) => get<GlobalEvent>(a.name).signal(),
  createMailbox: async (a) => void handles.set(a.name, await objects.createMailbox(a.name, a.opts ?? {})),
  openMailbox: async (a) => void handles.set(a.name, await objects.openMailbox(a.target ?? a.name)),
  send: (a) => get<Mailbox>(a.name).send(new TextEncoder().encode(a.text)),
  receive: async (a) => {
    const m = await get<Mailbox>(a.name).receive(a.timeoutMs ?? Infinity);
    return m && { fromNode: m.fromNode, text: new TextDecoder().decode(m.data) };
  },
  delete: async (a) => {
    await handles.get(a.name)!.delete();
    handles.delete(a.name);
  },
  close: async (a) => {
    await handles.get(a.name)!.close();
    handles.delete(a.name);
  },
  /**
   * Stops for good inside the namespace lock half-way through creating a section
   * (slot Creating, block allocated, not yet Live): writes `markFile`, then spins
   * synchronously until the test kills it.
   */
  crashMidCreate: (a) =>
    objects.ns.create(ObjectType.Section, a.name, a.size, 0, () => {
      writeFileSync(a.markFile, 'in-create');
      for (;;) {
        // spin: the event loop must not run, or the create would complete
      }
    }),
  /** Takes the namespace lock raw and holds it until killed. */
  holdNamespaceLock: () => {
    const code = gsm.map.mutexLock(H.namespaceMutex, Infinity);
    mark(`namespace-held:${code}`);
    return new Promise(() => undefined);
  },
};

process.on('message', async (msg: { id: number; op: string; args: Args }) => {
  try {
    const fn = ops[msg.op];
    if (!fn) throw new Error(`unknown actor op ${msg.op}`);
    const result = await fn(msg.args);
    process.send!({ id: msg.id, ok: true, result });
  } catch (err) {
    process.send!({ id: msg.id, ok: false, error: `${(err as { code?: string }).code ?? ''}: ${(err as Error).message}` });
  }
});
process.on('disconnect', () => process.exit(0));
