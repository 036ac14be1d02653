// The debug agent: a helper worker thread in every node process (paper §5.3).
// It reaches the node's main thread through `inspector.Session.connectToMainThread()`
// and every other worker thread through the inspector's NodeWorker domain, so it
// keeps running (and answering the supervisor) while any of them is paused.
//
// It costs nothing until used: the V8 Debugger domain of a thread is enabled only
// when a breakpoint or a pause is asked of it, and disabled again once the thread
// needs it for nothing (releaseWhenIdle); console capture is on only while a
// debugger client is attached. If the channel to the supervisor's debugger
// service closes (the service or the supervisor went away), every thread is
// resumed and every breakpoint dropped: a node never stays wedged by a debugger
// that is gone.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import inspector from 'node:inspector';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import {
  AgentOp,
  MAX_SOURCE_CHARS,
  ServiceMessage,
  lineReader,
  parseJsonLine,
  type AgentEvent,
  type BreakSpec,
  type StackFrame,
} from './protocol';
import { functionEntries } from './function-entries';
import { inlineSourceContent, inlineSourceMap, toGenerated, toSource, type SourceMap } from './source-map';

import { AGENT_THREAD_NAME } from './agent-names';

interface AgentConfig {
  socketPath: string;
  tokenPath: string;
  node: number;
  incarnation: number;
}

type Post = (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface Script {
  url: string;
  sourceMapURL: string;
  map?: SourceMap | null;
}

interface CallFrame {
  callFrameId: string;
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

/** One application thread as the agent drives it. */
class Target {
  debuggerOn: Promise<void> | null = null;
  runtimeOn = false;
  readonly scripts = new Map<string, Script>();
  /** spec id → the spec as applied and the V8 breakpoint ids it became in this thread */
  readonly breakpoints = new Map<number, { json: string; ids: string[] }>();
  sync: Promise<void> = Promise.resolve();
  state: 'running' | 'paused' = 'running';
  /** A pause or a step was asked and its Debugger.paused has not come yet. */
  pauseExpected = false;
  idleTimer: ReturnType<typeof setTimeout> | null = null;
  frames: CallFrame[] = [];
  where: StackFrame | null = null;

  constructor(
    readonly thread: number,
    readonly name: string,
    readonly post: Post,
  ) {}
}

const config = workerData as AgentConfig;
const targets = new Map<number, Target>();
const workerSessions = new Map<string, Target>();
let breakSpecs: BreakSpec[] = [];
let capture = false;
let nextThread = 1;
let socket: net.Socket | null = null;
let closed = false;

const send = (msg: AgentEvent | Record<string, unknown>) => {
  if (socket && !socket.destroyed) socket.write(JSON.stringify(msg) + '\n');
};

const mainSession = new inspector.Session();
mainSession.connectToMainThread();
const postMain: Post = (method, params) =>
  new Promise((resolve, reject) =>
    mainSession.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve((result ?? {}) as Record<string, unknown>))),
  );

// Worker threads are reached through the main thread's inspector: messages to
// them are wrapped in NodeWorker.sendMessageToWorker, their replies and events
// come back as NodeWorker.receivedMessageFromWorker.
let workerMessageId = 0;
const workerPending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
function workerPost(sessionId: string): Post {
  return (method, params) =>
    new Promise((resolve, reject) => {
      const id = ++workerMessageId;
      workerPending.set(id, { resolve, reject });
      postMain('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method, params: params ?? {} }) }).catch((e: Error) => {
        workerPending.delete(id);
        reject(e);
      });
    });
}

// ------------------------------------------------------------------ locations

const pathOf = (url: string) => (url.startsWith('file://') ? fileURLToPath(url) : url);

function sourceMapOf(script: Script): SourceMap | null {
  if (script.map === undefined) script.map = script.sourceMapURL ? inlineSourceMap(script.sourceMapURL) : null;
  return script.map;
}

function frameOf(t: Target, f: CallFrame): StackFrame {
  const script = t.scripts.get(f.location.scriptId);
  const map = script ? sourceMapOf(script) : null;
  const srcLine = map ? toSource(map, f.location.lineNumber, f.location.columnNumber) : null;
  return {
    fn: f.functionName,
    file: pathOf(f.url || script?.url || ''),
    line: (srcLine ?? f.location.lineNumber) + 1,
    column: f.location.columnNumber + 1,
  };
}

/**
 * A stack as a developer reads it: Node's own frames below the application's
 * (the timer or tick queue an async function was resumed from) are dropped, so
 * threads stopped at the same place show the same stack whatever woke them.
 */
function stackOf(t: Target, callFrames: CallFrame[]): StackFrame[] {
  const frames = callFrames.slice(0, 256).map((f) => frameOf(t, f));
  let end = frames.length;
  while (end > 1 && frames[end - 1]!.file.startsWith('node:')) end--;
  return frames.slice(0, end);
}

/** Application scripts: the developer's files, not Node's internals or dependencies. */
const isAppScript = (url: string) => url.startsWith('file://') && !url.includes('/node_modules/');

/** FILE as a user gives it matches the end of a script's path (`debuggee.ts:12`). */
const matchesFile = (url: string, file: string) => {
  const p = pathOf(url);
  return p === file || p.endsWith(file.startsWith('/') ? file : `/${file}`);
};

/** Places `spec` in one script of `t` (if it matches), adding the V8 breakpoint ids to `ids` as they are set. */
async function place(t: Target, spec: BreakSpec, scriptId: string, script: Script, ids: string[]): Promise<void> {
  if (!isAppScript(script.url)) return;
  let locations: { line: number; column: number }[] = [];
  if (spec.file !== null && spec.line !== null) {
    if (!matchesFile(script.url, spec.file)) return;
    const map = sourceMapOf(script);
    const gen = map ? toGenerated(map, spec.line - 1) : { line: spec.line - 1, column: 0 };
    if (gen) locations = [gen];
  } else if (spec.fn !== null) {
    const { scriptSource } = (await t.post('Debugger.getScriptSource', { scriptId })) as { scriptSource: string };
    if (!scriptSource.includes(spec.fn)) return;
    locations = functionEntries(scriptSource, spec.fn);
  }
  for (const loc of locations) {
    try {
      const r = (await t.post('Debugger.setBreakpoint', {
        location: { scriptId, lineNumber: loc.line, columnNumber: loc.column },
        condition: spec.condition ?? '',
      })) as { breakpointId: string };
      ids.push(r.breakpointId);
    } catch {
      // no breakable position there (V8 refuses): other scripts may still match
    }
  }
}

const appliesTo = (spec: BreakSpec, t: Target) => !spec.threads || spec.threads.includes(t.thread);

/**
 * Brings a thread's V8 breakpoints in line with breakSpecs. Runs one at a time per
 * thread (t.sync), so a broadcast racing the thread's own start cannot double or
 * lose a breakpoint.
 */
function syncBreakpoints(t: Target): Promise<void> {
  t.sync = t.sync.then(async () => {
    if (!t.debuggerOn) return;
    await t.debuggerOn;
    const wanted = new Map(breakSpecs.filter((b) => appliesTo(b, t)).map((b) => [b.id, JSON.stringify(b)]));
    for (const [id, applied] of [...t.breakpoints]) {
      if (wanted.get(id) === applied.json) continue;
      t.breakpoints.delete(id);
      await Promise.all(applied.ids.map((b) => t.post('Debugger.removeBreakpoint', { breakpointId: b }).catch(() => undefined)));
    }
    for (const spec of breakSpecs) {
      if (!appliesTo(spec, t) || t.breakpoints.has(spec.id)) continue;
      // Registered before placing: a thread can hit a placed breakpoint while the
      // rest of its scripts are still being searched.
      const entry = { json: JSON.stringify(spec), ids: [] as string[] };
      t.breakpoints.set(spec.id, entry);
      for (const [scriptId, script] of [...t.scripts]) await place(t, spec, scriptId, script, entry.ids);
    }
  });
  return t.sync.catch(() => undefined);
}

/** A script that loads after the breakpoints were placed gets them too. */
function placeInNewScript(t: Target, scriptId: string, script: Script) {
  t.sync = t.sync.then(async () => {
    for (const spec of breakSpecs) {
      const applied = t.breakpoints.get(spec.id);
      if (applied) await place(t, spec, scriptId, script, applied.ids);
    }
  });
}

/** A thread keeps V8's debugger on this long with nothing to do: a breakpoint deleted and set again soon after is not re-enabled. */
const DEBUGGER_IDLE_MS = 3000;

const needsDebugger = (t: Target) => t.state === 'paused' || t.pauseExpected || breakSpecs.some((b) => appliesTo(b, t));

/**
 * V8's debugger, while on in a thread, instruments every promise and await of
 * that thread (its async-event bookkeeping takes the slow paths: a loop of awaits
 * runs 5-9x slower). So a thread that needs it for nothing (no breakpoint applies
 * to it, not paused, no pause or step pending) turns it off after
 * DEBUGGER_IDLE_MS: attached without breakpoints costs nothing.
 */
function releaseWhenIdle(t: Target): void {
  if (t.idleTimer) clearTimeout(t.idleTimer);
  t.idleTimer = null;
  if (!t.debuggerOn || needsDebugger(t)) return;
  t.idleTimer = setTimeout(() => {
    t.idleTimer = null;
    t.sync = t.sync.then(async () => {
      await t.debuggerOn?.catch(() => undefined);
      // Checked, marked off and disabled in one step: an enable asked after this posts after the disable.
      if (!t.debuggerOn || needsDebugger(t)) return;
      t.debuggerOn = null;
      t.breakpoints.clear();
      await t.post('Debugger.disable', {}).catch(() => undefined);
    });
  }, DEBUGGER_IDLE_MS);
}

async function enableDebugger(t: Target): Promise<void> {
  if (t.idleTimer) clearTimeout(t.idleTimer);
  t.idleTimer = null;
  t.debuggerOn ??= t.post('Debugger.enable', {}).then(() => undefined);
  await t.debuggerOn;
  await syncBreakpoints(t);
}

async function setBreakpoints(specs: BreakSpec[]): Promise<void> {
  breakSpecs = specs;
  await Promise.all([...targets.values()].map((t) => (t.debuggerOn || specs.some((b) => appliesTo(b, t)) ? enableDebugger(t) : undefined)));
  for (const t of targets.values()) releaseWhenIdle(t);
}

// ------------------------------------------------------------------ events

function onDebuggerEvent(t: Target, method: string, params: Record<string, unknown>): void {
  switch (method) {
    case 'Debugger.scriptParsed': {
      const p = params as { scriptId: string; url: string; sourceMapURL?: string };
      const script = { url: p.url, sourceMapURL: p.sourceMapURL ?? '' };
      t.scripts.set(p.scriptId, script);
      // Broadcast breakpoints reach code that loads later too.
      if (isAppScript(p.url) && t.breakpoints.size) placeInNewScript(t, p.scriptId, script);
      return;
    }
    case 'Debugger.paused': {
      const p = params as { callFrames: CallFrame[]; reason: string; hitBreakpoints?: string[] };
      if (p.reason === 'Break on start') {
        // A worker released from waitForDebuggerOnStart stops on its first line by
        // itself; that is our doing, not the user's: let it run on to the breakpoints.
        void t.post('Debugger.resume', {}).catch(() => undefined);
        return;
      }
      t.state = 'paused';
      t.pauseExpected = false;
      if (t.idleTimer) clearTimeout(t.idleTimer);
      t.idleTimer = null;
      t.frames = p.callFrames;
      const frames = stackOf(t, p.callFrames);
      t.where = frames[0] ?? null;
      const hit = new Set(p.hitBreakpoints ?? []);
      // A thread can stop at a breakpoint before the reply that gave us its id has
      // arrived: name the breakpoint once placement has caught up.
      const known = () => [...t.breakpoints].filter(([, b]) => b.ids.some((id) => hit.has(id))).map(([id]) => id);
      const report = () => send({ type: 'paused', thread: t.thread, reason: p.reason.slice(0, 64), breakpoints: known(), frames });
      if (hit.size === 0 || known().length > 0) report();
      else void t.sync.then(report, report);
      return;
    }
    case 'Debugger.resumed':
      t.state = 'running';
      t.frames = [];
      t.where = null;
      send({ type: 'resumed', thread: t.thread });
      releaseWhenIdle(t);
      return;
    case 'Runtime.consoleAPICalled': {
      if (!capture) return;
      const p = params as { type: string; args: { value?: unknown; description?: string; type: string }[] };
      const text = p.args.map((a) => (a.type === 'string' ? String(a.value) : a.description ?? JSON.stringify(a.value) ?? a.type)).join(' ');
      send({ type: 'output', thread: t.thread, level: p.type.slice(0, 16), text: text.slice(0, 65536) });
      return;
    }
  }
}

function addTarget(name: string, post: Post): Target {
  const t = new Target(nextThread++, name, post);
  targets.set(t.thread, t);
  send({ type: 'thread', thread: { thread: t.thread, name, state: 'running', where: null } });
  return t;
}

mainSession.on('inspectorNotification', (msg: { method: string; params?: Record<string, unknown> }) => {
  const main = targets.get(1);
  if (msg.method.startsWith('NodeWorker.')) return onWorkerEvent(msg.method, msg.params ?? {});
  if (main) onDebuggerEvent(main, msg.method, msg.params ?? {});
});

function onWorkerEvent(method: string, params: Record<string, unknown>): void {
  if (method === 'NodeWorker.attachedToWorker') {
    const p = params as { sessionId: string; workerInfo: { title: string; url: string }; waitingForDebugger: boolean };
    // Our own thread, and Node's module-loader threads (tsx's hooks run in one), are not the application's.
    if (p.workerInfo.title.includes(AGENT_THREAD_NAME) || p.workerInfo.url.startsWith('node:internal') || p.workerInfo.title.includes('node:internal')) {
      // Release it first: detaching does not end waitForDebuggerOnStart, and a
      // module-loader thread left waiting wedges every import in its worker.
      void workerPost(p.sessionId)('Runtime.runIfWaitingForDebugger', {})
        .catch(() => undefined)
        .then(() => postMain('NodeWorker.detach', { sessionId: p.sessionId }))
        .catch(() => undefined);
      return;
    }
    const name = p.workerInfo.title.replace(/^\[worker \d+\]\s*/, '') || p.workerInfo.url || 'worker';
    const t = addTarget(name, workerPost(p.sessionId));
    workerSessions.set(p.sessionId, t);
    // The worker waits for us before running its first line, so breakpoints set on
    // the whole set reach threads that start later before any of their code runs.
    void (async () => {
      try {
        if (breakSpecs.length) await enableDebugger(t);
        if (capture) await enableRuntime(t);
      } finally {
        await t.post('Runtime.runIfWaitingForDebugger', {}).catch(() => undefined);
      }
    })();
    return;
  }
  if (method === 'NodeWorker.detachedFromWorker') {
    const p = params as { sessionId: string };
    const t = workerSessions.get(p.sessionId);
    if (!t) return;
    workerSessions.delete(p.sessionId);
    targets.delete(t.thread);
    send({ type: 'thread-exit', thread: t.thread });
    return;
  }
  if (method === 'NodeWorker.receivedMessageFromWorker') {
    const p = params as { sessionId: string; message: string };
    const t = workerSessions.get(p.sessionId);
    let msg: { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown> };
    try {
      msg = JSON.parse(p.message);
    } catch {
      return;
    }
    if (msg.id !== undefined) {
      const pending = workerPending.get(msg.id);
      if (!pending) return;
      workerPending.delete(msg.id);
      if (msg.error) pending.reject(new Error(msg.error.message));
      else pending.resolve(msg.result ?? {});
    } else if (t && msg.method) onDebuggerEvent(t, msg.method, msg.params ?? {});
  }
}

async function enableRuntime(t: Target) {
  if (t.runtimeOn) return;
  t.runtimeOn = true;
  await t.post('Runtime.enable', {});
}

// ------------------------------------------------------------------ operations

/**
 * The text of a script `t` has loaded, in the lines stacks and breakpoints use:
 * the original that tsx's inline source map carries, else (a map without it) the
 * file itself, else what V8 runs (`Debugger.getScriptSource`, a plain JS file).
 */
async function scriptSource(t: Target, file: string): Promise<{ file: string; text: string } | null> {
  await enableDebugger(t);
  try {
    return await findSource(t, file);
  } finally {
    // Enabled only to list the thread's scripts: off again once idle.
    releaseWhenIdle(t);
  }
}

async function findSource(t: Target, file: string): Promise<{ file: string; text: string } | null> {
  for (const [scriptId, script] of t.scripts) {
    // Node's own modules too: a halted thread often stands in node:internal/timers.
    if (!script.url || !matchesFile(script.url, file)) continue;
    const p = pathOf(script.url);
    let text = script.sourceMapURL ? inlineSourceContent(script.sourceMapURL) : null;
    if (text === null && script.sourceMapURL) text = await readFile(p, 'utf8').catch(() => null);
    text ??= ((await t.post('Debugger.getScriptSource', { scriptId })) as { scriptSource: string }).scriptSource;
    return { file: p, text: text.slice(0, MAX_SOURCE_CHARS) };
  }
  return null;
}

const pick = (threads: number[]) => threads.map((n) => targets.get(n)).filter((t): t is Target => t !== undefined);

/** Prints any value as one line: JSON where it can, else its description. */
const SHOW = `function(v){try{if(typeof v==='bigint')return v+'n';if(typeof v==='function')return 'function '+(v.name||'(anonymous)');if(v===undefined)return 'undefined';var s=JSON.stringify(v);return s===undefined?String(v):s.length>4000?s.slice(0,4000)+'…':s}catch(e){return String(v)}}`;

async function evaluate(t: Target, expression: string): Promise<{ thread: number; value: string | null; error: string | null }> {
  const wrapped = `(${SHOW})((${expression}))`;
  try {
    const r =
      t.state === 'paused' && t.frames[0]
        ? await t.post('Debugger.evaluateOnCallFrame', { callFrameId: t.frames[0].callFrameId, expression: wrapped, returnByValue: true })
        : await t.post('Runtime.evaluate', { expression: wrapped, returnByValue: true, awaitPromise: false });
    const res = r as { result: { value?: unknown }; exceptionDetails?: { exception?: { description?: string }; text: string } };
    if (res.exceptionDetails)
      return { thread: t.thread, value: null, error: (res.exceptionDetails.exception?.description ?? res.exceptionDetails.text).split('\n')[0]!.slice(0, 4096) };
    return { thread: t.thread, value: String(res.result.value), error: null };
  } catch (e) {
    return { thread: t.thread, value: null, error: (e as Error).message };
  }
}

async function handle(op: AgentOp): Promise<unknown> {
  switch (op.op) {
    case 'set-breakpoints':
      await setBreakpoints(op.breakpoints);
      // The first set after connecting is what node-main waits for before starting apps.
      parentPort?.postMessage('ready');
      return null;
    case 'pause':
      await Promise.all(
        pick(op.threads).map(async (t) => {
          t.pauseExpected = true;
          await enableDebugger(t);
          await t.post('Debugger.pause', {});
        }),
      );
      return null;
    case 'resume':
      for (const t of pick(op.threads)) t.pauseExpected = false;
      await Promise.all(pick(op.threads).filter((t) => t.state === 'paused').map((t) => t.post('Debugger.resume', {})));
      return null;
    case 'step': {
      const method = op.how === 'into' ? 'Debugger.stepInto' : op.how === 'over' ? 'Debugger.stepOver' : 'Debugger.stepOut';
      await Promise.all(
        pick(op.threads)
          .filter((t) => t.state === 'paused')
          .map((t) => {
            t.pauseExpected = true;
            return t.post(method, {});
          }),
      );
      return null;
    }
    case 'evaluate':
      return Promise.all(pick(op.threads).map((t) => evaluate(t, op.expression)));
    case 'stacks':
      return pick(op.threads).map((t) => ({ thread: t.thread, frames: t.state === 'paused' ? stackOf(t, t.frames) : [] }));
    case 'source': {
      const t = targets.get(op.thread);
      return t ? scriptSource(t, op.file) : null;
    }
    case 'capture-output':
      capture = op.on;
      if (capture) await Promise.all([...targets.values()].map(enableRuntime));
      return null;
    case 'detach':
      await detachAll();
      return null;
  }
}

/** Drops every breakpoint and resumes every thread (the debugger went away). */
async function detachAll(): Promise<void> {
  breakSpecs = [];
  capture = false;
  await Promise.all(
    [...targets.values()].map(async (t) => {
      t.pauseExpected = false;
      if (t.idleTimer) clearTimeout(t.idleTimer);
      t.idleTimer = null;
      if (!t.debuggerOn) return;
      await t.debuggerOn.catch(() => undefined);
      t.breakpoints.clear();
      // Disabling the domain removes its breakpoints and resumes a paused thread.
      await t.post('Debugger.disable', {}).catch(() => undefined);
      t.debuggerOn = null;
      t.state = 'running';
    }),
  );
}

// ------------------------------------------------------------------ channel

function connect() {
  const token = readFileSync(config.tokenPath, 'utf8').trim();
  const s = net.createConnection(config.socketPath);
  socket = s;
  s.on('connect', () => {
    s.write(JSON.stringify({ type: 'hello', token, node: config.node, incarnation: config.incarnation, pid: process.pid }) + '\n');
  });
  s.on(
    'data',
    lineReader(
      (line) => {
        const msg = parseJsonLine(ServiceMessage, line);
        if (!msg) return s.destroy();
        if (msg.type === 'welcome') {
          for (const t of targets.values()) send({ type: 'thread', thread: { thread: t.thread, name: t.name, state: t.state, where: t.where } });
          return;
        }
        const op = AgentOp.safeParse(msg.request);
        if (!op.success) return send({ type: 'reply', id: msg.id, ok: false, error: 'bad request' });
        handle(op.data).then(
          (result) => send({ type: 'reply', id: msg.id, ok: true, result: result ?? null }),
          (e: Error) => send({ type: 'reply', id: msg.id, ok: false, error: e.message.slice(0, 4096) }),
        );
      },
      () => s.destroy(),
    ),
  );
  s.on('error', () => undefined);
  s.on('close', () => {
    socket = null;
    void detachAll();
    if (!closed) setTimeout(connect, 500).unref();
  });
}

async function main() {
  addTarget('main', postMain);
  // waitForDebuggerOnStart: a worker runs nothing until the agent has given it the
  // breakpoints in force (or found there are none).
  await postMain('NodeWorker.enable', { waitForDebuggerOnStart: true });
  connect();
}

void main();
// The socket keeps this thread alive; between reconnects this does.
setInterval(() => undefined, 1 << 30);
