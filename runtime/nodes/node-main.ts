// The entry point of one node process. It attaches the multicomputer's GSM as
// node N (incarnation I), beats its heart from the application thread (so a hung
// node stops beating), installs membership generations, logs into its ring in
// GSM, and runs the global applications it was told to. It exits by itself if
// its supervisor goes away or if it finds its own incarnation revoked (fencing).
import { pathToFileURL } from 'node:url';
import { Gsm } from '../gsm/gsm';
import { H, N, logRing, nodeRecord } from '../gsm/layout';
import { monotonicNs, threadId } from '../gsm/native';
import { EventRingWriter } from '../log/ring';
import { followGenerations, membersOf } from '../membership/generations';
import { GlobalObjects } from '../objects/global-objects';
import { NodeThreads } from './app-threads';
import { ThreadBackstop, registerThread } from './threads';
import { APP_ENDPOINT_EVENT, decodeNodeArgs } from './host';
import { loadKitApp, type KitApp } from './kit-apps';
import { existsSync } from 'node:fs';
import { armedPathFor, startDebugAgent } from '../debugger/agent';
import type { AppContext, RunningApp } from './app-context';

const args = decodeNodeArgs(process.argv.slice(2));
const gsm = Gsm.attach(args.gsm);
const rec = nodeRecord(gsm.layout, args.node);
const ring = new EventRingWriter(gsm.map, logRing(gsm.layout, args.node), gsm.layout.logRingBytes);
const log = (kind: string, object: string | null, details?: unknown) => ring.append(kind, object, details);
const objects = new GlobalObjects(gsm, { node: args.node, incarnation: args.incarnation });
const stopping = new AbortController();
const parentAtStart = process.ppid;

log('node.start', null, { pid: process.pid, incarnation: args.incarnation, apps: args.apps });
registerThread(gsm, args.node, args.incarnation, 'main', threadId(), 'main');
// A thread that ends holding mutexes: the kernel abandons them; this catches any it missed.
const backstop = new ThreadBackstop(gsm, objects.ns, (found) => {
  for (const a of found) log('mutex.abandoned', a.id, { name: a.name, holderNode: args.node, holderPid: process.pid, holderTid: a.tid, reason: 'thread exited' });
});
// The debug agent. While breakpoints are set it starts first and the apps wait for
// it to have them, so a node that joins later stops at them from its first line;
// otherwise it starts once the apps have, so it does not compete with them for the
// CPU while the node comes up.
const debugAgent = args.debugSocket ? { socketPath: args.debugSocket, node: args.node, incarnation: args.incarnation } : null;
let agentStarted = false;
if (debugAgent && existsSync(armedPathFor(debugAgent.socketPath))) {
  agentStarted = true;
  await startDebugAgent(debugAgent).ready;
}

function exitNow(kind: string, details: unknown, code: number): never {
  log(kind, null, details);
  process.exit(code);
}

function beat() {
  // Fencing, belt and braces: the supervisor kills a node it declares failed, but a
  // node that finds its incarnation revoked must not touch GSM again either way.
  if (gsm.map.load32(rec + N.revokedIncarnation) === args.incarnation)
    exitNow('node.fenced', { incarnation: args.incarnation }, 3);
  if (process.ppid !== parentAtStart) exitNow('node.orphaned', { supervisorPid: args.supervisorPid }, 4);
  gsm.map.store64n(rec + N.heartbeatNs, monotonicNs());
  gsm.map.add64n(rec + N.heartbeatCount, 1);
}
// App code is loaded before the first heartbeat: compiling it blocks this thread
// (hundreds of ms on a busy machine), and until the first beat the node is only
// 'starting', not yet watched for hangs.
async function loadApp(name: string): Promise<{ name: string; mod?: KitApp; error?: Error }> {
  try {
    // A bundled app by name (runtime/apps/<name>.ts, or the desktop bundle's table),
    // or the absolute path of a module exporting start(): the developer's own app.
    if (!name.startsWith('/') && !/^[a-z][a-z0-9-]*$/.test(name)) throw new Error('app names are lower-case words or absolute paths');
    return { name, mod: name.startsWith('/') ? ((await import(pathToFileURL(name).href)) as KitApp) : await loadKitApp(name) };
  } catch (err) {
    return { name, error: err as Error };
  }
}
const loadedApps = await Promise.all(args.apps.map(loadApp));

beat();
const heartbeat = setInterval(beat, args.heartbeatMs);

let members: number[] = membersOf(gsm.map.load32(H.memberMask));
const generationListeners: ((g: number, m: number[]) => void)[] = [];
const threads = new NodeThreads(gsm, args.node, args.incarnation, log, () => members);
void followGenerations(
  gsm,
  args.node,
  (generation, entry) => {
    if (entry) members = entry.members;
    log('membership.install', null, { generation, members: entry?.members ?? null });
    for (const l of generationListeners) l(generation, members);
    threads.relayGeneration(generation, members);
  },
  stopping.signal,
);
// The operator's kill-thread (supervisor → node): the request is in this node's
// record in GSM, SIGUSR2 says it is there.
let killSeen = gsm.map.load32(rec + N.threadKillSeq);
process.on('SIGUSR2', () => {
  const seq = gsm.map.load32(rec + N.threadKillSeq);
  if (seq === killSeen) return;
  killSeen = seq;
  const tid = gsm.map.load32(rec + N.threadKillTid);
  if (!threads.kill(tid, gsm.map.load32(rec + N.threadKillHolding) === 1)) log('thread.kill-missed', null, { tid });
});
const ctx: Omit<AppContext, 'config' | 'publishEndpoint'> = {
  node: args.node,
  incarnation: args.incarnation,
  objects,
  log,
  members: () => members,
  onGeneration: (l) => void generationListeners.push(l),
  signal: stopping.signal,
  startThread: (name, module, data) => threads.start(name, module, data),
  threads: () => threads.list(),
};

const running: { name: string; app: RunningApp }[] = [];
for (const { name, mod, error } of loadedApps) {
  try {
    if (error) throw error;
    if (typeof mod?.start !== 'function') throw new Error(`${name} does not export start()`);
    const appCtx: AppContext = {
      ...ctx,
      config: args.appConfig?.[name],
      publishEndpoint: (url) => log(APP_ENDPOINT_EVENT, name, { app: name, url }),
    };
    running.push({ name, app: await mod.start(appCtx) });
    log('app.start', name, {});
  } catch (err) {
    log('app.error', name, { message: (err as Error).message });
    process.stderr.write(`node ${args.node}: app ${name} failed to start: ${(err as Error).message}\n`);
  }
}

if (debugAgent && !agentStarted) setTimeout(() => startDebugAgent(debugAgent), args.heartbeatMs).unref();

// A graceful leave (the supervisor stopping, or `mcs down`): stop apps, then go.
process.once('SIGTERM', async () => {
  stopping.abort();
  clearInterval(heartbeat);
  for (const { app } of running) await app.stop?.();
  await threads.stopAll();
  backstop.stop();
  log('node.leave', null, { incarnation: args.incarnation });
  gsm.close();
  process.exit(0);
});
