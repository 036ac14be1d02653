// The entry point of a named worker thread of a node (AppContext.startThread).
// The thread gets its own GSM mapping, bound to the same node and incarnation,
// appends to the node's event-log ring (multi-producer), registers itself in the
// node's thread table, and follows the membership generations its node's main
// thread relays. Then it runs the module's `run(ctx)`.
import { parentPort, workerData } from 'node:worker_threads';
import { Gsm } from '../gsm/gsm';
import { logRing } from '../gsm/layout';
import { threadId } from '../gsm/native';
import { EventRingWriter } from '../log/ring';
import { GlobalObjects } from '../objects/global-objects';
import { acquireFault } from '../objects/mutex';
import type { ThreadContext, ThreadRelay, ThreadStartData } from './app-threads';
import { registerThread } from './threads';

const start = workerData as ThreadStartData;
const gsm = Gsm.attach(start.gsm);
const ring = new EventRingWriter(gsm.map, logRing(gsm.layout, start.node), gsm.layout.logRingBytes);
const objects = new GlobalObjects(gsm, { node: start.node, incarnation: start.incarnation });
const tid = threadId();
const row = registerThread(gsm, start.node, start.incarnation, start.name, tid, 'worker');
const stopping = new AbortController();
let members = start.members;
const listeners: ((generation: number, members: number[]) => void)[] = [];
parentPort!.on('message', (msg: ThreadRelay) => {
  if (msg.type === 'generation') {
    members = msg.members;
    for (const l of listeners) l(msg.generation, msg.members);
  } else if (msg.type === 'stop') {
    stopping.abort();
  } else if (msg.type === 'die-holding') {
    // Abrupt: no unlock, no cleanup; the mutex is abandoned to its next locker.
    acquireFault.hook = () => process.exit(137);
  }
});
const ctx: ThreadContext = {
  node: start.node,
  incarnation: start.incarnation,
  name: start.name,
  data: start.data,
  objects,
  log: (kind, object, details) => void ring.append(kind, object, details),
  members: () => members,
  onGeneration: (l) => void listeners.push(l),
  signal: stopping.signal,
};
parentPort!.postMessage({ type: 'ready', tid, row });
const mod = (await import(start.module)) as { run?: (ctx: ThreadContext) => unknown };
if (typeof mod.run !== 'function') throw new Error(`${start.module} does not export run(ctx)`);
await mod.run(ctx);
// The thread ends when run() returns and nothing keeps its event loop alive.
parentPort!.unref();
