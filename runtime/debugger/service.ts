// The debugger service, in the supervisor process: the other end of every node's
// debug agent, and the one place where threads, sets, breakpoints and freezes are
// kept. Console views and `mcs debug` reach it through the control API
// (debugCommand, debugEvents, debugState); this file is the engine, commands.ts
// the HPD command language on top of it.
//
// The heartbeat-safe freeze (paper §5.3; docs/debugger.md): a node is frozen while
// any of its threads is stopped or being halted by the debugger. While frozen, the
// service keeps its node record's `frozenUntilNs` lease a few seconds in the
// future, so the failure detector does not eject it, and the GSM freeze clock
// running, so waits on other nodes do not time out because of it. Nothing else is
// suspended: a frozen node whose process dies is still seen at once (process exit),
// and a node that is not frozen is judged by its heartbeat as always. The freeze
// ends by itself: when the last debugger client stops polling (its session lease
// runs out) every thread is resumed; if the service itself stops renewing, the
// GSM lease runs out.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setNodeFrozen } from '../gsm/freeze-clock';
import type { Gsm } from '../gsm/gsm';
import { N, nodeRecord } from '../gsm/layout';
import { monotonicNs } from '../gsm/native';
import { agentBundlePathFor, armedPathFor, tokenPathFor } from './agent';
import { bundleAgent } from './bundle';
import {
  AgentMessage,
  EvalReply,
  SourceReply,
  StacksReply,
  lineReader,
  parseJsonLine,
  type AgentOp,
  type BreakSpec,
  type StackFrame,
} from './protocol';
import { compareThreads, evaluateSet, keyOf, type SetScope, type ThreadKey, type ThreadSet } from './sets';

export type ThreadRunState = 'running' | 'halting' | 'stopped' | 'held';

export interface DebugThread extends ThreadKey {
  name: string;
  state: ThreadRunState;
  where: StackFrame | null;
  /** Why it last stopped: "breakpoint 2", "halt", "step", "barrier 3". */
  reason: string | null;
  /** A step is under way: the resume it starts with is not a thaw. */
  stepping?: boolean;
}

export type ActionKind = 'break' | 'barrier' | 'watch';

export interface Action {
  id: number;
  kind: ActionKind;
  /** FILE:LINE or FUNCTION as typed; the watched expression for a watch. */
  location: string;
  file: string | null;
  line: number | null;
  fn: string | null;
  condition: string | null;
  count: number | null;
  /** Threads it applies to (a formula: follows nodes that join later). */
  target: ThreadSet;
  targetText: string;
  /** Who stops when it triggers; null: the stop model decides. */
  stop: ThreadSet | null;
  stopText: string | null;
  enabled: boolean;
  hits: Map<string, number>;
  /** Barrier: threads held there until the whole stop set has arrived. */
  arrived: Set<string>;
  /** Watch: last value seen per thread. */
  values: Map<string, string>;
}

export interface DebugEvent {
  seq: number;
  atMs: number;
  kind: 'stopped' | 'running' | 'barrier' | 'freeze' | 'thaw' | 'thread' | 'node' | 'output' | 'watch' | 'detach';
  thread: string | null;
  text: string;
}

export interface DebuggerServiceOptions {
  stateDir: string;
  gsm: Gsm;
  /** Appends to the event log (the supervisor's store). */
  record(kind: string, object: string | null, details: unknown): void;
  heartbeatPeriodMs: number;
  heartbeatTimeoutMs: number;
  /** A client that has not called for this long has gone away (default 5 s). */
  sessionLeaseMs?: number;
}

interface AgentConn {
  node: number;
  incarnation: number;
  pid: number;
  socket: net.Socket;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
  nextId: number;
  threads: Map<number, DebugThread>;
}

export interface Session {
  id: string;
  focus: ThreadSet;
  focusText: string;
  lastSeenMs: number;
  /** Commands and polls in progress: a session that is waiting is not gone. */
  busy: number;
  /** Numbered frames of the last `stacks`, for `defset NAME @N`. */
  lastStacks: { id: number; threads: ThreadKey[] }[];
}

const RENEW_EVERY_MS = 50;
const EVENT_CAP = 10_000;
const OUTPUT_CAP = 20_000;

/** Short enough for a Unix socket path (108 bytes), private to this user. */
function socketPathFor(stateDir: string): string {
  const p = path.join(stateDir, 'debug.sock');
  if (Buffer.byteLength(p) < 100) return p;
  const dir = path.join(tmpdir(), `mcs-debug-${process.getuid?.() ?? 'u'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.sock`);
}

export class DebuggerService {
  readonly socketPath: string;
  private readonly token = randomBytes(32).toString('hex');
  private server: net.Server | null = null;
  private readonly agents = new Map<number, AgentConn>();
  readonly actions = new Map<number, Action>();
  private nextActionId = 1;
  stopModel: 'all' | 'independent' = 'all';
  private readonly frozen = new Map<number, { sinceNs: number; reason: string }>();
  /** Thawed nodes whose lease holds until they beat again: heartbeat count at the thaw. */
  /** afterFreeze: thawed (shown to a view); else only a shielded request ended. */
  private readonly thawing = new Map<number, { beats: number; untilNs: number; afterFreeze: boolean }>();
  private readonly events: DebugEvent[] = [];
  private seq = 0;
  readonly output: { seq: number; thread: ThreadKey; text: string }[] = [];
  private readonly waiters = new Set<() => void>();
  readonly sessions = new Map<string, Session>();
  readonly named = new Map<string, ThreadSet>();
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly leaseNs: number;
  private readonly graceNs: number;
  private readonly sessionLeaseMs: number;
  private captureOn = false;
  private watchTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: DebuggerServiceOptions) {
    this.socketPath = socketPathFor(opts.stateDir);
    // Long enough to ride out a busy supervisor; short enough that a freeze whose
    // service died ends within seconds.
    this.leaseNs = Math.max(2000, 4 * opts.heartbeatTimeoutMs) * 1e6;
    // After a thaw the node gets one timeout to beat again before it is judged.
    this.graceNs = (opts.heartbeatTimeoutMs + opts.heartbeatPeriodMs) * 1e6;
    this.sessionLeaseMs = opts.sessionLeaseMs ?? 5000;
  }

  async start(): Promise<void> {
    if (existsSync(this.socketPath)) rmSync(this.socketPath, { force: true });
    writeFileSync(tokenPathFor(this.socketPath), this.token, { mode: 0o600 });
    await bundleAgent(agentBundlePathFor(this.socketPath));
    const server = net.createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
    this.server = server;
    this.renewTimer = setInterval(() => this.renew(), RENEW_EVERY_MS);
    this.renewTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    for (const node of [...this.frozen.keys()]) this.thaw(node, 'debugger stopped');
    for (const a of this.agents.values()) a.socket.destroy();
    this.agents.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.socketPath, { force: true });
    for (const f of [tokenPathFor, agentBundlePathFor, armedPathFor]) rmSync(f(this.socketPath), { force: true });
    for (const w of this.waiters) w();
  }

  // ------------------------------------------------------------------ agents

  private accept(socket: net.Socket) {
    let conn: AgentConn | null = null;
    const hello = setTimeout(() => socket.destroy(), 5000);
    socket.on(
      'data',
      lineReader(
        (line) => {
          const msg = parseJsonLine(AgentMessage, line);
          if (!msg) return socket.destroy();
          if (!conn) {
            if (msg.type !== 'hello' || msg.token !== this.token) return socket.destroy();
            clearTimeout(hello);
            conn = { node: msg.node, incarnation: msg.incarnation, pid: msg.pid, socket, pending: new Map(), nextId: 1, threads: new Map() };
            this.agents.get(msg.node)?.socket.destroy();
            this.agents.set(msg.node, conn);
            socket.write(JSON.stringify({ type: 'welcome' }) + '\n');
            this.emit('node', null, `node ${msg.node} (incarnation ${msg.incarnation}) attached`);
            void this.pushBreakpoints(conn).catch(() => undefined);
            if (this.captureOn) void this.request(conn, { op: 'capture-output', on: true }).catch(() => undefined);
            return;
          }
          if (msg.type === 'hello') return;
          this.onAgentEvent(conn, msg);
        },
        () => socket.destroy(),
      ),
    );
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(hello);
      if (!conn || this.agents.get(conn.node) !== conn) return;
      this.agents.delete(conn.node);
      for (const p of conn.pending.values()) p.reject(new Error(`node ${conn.node} went away`));
      // A frozen node whose process died: the supervisor sees the exit itself; the
      // freeze must not outlive the threads it was for.
      if (this.frozen.has(conn.node)) this.thaw(conn.node, 'agent gone (node exited)');
      this.emit('node', null, `node ${conn.node} detached`);
    });
  }

  private onAgentEvent(conn: AgentConn, msg: Exclude<ReturnType<typeof AgentMessage.parse>, { type: 'hello' }>) {
    switch (msg.type) {
      case 'reply': {
        const p = conn.pending.get(msg.id);
        if (!p) return;
        conn.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(msg.error ?? 'failed'));
        return;
      }
      case 'thread': {
        const known = conn.threads.get(msg.thread.thread);
        const t: DebugThread = known ?? {
          node: conn.node,
          thread: msg.thread.thread,
          name: msg.thread.name,
          state: 'running',
          where: null,
          reason: null,
        };
        if (msg.thread.state === 'paused') {
          t.state = 'stopped';
          t.where = msg.thread.where;
        }
        conn.threads.set(t.thread, t);
        if (!known) this.emit('thread', keyOf(t), `thread ${keyOf(t)} (${t.name}) started`);
        return;
      }
      case 'thread-exit': {
        const t = conn.threads.get(msg.thread);
        conn.threads.delete(msg.thread);
        if (t) this.emit('thread', keyOf(t), `thread ${keyOf(t)} (${t.name}) exited`);
        this.refreshFreeze(conn.node);
        return;
      }
      case 'paused':
        return this.onPaused(conn, msg);
      case 'resumed': {
        const t = conn.threads.get(msg.thread);
        if (!t) return;
        t.state = t.stepping ? 'halting' : 'running';
        t.where = null;
        t.reason = null;
        this.refreshFreeze(conn.node);
        this.notify();
        return;
      }
      case 'output': {
        const thread = { node: conn.node, thread: msg.thread };
        this.output.push({ seq: ++this.seq, thread, text: msg.text });
        if (this.output.length > OUTPUT_CAP) this.output.splice(0, this.output.length - OUTPUT_CAP);
        this.pushEvent({ seq: this.seq, atMs: Date.now(), kind: 'output', thread: keyOf(thread), text: msg.text });
        return;
      }
    }
  }

  private onPaused(conn: AgentConn, msg: { thread: number; reason: string; breakpoints: number[]; frames: StackFrame[] }) {
    const t = conn.threads.get(msg.thread);
    if (!t) return;
    const key = keyOf(t);
    const wasStepping = t.stepping === true;
    t.stepping = false;
    const wasHalting = t.state === 'halting' && !wasStepping;
    t.where = msg.frames[0] ?? null;
    const hits = msg.breakpoints.map((id) => this.actions.get(id)).filter((a): a is Action => !!a && a.enabled && this.inSet(a.target, t));
    if (msg.breakpoints.length > 0 && hits.length === 0 && !wasHalting && !wasStepping) {
      // A breakpoint this thread is not a target of (or one just disabled): not a stop.
      void this.request(conn, { op: 'resume', threads: [t.thread] }).catch(() => undefined);
      return;
    }
    const counted = hits.filter((a) => {
      const n = (a.hits.get(key) ?? 0) + 1;
      a.hits.set(key, n);
      return a.count === null || n >= a.count;
    });
    if (hits.length > 0 && counted.length === 0 && !wasHalting && !wasStepping) {
      void this.request(conn, { op: 'resume', threads: [t.thread] }).catch(() => undefined);
      return;
    }
    this.freeze(conn.node, 'stopped');
    const barrier = counted.find((a) => a.kind === 'barrier');
    if (barrier) {
      t.state = 'held';
      t.reason = `barrier ${barrier.id}`;
      barrier.arrived.add(key);
      this.emit('stopped', key, `${key} arrived at barrier ${barrier.id} (${barrier.location})`);
      this.checkBarrier(barrier);
      return;
    }
    t.state = 'stopped';
    const bp = counted[0];
    t.reason = bp ? `breakpoint ${bp.id}` : wasHalting ? 'halt' : wasStepping ? 'step' : msg.reason;
    const where = t.where ? `${t.where.fn || '(anonymous)'} (${path.basename(t.where.file)}:${t.where.line})` : '?';
    this.emit('stopped', key, `${key} stopped at ${where}: ${t.reason}`);
    if (bp) {
      // A global breakpoint: the stop set (or, in the all-stop model, every thread) stops with it.
      const stopSet = bp.stop ?? (this.stopModel === 'all' ? { items: [{ kind: 'all' as const }] } : null);
      if (stopSet) void this.halt(this.evaluate(stopSet).filter((k) => keyOf(k) !== key)).catch(() => undefined);
    }
    this.notify();
  }

  private checkBarrier(b: Action) {
    const members = this.evaluate(b.stop ?? b.target);
    if (!members.every((m) => b.arrived.has(keyOf(m)))) return;
    for (const m of members) {
      const t = this.thread(m);
      if (t && t.state === 'held') t.state = 'stopped';
    }
    b.arrived.clear();
    this.emit('barrier', null, `barrier ${b.id} (${b.location}) satisfied: all ${members.length} threads arrived`);
    this.notify();
  }

  /**
   * Every request is shielded: enabling V8's debugger in a thread, or applying
   * breakpoints to all its scripts, can hold the node's main thread for a few
   * hundred ms, so the node's lease covers the request (without counting as a
   * freeze) and one heartbeat timeout after it. For one lease at most: a node
   * that hangs (or is SIGSTOPped) with a request in flight never answers, and a
   * shield held until the answer would hide the hang from the detector for good.
   */
  private request(conn: AgentConn, op: AgentOp): Promise<unknown> {
    this.shield(conn.node, +1);
    let shielded = true;
    const unshield = () => {
      if (!shielded) return;
      shielded = false;
      this.shield(conn.node, -1);
    };
    const bound = setTimeout(unshield, this.leaseNs / 1e6);
    bound.unref();
    return new Promise<unknown>((resolve, reject) => {
      const id = conn.nextId++;
      conn.pending.set(id, { resolve, reject });
      conn.socket.write(JSON.stringify({ type: 'request', id, request: op }) + '\n');
    }).finally(() => {
      clearTimeout(bound);
      unshield();
    });
  }

  private readonly shields = new Map<number, number>();
  private shield(node: number, delta: number) {
    const n = (this.shields.get(node) ?? 0) + delta;
    if (n > 0) this.shields.set(node, n);
    else this.shields.delete(node);
    const { map, layout } = this.opts.gsm;
    if (map.closed || this.frozen.has(node)) return;
    if (n > 0) map.store64n(nodeRecord(layout, node) + N.frozenUntilNs, monotonicNs() + this.leaseNs);
    else this.release(node);
  }

  /** Keeps the node's lease until it has beaten again (its main thread may have a backlog to run first), at most one lease. */
  private release(node: number, afterFreeze = false) {
    const { map, layout } = this.opts.gsm;
    const now = monotonicNs();
    this.thawing.set(node, { beats: map.load64n(nodeRecord(layout, node) + N.heartbeatCount), untilNs: now + this.leaseNs, afterFreeze });
    map.store64n(nodeRecord(layout, node) + N.frozenUntilNs, now + this.leaseNs);
  }

  /** What an agent must set: each action with the threads of its node it targets (null: all, including later ones). */
  private specsFor(node: number): BreakSpec[] {
    const conn = this.agents.get(node);
    const specs: BreakSpec[] = [];
    for (const a of this.actions.values()) {
      if (!a.enabled || a.kind === 'watch') continue;
      const mine = [...(conn?.threads.values() ?? [])];
      // Threads that do not exist yet stand in for the ones that start later: the
      // numbers 1..64 (a set may name [*.3] before node 4's third thread exists) and
      // one beyond any number, which only "every thread" formulas match.
      const present = new Set(mine.map((t) => t.thread));
      const phantoms = [...Array.from({ length: 64 }, (_, i) => i + 1).filter((n) => !present.has(n)), 1_000_000].map((thread) => ({ node, thread, state: 'running' as const }));
      const scope = this.scope([...mine.map((t) => ({ node, thread: t.thread, state: this.setState(t) })), ...phantoms]);
      const chosen = evaluateSet(a.target, scope);
      if (chosen.length === 0) continue;
      const all = chosen.some((k) => k.thread === 1_000_000);
      specs.push({
        id: a.id,
        file: a.file,
        line: a.line,
        fn: a.fn,
        condition: a.condition,
        threads: all ? null : chosen.map((k) => k.thread),
      });
    }
    return specs;
  }

  private pushBreakpoints(conn: AgentConn): Promise<unknown> {
    return this.request(conn, { op: 'set-breakpoints', breakpoints: this.specsFor(conn.node) });
  }

  /** Sends the current actions to every node; resolves when all have applied them. */
  async broadcastBreakpoints(): Promise<void> {
    const armed = [...this.actions.values()].some((a) => a.enabled && a.kind !== 'watch');
    if (armed) writeFileSync(armedPathFor(this.socketPath), '', { mode: 0o600 });
    else rmSync(armedPathFor(this.socketPath), { force: true });
    await Promise.all([...this.agents.values()].map((c) => this.pushBreakpoints(c)));
    this.updateWatchTimer();
  }

  // ------------------------------------------------------------------ threads and sets

  threads(): DebugThread[] {
    const out: DebugThread[] = [];
    for (const a of this.agents.values()) out.push(...a.threads.values());
    return out.sort(compareThreads);
  }

  thread(k: ThreadKey): DebugThread | undefined {
    return this.agents.get(k.node)?.threads.get(k.thread);
  }

  private setState(t: DebugThread): 'running' | 'stopped' | 'held' {
    return t.state === 'halting' ? 'running' : t.state;
  }

  scope(threads?: SetScope['threads']): SetScope {
    return { threads: threads ?? this.threads().map((t) => ({ node: t.node, thread: t.thread, state: this.setState(t) })), named: this.named };
  }

  evaluate(set: ThreadSet): ThreadKey[] {
    return evaluateSet(set, this.scope());
  }

  private inSet(set: ThreadSet, t: ThreadKey): boolean {
    try {
      return this.evaluate(set).some((k) => k.node === t.node && k.thread === t.thread);
    } catch {
      return false;
    }
  }

  /**
   * Each node whose lease the service holds: frozen, or thawed and waiting to beat
   * again. leaseMs is what is left of the lease in GSM (renewed every 50 ms while
   * frozen), what a view shows so an operator can see the freeze ends by itself.
   */
  leases(): { node: number; state: 'frozen' | 'thawing'; reason: string | null; frozenMs: number | null; leaseMs: number }[] {
    const { map, layout } = this.opts.gsm;
    if (map.closed) return [];
    const now = monotonicNs();
    const left = (node: number) => Math.max(0, Math.round((map.load64n(nodeRecord(layout, node) + N.frozenUntilNs) - now) / 1e6));
    const frozen = [...this.frozen].map(([node, f]) => ({ node, state: 'frozen' as const, reason: f.reason, frozenMs: Math.round((now - f.sinceNs) / 1e6), leaseMs: left(node) }));
    const thawing = [...this.thawing].filter(([n, th]) => th.afterFreeze && !this.frozen.has(n)).map(([node]) => ({ node, state: 'thawing' as const, reason: null, frozenMs: null, leaseMs: left(node) }));
    return [...frozen, ...thawing].sort((a, b) => a.node - b.node);
  }

  get sessionLeaseMillis(): number {
    return this.sessionLeaseMs;
  }

  frozenNodes(): number[] {
    return [...this.frozen.keys()].sort((a, b) => a - b);
  }

  // ------------------------------------------------------------------ execution

  private byNode(keys: readonly ThreadKey[]): Map<AgentConn, number[]> {
    const m = new Map<AgentConn, number[]>();
    for (const k of keys) {
      const conn = this.agents.get(k.node);
      if (!conn || !conn.threads.has(k.thread)) continue;
      const list = m.get(conn) ?? [];
      list.push(k.thread);
      m.set(conn, list);
    }
    return m;
  }

  /** Asks the threads to stop; their nodes are frozen from this moment. Resolves once every request is delivered. */
  async halt(keys: readonly ThreadKey[]): Promise<void> {
    const running = keys.filter((k) => this.thread(k)?.state === 'running');
    for (const k of running) this.thread(k)!.state = 'halting';
    for (const node of new Set(running.map((k) => k.node))) this.freeze(node, 'halt');
    await Promise.all([...this.byNode(running)].map(([conn, threads]) => this.request(conn, { op: 'pause', threads })));
  }

  /** Resumes stopped threads; threads held at an unsatisfied barrier stay there. */
  async go(keys: readonly ThreadKey[]): Promise<number> {
    const chosen = keys.filter((k) => {
      const t = this.thread(k);
      return t && (t.state === 'stopped' || t.state === 'halting');
    });
    await Promise.all([...this.byNode(chosen)].map(([conn, threads]) => this.request(conn, { op: 'resume', threads })));
    return chosen.length;
  }

  async step(keys: readonly ThreadKey[], how: 'into' | 'over' | 'out'): Promise<ThreadKey[]> {
    const chosen = keys.filter((k) => this.thread(k)?.state === 'stopped');
    for (const k of chosen) this.thread(k)!.stepping = true;
    await Promise.all([...this.byNode(chosen)].map(([conn, threads]) => this.request(conn, { op: 'step', threads, how })));
    return chosen;
  }

  async evaluateIn(keys: readonly ThreadKey[], expression: string): Promise<{ thread: ThreadKey; value: string | null; error: string | null }[]> {
    const parts = await Promise.all(
      [...this.byNode(keys)].map(async ([conn, threads]) => {
        try {
          const r = EvalReply.parse(await this.request(conn, { op: 'evaluate', threads, expression }));
          return r.map((a) => ({ thread: { node: conn.node, thread: a.thread }, value: a.value, error: a.error }));
        } catch (e) {
          return threads.map((thread) => ({ thread: { node: conn.node, thread }, value: null, error: (e as Error).message }));
        }
      }),
    );
    return parts.flat().sort((a, b) => compareThreads(a.thread, b.thread));
  }

  async stacks(keys: readonly ThreadKey[]): Promise<{ thread: ThreadKey; frames: StackFrame[] }[]> {
    const parts = await Promise.all(
      [...this.byNode(keys)].map(async ([conn, threads]) => {
        const r = StacksReply.parse(await this.request(conn, { op: 'stacks', threads }));
        return r.map((s) => ({ thread: { node: conn.node, thread: s.thread }, frames: s.frames }));
      }),
    );
    return parts.flat().sort((a, b) => compareThreads(a.thread, b.thread));
  }

  /** The text of FILE as thread `k` has loaded it (null: not loaded there). */
  async source(k: ThreadKey, file: string): Promise<{ file: string; text: string } | null> {
    const conn = this.agents.get(k.node);
    if (!conn || !conn.threads.has(k.thread)) return null;
    return SourceReply.parse(await this.request(conn, { op: 'source', thread: k.thread, file }));
  }

  /** Resolves when `done()` holds, re-checked on every state change, or after timeoutMs (false). */
  waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private notify() {
    for (const w of [...this.waiters]) w();
  }

  // ------------------------------------------------------------------ actions

  addAction(a: Omit<Action, 'id' | 'hits' | 'arrived' | 'values' | 'enabled'>): Action {
    const action: Action = { ...a, id: this.nextActionId++, enabled: true, hits: new Map(), arrived: new Set(), values: new Map() };
    this.actions.set(action.id, action);
    return action;
  }

  /** Removes an action; threads held at a deleted barrier become ordinary stopped threads. */
  removeAction(id: number): boolean {
    const a = this.actions.get(id);
    if (!a) return false;
    this.actions.delete(id);
    if (a.kind === 'barrier')
      for (const k of a.arrived) {
        const t = this.threads().find((x) => keyOf(x) === k);
        if (t?.state === 'held') t.state = 'stopped';
      }
    return true;
  }

  // Watches are sampled (V8 has no data watchpoints): every 100 ms the expression is
  // evaluated in each running target thread, and a change stops the stop set.
  private updateWatchTimer() {
    const any = [...this.actions.values()].some((a) => a.kind === 'watch' && a.enabled);
    if (any && !this.watchTimer) {
      this.watchTimer = setInterval(() => void this.sampleWatches(), 100);
      this.watchTimer.unref();
    } else if (!any && this.watchTimer) {
      clearInterval(this.watchTimer);
      this.watchTimer = null;
    }
  }

  private sampling = false;
  private async sampleWatches() {
    if (this.sampling) return;
    this.sampling = true;
    try {
      for (const a of [...this.actions.values()]) {
        if (a.kind !== 'watch' || !a.enabled) continue;
        const keys = this.evaluate(a.target).filter((k) => this.thread(k)?.state === 'running');
        for (const r of await this.evaluateIn(keys, a.location)) {
          if (r.value === null) continue;
          const key = keyOf(r.thread);
          const old = a.values.get(key);
          a.values.set(key, r.value);
          if (old === undefined || old === r.value) continue;
          this.emit('watch', key, `watch ${a.id}: ${a.location} changed on ${key}: ${old} -> ${r.value}`);
          const stopSet = a.stop ?? (this.stopModel === 'all' ? { items: [{ kind: 'all' as const }] } : { items: [{ kind: 'members' as const, members: [r.thread] }] });
          await this.halt(this.evaluate(stopSet));
          break;
        }
      }
    } finally {
      this.sampling = false;
    }
  }

  // ------------------------------------------------------------------ freeze

  /** Starts a freeze of `node` (idempotent): lease, freeze clock, event log. */
  freeze(node: number, reason: string): void {
    if (this.frozen.has(node)) return;
    const now = monotonicNs();
    const { map, layout } = this.opts.gsm;
    map.store64n(nodeRecord(layout, node) + N.frozenUntilNs, now + this.leaseNs);
    setNodeFrozen(map, node, true, now);
    this.frozen.set(node, { sinceNs: now, reason });
    this.opts.record('debug.freeze', `node${node}`, { node, reason, leaseMs: this.leaseNs / 1e6 });
    this.emit('freeze', null, `node ${node} frozen (${reason})`);
  }

  thaw(node: number, reason: string): void {
    const f = this.frozen.get(node);
    if (!f) return;
    const now = monotonicNs();
    const { map } = this.opts.gsm;
    if (!map.closed) {
      // The lease holds until the node has beaten again (its main thread may have a
      // backlog to run first), at most one lease: then it is judged as usual.
      this.release(node, true);
      setNodeFrozen(map, node, false, now);
    }
    this.frozen.delete(node);
    this.opts.record('debug.thaw', `node${node}`, { node, reason, frozenMs: Math.round((now - f.sinceNs) / 1e6) });
    this.emit('thaw', null, `node ${node} thawed (${reason})`);
  }

  /** A node stays frozen while any of its threads is stopped, held or being halted. */
  private refreshFreeze(node: number) {
    if (!this.frozen.has(node)) return;
    const conn = this.agents.get(node);
    const busy = conn && [...conn.threads.values()].some((t) => t.state !== 'running');
    if (!busy) this.thaw(node, 'resumed');
  }

  private renew() {
    const now = monotonicNs();
    const { map, layout } = this.opts.gsm;
    if (map.closed) return;
    for (const [node, th] of [...this.thawing]) {
      const rec = nodeRecord(layout, node);
      if (this.frozen.has(node) || this.shields.has(node)) this.thawing.delete(node);
      else if (map.load64n(rec + N.heartbeatCount) > th.beats || now > th.untilNs || !this.agents.has(node)) {
        this.thawing.delete(node);
        map.store64n(rec + N.frozenUntilNs, now + this.graceNs);
      } else map.store64n(rec + N.frozenUntilNs, now + this.leaseNs);
    }
    for (const node of new Set([...this.frozen.keys(), ...this.shields.keys()])) map.store64n(nodeRecord(layout, node) + N.frozenUntilNs, now + this.leaseNs);
    this.expireSessions();
  }

  // ------------------------------------------------------------------ sessions (clients)

  openSession(focus: ThreadSet, focusText: string): Session {
    const s: Session = { id: randomBytes(8).toString('hex'), focus, focusText, lastSeenMs: Date.now(), busy: 0, lastStacks: [] };
    this.sessions.set(s.id, s);
    if (!this.captureOn) {
      this.captureOn = true;
      for (const c of this.agents.values()) void this.request(c, { op: 'capture-output', on: true }).catch(() => undefined);
    }
    this.opts.record('debug.attach', null, { session: s.id });
    return s;
  }

  touch(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (s) s.lastSeenMs = Date.now();
    return s;
  }

  closeSession(id: string, reason: string): void {
    if (!this.sessions.delete(id)) return;
    this.opts.record('debug.detach', null, { session: id, reason });
    if (this.sessions.size === 0) void this.detachAll(reason);
  }

  private expireSessions() {
    const now = Date.now();
    for (const s of [...this.sessions.values()])
      if (s.busy === 0 && now - s.lastSeenMs > this.sessionLeaseMs) this.closeSession(s.id, 'lease expired (the debugger went away)');
  }

  /** The last client is gone: drop every action and resume every thread. */
  async detachAll(reason: string): Promise<void> {
    this.actions.clear();
    rmSync(armedPathFor(this.socketPath), { force: true });
    this.updateWatchTimer();
    this.captureOn = false;
    this.emit('detach', null, `debugger detached: ${reason}`);
    await Promise.all(
      [...this.agents.values()].map(async (c) => {
        await this.request(c, { op: 'detach' }).catch(() => undefined);
        for (const t of c.threads.values()) {
          t.state = 'running';
          t.where = null;
          t.reason = null;
        }
      }),
    );
    for (const node of [...this.frozen.keys()]) this.thaw(node, reason);
  }

  // ------------------------------------------------------------------ events

  emit(kind: DebugEvent['kind'], thread: string | null, text: string): void {
    this.pushEvent({ seq: ++this.seq, atMs: Date.now(), kind, thread, text });
  }

  private pushEvent(e: DebugEvent) {
    this.events.push(e);
    if (this.events.length > EVENT_CAP) this.events.splice(0, this.events.length - EVENT_CAP);
    this.notify();
  }

  eventsAfter(seq: number): DebugEvent[] {
    // events are in seq order: binary search would do, the cap keeps this cheap
    let i = this.events.length;
    while (i > 0 && this.events[i - 1]!.seq > seq) i--;
    return this.events.slice(i);
  }

  get lastSeq(): number {
    return this.seq;
  }
}
