// The supervisor runs one multicomputer: it creates the GSM, starts the node
// processes, orchestrates membership (its detector thread, runtime/membership/,
// judges heartbeats and fences; this file acts on the verdicts), applies the
// paper's failure semantics (§3.3–3.4) when a node dies, restarts failed nodes
// by the restart policy, and drains every node's event ring into the SQLite
// event log.
//
// Failure handling order matters and is the point of this file:
//   1. revoke the incarnation and SIGKILL the process (fencing: a node that was
//      only paused can never wake and write with a stale view);
//   2. mark its GSM contribution failed memory;
//   3. publish the new membership generation (survivors install it at once);
//   (1-3 run on whichever thread saw the failure first, usually the detector
//   thread, so a busy main thread cannot delay them: membership/fencing.ts)
//   4. drain its event ring (its last events are kept);
//   5. mark mutexes it still holds ABANDONED (the kernel's robust list did it at
//      exit; this covers any it missed) and free its hardware locks;
//   6. reclaim the objects it contributed and drop the references it held.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Gsm } from '../gsm/gsm';
import { H, MUTEX_SIZE, N, NodeSlotState, ObjectType, contribution, logRing, nodeRecord, type GsmGeometry } from '../gsm/layout';
import { monotonicNs } from '../gsm/native';
import { currentGeneration } from '../membership/generations';
import { DetectorThread, checkEveryMsFor, type DetectorMessage } from '../membership/detector-thread';
import { fenceNode } from '../membership/fencing';
import type { Published } from '../membership/publisher';
import type { Evidence } from '../membership/suspicion';
import { DebuggerService } from '../debugger/service';
import { EventQuery } from '../log/query';
import { EventRingReader, type RingEvent } from '../log/ring';
import { EventStore } from '../log/store';
import type { NodeHost, NodeProcess } from '../nodes/host';
import { APP_ENDPOINT_EVENT, encodeNodeArgs } from '../nodes/host';
import { readThreads } from '../nodes/threads';
import { forceReleaseHwLock } from '../objects/hwlock';
import { Namespace } from '../objects/namespace';
import { MUTEX_FIELDS, MUTEX_WORD, readMutexState, releaseDeadThreads } from '../objects/mutex';
import { EventFlags, resetEventAt, signalEventAt } from '../objects/event';
import { RestartPolicy, type RestartMode } from './restart-policy';
import type { ChangeListener, GenerationRecord, Multicomputer, MulticomputerOptions, NodeState, NodeView } from './types';

/** How long kill-thread waits for the thread to end (with --holding it first waits to take a mutex). */
const KILL_THREAD_TIMEOUT_MS = 10_000;

export const DEFAULT_HEARTBEAT_MS = 100;
const DRAIN_EVERY_MS = 10;
const SWEEP_EVERY_MS = 1000;
const SUPERVISOR_BEAT_MS = 50;
/** How often the main thread looks for nodes that have started (their first heartbeat). */
const JOIN_POLL_MS = 5;
const START_TIMEOUT_MS = 30_000;
const KILL_WAIT_MS = 5000;
/** The event log keeps at most 2 million rows and 30 days; the oldest go first (and that is logged). */
const LOG_RETENTION = { maxRows: 2_000_000, maxAgeMs: 30 * 24 * 3600 * 1000 };

export class ClusterError extends Error {
  constructor(
    readonly code: 'not-found' | 'conflict' | 'bad-request' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'ClusterError';
  }
}

interface Slot {
  id: number;
  state: NodeState;
  proc: NodeProcess | null;
  pid: number | null;
  incarnation: number;
  joinedGeneration: number | null;
  apps: string[];
  /** What this incarnation's apps published (APP_ENDPOINT_EVENT), by app. */
  endpoints: Map<string, string>;
  exited: Promise<void> | null;
  /** Set while its failure is being handled, so concurrent triggers join it. */
  failing: Promise<void> | null;
  /** Set when the supervisor itself asked the node to go (leave, restart). */
  expectExit: boolean;
  /** A heartbeat suspicion is open (logged once per episode). */
  suspected: boolean;
  up: (() => void) | null;
  reader: EventRingReader;
  /** Resolves when this incarnation's failure has been fully handled. */
  handled: Promise<void>;
  settle: () => void;
  /** A start in progress (operator or restart policy): a second start joins it. */
  starting: Promise<void> | null;
  /** A restart the policy has scheduled. */
  restartTimer: NodeJS.Timeout | null;
  /** An operator's restart is under way: the policy stands aside. */
  operatorRestart: boolean;
}

/** A fenced incarnation, from either thread, with what the verdict rested on. */
interface FailureRecord extends Published {
  cause: string;
  evidence: Evidence | null;
  detectedNs: number;
  by: 'detector' | 'supervisor';
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export const gsmNameFor = (cluster: string) => `/mcs-${cluster}`;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates the GSM, replacing a stale one left by a supervisor that died (its pid
 * is gone), and refusing one whose supervisor still runs.
 */
function createGsm(name: string, geometry: Partial<GsmGeometry>): { gsm: Gsm; replaced: number | null } {
  try {
    return { gsm: Gsm.create(name, geometry), replaced: null };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_GSM_EXISTS') throw err;
  }
  let owner = 0;
  try {
    const old = Gsm.attach(name);
    owner = old.map.load32(H.supervisorPid) || old.creatorPid;
    old.close();
  } catch {
    // Foreign, half-initialised or another layout: nothing can be running on it.
  }
  if (owner && isAlive(owner))
    throw new ClusterError('conflict', `multicomputer GSM ${name} is in use by a running supervisor (pid ${owner})`);
  Gsm.unlink(name);
  return { gsm: Gsm.create(name, geometry), replaced: owner };
}

export class Supervisor implements Multicomputer {
  readonly name: string;
  readonly gsm: Gsm;
  readonly namespace: Namespace;
  readonly store: EventStore;
  readonly query: EventQuery;
  readonly startedAtMs = Date.now();
  readonly startedAtNs = monotonicNs();
  readonly heartbeatPeriodMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly debugger?: DebuggerService;

  private readonly slots: Slot[] = [];
  private readonly history: GenerationRecord[] = [];
  private readonly detector: DetectorThread;
  private readonly restart: RestartPolicy;
  private readonly listeners = new Set<ChangeListener>();
  private changeQueued = false;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Per mutex id, the abandon count already logged (see abandonHeldBy). */
  private readonly abandonsLogged = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly opts: MulticomputerOptions,
    private readonly host: NodeHost,
  ) {
    if (!/^[a-z0-9_-]{1,32}$/.test(opts.name)) throw new ClusterError('bad-request', `bad multicomputer name "${opts.name}"`);
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 16)
      throw new ClusterError('bad-request', 'a multicomputer has 1 to 16 nodes');
    if (!(opts.gsmMb >= 1 && opts.gsmMb <= 4096)) throw new ClusterError('bad-request', 'each node contributes 1 to 4096 MiB of GSM');
    this.name = opts.name;
    this.heartbeatPeriodMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (!(this.heartbeatPeriodMs >= 5 && this.heartbeatPeriodMs <= 60_000))
      throw new ClusterError('bad-request', 'the heartbeat period must be 5 ms to 60 s');
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? Math.round(this.heartbeatPeriodMs * 2.5);
    if (opts.restart !== undefined && opts.restart !== 'never' && opts.restart !== 'on-failure')
      throw new ClusterError('bad-request', `the restart policy is never or on-failure, not "${String(opts.restart)}"`);
    this.restart = new RestartPolicy({ mode: opts.restart ?? 'on-failure' });

    mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
    const { gsm, replaced } = createGsm(gsmNameFor(opts.name), {
      maxNodes: 16,
      contributionBytes: Math.round(opts.gsmMb * 1024 * 1024),
    });
    try {
      this.store = EventStore.open(path.join(opts.stateDir, 'events.db'), { retention: LOG_RETENTION });
    } catch (err) {
      gsm.close();
      Gsm.unlink(gsm.name);
      throw err;
    }
    this.query = new EventQuery(this.store);
    this.gsm = gsm;
    this.gsm.map.store32(H.supervisorPid, process.pid);
    this.namespace = new Namespace(gsm, null);
    this.namespace.onRepair = (what) => this.store.record('namespace.repair', null, { what });
    this.store.record('multicomputer.start', opts.name, {
      pid: process.pid,
      nodes: opts.nodes,
      gsmBytes: gsm.layout.totalBytes,
      heartbeatMs: this.heartbeatPeriodMs,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
      restart: this.restart.mode,
      host: host.kind,
    });
    if (replaced !== null) this.store.record('gsm.stale-replaced', gsm.name, { previousSupervisorPid: replaced });
    this.detector = new DetectorThread(gsm, {
      heartbeatPeriodMs: this.heartbeatPeriodMs,
      heartbeatTimeoutMs: this.heartbeatTimeoutMs,
      checkEveryMs: checkEveryMsFor(this.heartbeatPeriodMs),
    });
    this.detector.onMessage((m) => this.onDetector(m));
    if (opts.debugger !== false)
      this.debugger = new DebuggerService({
        stateDir: opts.stateDir,
        gsm,
        record: (kind, object, details) => this.store.record(kind, object, details),
        heartbeatPeriodMs: this.heartbeatPeriodMs,
        heartbeatTimeoutMs: this.heartbeatTimeoutMs,
        sessionLeaseMs: opts.debugSessionLeaseMs,
      });
    for (let id = 0; id < gsm.layout.maxNodes; id++)
      this.slots.push({
        id,
        state: 'left',
        proc: null,
        pid: null,
        incarnation: 0,
        joinedGeneration: null,
        apps: [],
        endpoints: new Map(),
        exited: null,
        failing: null,
        expectExit: false,
        suspected: false,
        up: null,
        reader: new EventRingReader(gsm.map, logRing(gsm.layout, id), gsm.layout.logRingBytes),
        handled: Promise.resolve(),
        settle: () => undefined,
        starting: null,
        restartTimer: null,
        operatorRestart: false,
      });
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    await this.debugger?.start();
    this.beatSupervisor();
    this.timers.push(setInterval(() => this.beatSupervisor(), SUPERVISOR_BEAT_MS));
    this.timers.push(setInterval(() => this.drainRings(), DRAIN_EVERY_MS));
    this.timers.push(setInterval(() => void this.sweepReleased(), SWEEP_EVERY_MS));
    this.timers.push(setInterval(() => this.watchJoins(), JOIN_POLL_MS));
    this.recordGeneration(this.detector.publisher.change({ reset: true }), 'start');
    await this.detector.start();
    await Promise.all(Array.from({ length: this.opts.nodes }, (_, id) => this.startNode(id)));
  }

  private beatSupervisor() {
    this.gsm.map.store64n(H.supervisorBeatNs, monotonicNs());
  }

  /** Stops every node (a graceful leave), drains the last events, removes the GSM. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.slots) if (s.restartTimer) clearTimeout(s.restartTimer);
    // Paused threads would not hear SIGTERM: let them go first.
    await this.debugger?.detachAll('multicomputer stopping');
    await Promise.all(
      this.slots
        .filter((s) => s.proc && (s.state === 'up' || s.state === 'starting' || s.state === 'suspect' || s.state === 'stopped'))
        .map((s) => this.leave(s)),
    );
    for (const t of this.timers) clearInterval(t);
    await this.detector.stop();
    await this.debugger?.stop();
    this.drainRings();
    this.store.record('multicomputer.stop', this.name, {});
    this.emitChange();
    this.store.close();
    this.gsm.close();
    Gsm.unlink(this.gsm.name);
  }

  private async leave(slot: Slot) {
    slot.expectExit = true;
    this.detector.board.expectExit(slot.id, slot.incarnation);
    if (slot.pid) {
      try {
        process.kill(slot.pid, 'SIGCONT');
        process.kill(slot.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const exited = await Promise.race([slot.exited!.then(() => true), sleep(KILL_WAIT_MS).then(() => false)]);
    if (!exited && slot.pid) {
      process.kill(slot.pid, 'SIGKILL');
      await slot.exited;
    }
    this.drainRing(slot, true);
    slot.state = 'left';
    this.gsm.map.store32(nodeRecord(this.gsm.layout, slot.id) + N.state, NodeSlotState.Left);
    if (!this.stopped) {
      await this.namespace.reclaimNode(slot.id);
      this.recordGeneration(this.detector.publisher.change({ remove: slot.id }), `leave ${slot.id}`);
    }
  }

  // ------------------------------------------------------------ nodes

  private slot(id: number): Slot {
    if (!Number.isInteger(id) || id < 0 || id >= this.slots.length)
      throw new ClusterError('not-found', `no node ${id} (node slots are 0..${this.slots.length - 1})`);
    return this.slots[id];
  }

  private liveSlot(id: number): Slot {
    const s = this.slot(id);
    if (!s.proc || s.state === 'failed' || s.state === 'left')
      throw new ClusterError('conflict', `node ${id} is not running (it is ${s.state})`);
    return s;
  }

  /** Starts a new incarnation of node `id` in a clean contribution; resolves once it heartbeats. */
  private startNode(id: number): Promise<void> {
    const slot = this.slot(id);
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    if (slot.starting) return slot.starting;
    slot.starting = this.launch(slot).finally(() => {
      slot.starting = null;
      slot.operatorRestart = false;
    });
    return slot.starting;
  }

  private async launch(slot: Slot): Promise<void> {
    const id = slot.id;
    const { layout, map } = this.gsm;
    const rec = nodeRecord(layout, id);
    const incarnation = map.load32(rec + N.incarnation) + 1;
    // Whatever an earlier incarnation left is freed, and the contribution repaired
    // and made empty, before the memory is reused (a mutex there that a live
    // thread elsewhere still holds keeps its block: see Namespace.resetContribution).
    const freed = await this.namespace.resetContribution(id, () =>
      this.detector.publisher.lock.with(() => this.gsm.repairRegion(contribution(layout, id), layout.contributionBytes)),
    );
    if (freed.length) this.store.record('object.reclaimed', null, { node: id, objects: freed.map((r) => r.id), reason: 'rejoin' });
    map.store64n(rec + N.heartbeatNs, 0);
    map.store64n(rec + N.heartbeatCount, 0);
    map.store32(rec + N.revokedIncarnation, 0);
    map.store64n(rec + N.frozenUntilNs, 0);
    map.store32(rec + N.incarnation, incarnation);
    map.store32(rec + N.state, NodeSlotState.Joining);
    slot.reader.reset(id, incarnation);

    const proc = await this.host.spawn(
      encodeNodeArgs({
        gsm: this.gsm.name,
        node: id,
        incarnation,
        heartbeatMs: this.heartbeatPeriodMs,
        supervisorPid: process.pid,
        apps: this.opts.apps,
        appConfig: this.opts.appConfig,
        debugSocket: this.debugger?.socketPath,
      }),
    );
    slot.endpoints.clear();
    const handled = deferred();
    Object.assign(slot, {
      proc,
      pid: proc.pid,
      incarnation,
      state: 'starting',
      apps: this.opts.apps,
      expectExit: false,
      suspected: false,
      failing: null,
      handled: handled.promise,
      settle: handled.resolve,
    });
    map.store32(rec + N.pid, proc.pid);
    slot.exited = new Promise((resolve) =>
      proc.onExit((code, signal) => {
        resolve();
        this.onNodeExit(slot, incarnation, code, signal);
      }),
    );
    proc.onStderr((line) => this.store.record('node.stderr', `node${id}`, { line: line.slice(0, 500) }));
    this.emitChange();
    const up = new Promise<void>((resolve) => (slot.up = resolve));
    const ok = await Promise.race([up.then(() => true), slot.exited.then(() => false), sleep(START_TIMEOUT_MS).then(() => false)]);
    if (!ok && slot.incarnation === incarnation && slot.state === 'starting')
      await this.declareFailed(slot, 'did not start', true);
    if (!ok) throw new ClusterError('unavailable', `node ${id} failed to start (see \`mcs log --node ${id}\`)`);
  }

  private onNodeExit(slot: Slot, incarnation: number, code: number | null, signal: NodeJS.Signals | null) {
    if (slot.incarnation !== incarnation || slot.expectExit || slot.state === 'failed' || slot.state === 'left') return;
    void this.declareFailed(slot, signal ? `exit ${signal}` : `exit code ${code}`, false);
  }

  // ------------------------------------------------------------ failure detection

  /**
   * A node is up at its first heartbeat. Everything after that (hangs, and exits
   * the main thread is too busy to hear of) is the detector thread's.
   */
  private watchJoins() {
    const { map, layout } = this.gsm;
    for (const s of this.slots)
      if (s.state === 'starting' && !s.failing && s.proc && map.load64n(nodeRecord(layout, s.id) + N.heartbeatCount) > 0) this.markUp(s);
  }

  private onDetector(m: DetectorMessage) {
    if (this.stopped && m.kind !== 'fenced') return;
    switch (m.kind) {
      case 'observer':
        if (m.note.kind === 'stall')
          this.store.record('detector.stall', null, { lagMs: Math.round(m.note.lagMs), graceMs: m.note.graceMs });
        else this.store.record('detector.self-suspect', null, { nodes: m.note.nodes, graceMs: m.note.graceMs });
        return;
      case 'error':
        this.store.record('detector.error', null, { message: m.message.slice(0, 2000) });
        return;
      case 'suspect':
      case 'trusted': {
        const s = this.slots[m.node];
        if (s.incarnation !== m.incarnation || s.failing) return;
        s.suspected = m.kind === 'suspect';
        if (m.kind === 'suspect') {
          if (s.state === 'up') s.state = 'suspect';
          this.store.record('heartbeat.suspect', `node${s.id}`, { node: s.id, ...evidenceDetails(m.evidence) });
        } else {
          if (s.state === 'suspect') s.state = 'up';
          this.store.record('heartbeat.trusted', `node${s.id}`, { node: s.id, ...evidenceDetails(m.evidence) });
        }
        this.emitChange();
        return;
      }
      case 'fenced': {
        const s = this.slots[m.node];
        if (s.incarnation !== m.incarnation || s.failing) return;
        s.failing = this.handleFailure(s, {
          generation: m.generation,
          members: m.members,
          cause: m.cause,
          evidence: m.evidence,
          detectedNs: m.detectedNs,
          by: 'detector',
        });
        return;
      }
    }
  }

  private markUp(s: Slot) {
    s.state = 'up';
    this.gsm.map.store32(nodeRecord(this.gsm.layout, s.id) + N.state, NodeSlotState.Up);
    this.store.record('node.up', `node${s.id}`, { node: s.id, pid: s.pid, incarnation: s.incarnation });
    s.joinedGeneration = this.recordGeneration(this.detector.publisher.change({ add: s.id }), `join ${s.id}`);
    this.restart.up(s.id, Date.now());
    s.up?.();
  }

  private liveMembers(): number[] {
    return this.detector.publisher.current().members;
  }

  /** The generation as published (by this thread or the detector's) goes into the history and the log. */
  private recordGeneration(p: Published, cause: string): number {
    const record = { generation: p.generation, members: p.members, cause, atMs: Date.now() };
    // The detector thread's generations reach this thread by message, possibly
    // after a later one published here: keep the history in generation order.
    let i = this.history.length;
    while (i > 0 && this.history[i - 1].generation > p.generation) i--;
    this.history.splice(i, 0, record);
    this.store.record('membership.generation', null, { generation: p.generation, members: p.members, cause });
    this.emitChange();
    return p.generation;
  }

  /**
   * The main thread's own verdicts (an exit it heard of, a node that did not
   * start) fence here; if the detector thread got there first, its message
   * carries the rest.
   */
  private declareFailed(slot: Slot, cause: string, kill: boolean): Promise<void> {
    if (slot.failing) return slot.failing;
    const detectedNs = monotonicNs();
    const fenced = fenceNode(this.gsm, this.detector.publisher, {
      node: slot.id,
      incarnation: slot.incarnation,
      pid: slot.pid!,
      parentPid: process.pid,
      kill,
    });
    if (!fenced) return slot.handled;
    slot.failing = this.handleFailure(slot, { ...fenced, cause, evidence: null, detectedNs, by: 'supervisor' });
    return slot.failing;
  }

  private async handleFailure(slot: Slot, f: FailureRecord): Promise<void> {
    const { cause, detectedNs } = f;
    const { layout } = this.gsm;
    const pid = slot.pid!;
    // 1-3 are done: fenced, failed memory, generation published (membership/fencing.ts).
    const generation = this.recordGeneration(f, `fail ${slot.id} (${cause})`);
    // The kernel has finished the process; let the host reap it too.
    await Promise.race([slot.exited, sleep(KILL_WAIT_MS)]);
    slot.state = 'failed';
    // 4. Its last events, then the record of what happened.
    this.drainRing(slot, true);
    this.store.record('memory.failed', `node${slot.id}`, {
      node: slot.id,
      offset: contribution(layout, slot.id),
      length: layout.contributionBytes,
      reason: 'contributor failed',
    });
    // 5. Mutexes and hardware locks it held.
    this.abandonHeldBy(slot.id, pid);
    this.store.record('node.failed', `node${slot.id}`, {
      node: slot.id,
      pid,
      incarnation: slot.incarnation,
      cause,
      generation,
      fencedBy: f.by,
      ...(f.evidence ? evidenceDetails(f.evidence) : {}),
      handledMs: (monotonicNs() - detectedNs) / 1e6,
    });
    // 6. Objects (paper §3.4).
    const { reclaimed, orphaned, refsDropped } = await this.namespace.reclaimNode(slot.id);
    this.store.recordAll([
      ...reclaimed.map((r) => ({ kind: 'object.reclaimed', object: r.id, details: { name: r.name, owner: r.ownerNode, reason: `node ${slot.id} failed` } })),
      ...orphaned.map((r) => ({ kind: 'object.orphaned', object: r.id, details: { name: r.name, owner: r.ownerNode, refs: r.refs } })),
      ...(refsDropped ? [{ kind: 'object.refs-dropped', object: `node${slot.id}`, details: { node: slot.id, refs: refsDropped } }] : []),
    ]);
    slot.proc = null;
    this.emitChange();
    slot.settle();
    this.afterFailure(slot);
  }

  /** The restart policy's turn: a new incarnation after a backoff, or a logged give-up. */
  private afterFailure(slot: Slot) {
    if (this.stopped || slot.operatorRestart) return;
    const decision = this.restart.failed(slot.id, Date.now());
    if (decision.action === 'give-up') {
      this.store.record('node.restart-gave-up', `node${slot.id}`, {
        node: slot.id,
        failures: decision.failures,
        windowMs: decision.windowMs,
        reason: 'crash loop',
      });
      this.emitChange();
    } else if (decision.action === 'restart') {
      const incarnation = slot.incarnation;
      this.store.record('node.restart', `node${slot.id}`, { node: slot.id, attempt: decision.attempt, delayMs: decision.delayMs, afterIncarnation: incarnation });
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = null;
        if (this.stopped || slot.incarnation !== incarnation || slot.state !== 'failed') return;
        // A start that fails is a failure like any other: it comes back here.
        this.startNode(slot.id).catch(() => undefined);
      }, decision.delayMs);
      slot.restartTimer.unref();
    }
  }

  /**
   * The backstop to the kernel's robust lists: any global mutex (the namespace's
   * own included) whose word still names a thread that no longer exists is marked
   * owner-died, and waiter slots of dead threads are cleared with their wake
   * passed on. Only dead threads are acted on, never the mutex's current holder
   * if it lives (a survivor that took it ABANDONED and is repairing), so mutual
   * exclusion holds whatever pid the dead process had. Each mutex the dead
   * process had abandoned is logged once.
   */
  private abandonHeldBy(node: number, pid: number) {
    const { map } = this.gsm;
    const cleared = releaseDeadThreads(map, H.namespaceMutex);
    if (cleared.abandonedTid) this.store.record('mutex.abandoned', 'namespace', { holderNode: node, holderPid: pid, holderTid: cleared.abandonedTid });
    for (const r of this.namespace.list()) {
      if (r.ownerNode === node || !this.gsm.isAccessible(r.dataOffset, MUTEX_SIZE)) continue;
      if (r.type === ObjectType.Mutex || r.type === ObjectType.Mailbox) {
        const { abandonedTid, clearedWaiters } = releaseDeadThreads(map, r.dataOffset);
        const s = readMutexState(map, r.dataOffset);
        // Abandoned by this death: the word still says owner-died with it as the
        // last owner, or a survivor has taken it ABANDONED and is repairing.
        // (The abandon count tells a new abandonment from an old one by a process
        // that happened to have the same pid.)
        const byThisDeath =
          abandonedTid !== null ||
          (s.state === 'abandoned' && map.load32(r.dataOffset + MUTEX_FIELDS.ownerPid) === pid) ||
          (s.abandonedBy?.pid === pid && s.abandonedBy.node === node && this.abandonsLogged.get(r.id) !== s.abandonCount);
        this.abandonsLogged.set(r.id, s.abandonCount);
        if (byThisDeath)
          this.store.record('mutex.abandoned', r.id, { name: r.name, holderNode: node, holderPid: pid, waiters: s.waiterCount });
        if (clearedWaiters) this.store.record('mutex.waiters-cleared', r.id, { name: r.name, node, pid, waiters: clearedWaiters });
      } else if (r.type === ObjectType.HwLock) {
        if (forceReleaseHwLock(map, r.dataOffset, pid)) this.store.record('hwlock.released', r.id, { name: r.name, holderPid: pid });
      }
    }
  }

  /** Frees deleted or orphaned mutexes whose holder has let go since (see Namespace.sweep). */
  private async sweepReleased() {
    if (this.stopped) return;
    try {
      for (const r of await this.namespace.sweep()) this.store.record('object.reclaimed', r.id, { name: r.name, owner: r.ownerNode, reason: 'released' });
    } catch {
      // The namespace lock was busy or GSM is closing: the next sweep will do.
    }
  }

  // ------------------------------------------------------------ event log

  private drainRings() {
    for (const s of this.slots) if (s.incarnation > 0 && s.state !== 'left') this.drainRing(s, false);
  }

  private drainRing(slot: Slot, dead: boolean) {
    if (slot.incarnation === 0) return;
    let events: RingEvent[];
    if (dead) {
      const d = slot.reader.drainAfterDeath();
      events = d.events;
    } else {
      events = slot.reader.drain();
    }
    if (!events.length) return;
    this.store.append(events);
    for (const e of events) if (e.kind === APP_ENDPOINT_EVENT) this.noteEndpoint(slot, e.detailsJson);
  }

  private noteEndpoint(slot: Slot, detailsJson: string) {
    try {
      const d = JSON.parse(detailsJson) as { app?: unknown; url?: unknown };
      if (typeof d.app === 'string' && typeof d.url === 'string' && /^https?:\/\//.test(d.url)) {
        slot.endpoints.set(d.app, d.url);
        this.emitChange();
      }
    } catch {
      // A truncated or foreign record publishes nothing.
    }
  }

  // ------------------------------------------------------------ views

  nodes(): NodeView[] {
    const now = monotonicNs();
    const { map, layout } = this.gsm;
    return this.slots
      .filter((s) => s.incarnation > 0)
      .map((s) => {
        const rec = nodeRecord(layout, s.id);
        const beat = map.load64n(rec + N.heartbeatNs);
        const running = s.state !== 'failed' && s.state !== 'left';
        return {
          id: s.id,
          state: s.state,
          pid: running ? s.pid : null,
          incarnation: s.incarnation,
          heartbeatAgeMs: running && beat > 0 ? Math.max(0, (now - beat) / 1e6) : null,
          joinedGeneration: s.joinedGeneration,
          gsmHousedBytes: layout.contributionBytes,
          gsmUsedBytes: map.load64n(rec + N.usedBytes),
          contributionFailed: !this.gsm.isAccessible(contribution(layout, s.id), layout.contributionBytes),
          apps: s.apps,
          ...this.suspicionView(s, running),
          threads: running ? readThreads(this.gsm, s.id) : [],
          endpoints: running ? [...s.endpoints].map(([app, url]) => ({ app, url })) : [],
        };
      });
  }

  /** The detector's latest evidence about a running node (it writes it on every check). */
  private suspicionView(s: Slot, running: boolean) {
    const e = running ? this.detector.board.readEvidence(s.id, s.incarnation) : null;
    return {
      suspicion: e ? e.suspicion : null,
      expectedIntervalMs: e ? e.expectedIntervalMs : null,
      deadlineMs: e ? e.deadlineMs : null,
      detectorLagMs: this.detector.board.readObserver().detectorLagMs,
      restarts: this.restart.restarts(s.id),
      restartGaveUp: this.restart.gaveUp(s.id),
    };
  }

  generation(): number {
    return currentGeneration(this.gsm);
  }

  get restartPolicy(): RestartMode {
    return this.restart.mode;
  }

  setRestartPolicy(mode: RestartMode): void {
    if (mode !== 'never' && mode !== 'on-failure') throw new ClusterError('bad-request', `the restart policy is never or on-failure, not "${String(mode)}"`);
    if (mode === this.restart.mode) return;
    this.store.record('operator.restart-policy', null, { from: this.restart.mode, to: mode });
    this.restart.mode = mode;
    if (mode === 'never')
      for (const s of this.slots)
        if (s.restartTimer) {
          clearTimeout(s.restartTimer);
          s.restartTimer = null;
        }
    this.emitChange();
  }

  /** The detector thread's view of itself: how late its last check was, and how many it has made. */
  detectorHealth(): { detectorLagMs: number; localHealth: number; checks: number; stalls: number } {
    return this.detector.board.readObserver();
  }

  members(): number[] {
    return this.liveMembers();
  }

  generations(): GenerationRecord[] {
    return this.history.map((g) => ({ ...g, members: [...g.members] }));
  }

  /** When each running node last installed a generation (monotonic ns): the detect benchmark's clock. */
  installedAt(node: number): { generation: number; atNs: number } {
    const rec = nodeRecord(this.gsm.layout, node);
    return { generation: this.gsm.map.load32(rec + N.installedGeneration), atNs: this.gsm.map.load64n(rec + N.installedAtNs) };
  }

  // ------------------------------------------------------------ operator actions

  async killNode(id: number): Promise<void> {
    const s = this.liveSlot(id);
    this.store.record('fault.kill', `node${id}`, { node: id, pid: s.pid, signal: 'SIGKILL' });
    process.kill(s.pid!, 'SIGKILL');
    await s.exited;
    await this.declareFailed(s, 'exit SIGKILL', false);
    await s.handled;
  }

  async killThread(id: number, name: string, holding: boolean): Promise<{ tid: number }> {
    const s = this.liveSlot(id);
    if (s.state === 'stopped') throw new ClusterError('conflict', `node ${id} is stopped: continue it first`);
    const running = readThreads(this.gsm, id).filter((t) => t.state === 'running');
    const t = running.find((x) => x.name === name);
    if (!t) throw new ClusterError('not-found', `node ${id} runs no thread named "${name}" (running: ${running.map((x) => x.name).join(', ') || 'none'})`);
    if (t.kind === 'main') throw new ClusterError('conflict', `"${name}" is node ${id}'s main thread: kill the node instead`);
    this.store.record('fault.kill-thread', `node${id}`, { node: id, pid: s.pid, tid: t.tid, name, holding });
    const rec = nodeRecord(this.gsm.layout, id);
    const map = this.gsm.map;
    map.store32(rec + N.threadKillTid, t.tid);
    map.store32(rec + N.threadKillHolding, holding ? 1 : 0);
    map.add32(rec + N.threadKillSeq, 1);
    process.kill(s.pid!, 'SIGUSR2');
    // Resolves once the thread is gone (with holding: once it has taken a mutex and died).
    const deadline = Date.now() + KILL_THREAD_TIMEOUT_MS;
    while (readThreads(this.gsm, id).some((x) => x.tid === t.tid && x.state === 'running')) {
      if (Date.now() > deadline || !s.proc || s.state === 'failed') throw new ClusterError('unavailable', `thread ${name} (tid ${t.tid}) of node ${id} did not end within ${KILL_THREAD_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return { tid: t.tid };
  }

  stopNode(id: number): void {
    const s = this.liveSlot(id);
    this.store.record('fault.stop', `node${id}`, { node: id, pid: s.pid, signal: 'SIGSTOP' });
    process.kill(s.pid!, 'SIGSTOP');
    s.state = 'stopped';
    this.emitChange();
  }

  contNode(id: number): void {
    const s = this.liveSlot(id);
    if (s.state !== 'stopped') throw new ClusterError('conflict', `node ${id} is not stopped (it is ${s.state})`);
    process.kill(s.pid!, 'SIGCONT');
    this.store.record('operator.cont', `node${id}`, { node: id, pid: s.pid });
    s.state = 'up';
    this.emitChange();
  }

  async restartNode(id: number): Promise<void> {
    const s = this.slot(id);
    if (s.incarnation === 0) throw new ClusterError('not-found', `node ${id} has never run; use add-node`);
    this.store.record('operator.restart', `node${id}`, { node: id });
    // The operator's restart replaces the policy's, and forgives a crash loop.
    s.operatorRestart = true;
    this.restart.reset(id);
    if (s.failing) await s.failing;
    if (s.proc && s.state !== 'failed' && s.state !== 'left') await this.killNode(id);
    await this.startNode(id);
  }

  async addNode(): Promise<number> {
    const free = this.slots.find((s) => s.incarnation === 0 || s.state === 'left');
    if (!free) throw new ClusterError('conflict', `all ${this.slots.length} node slots are in use`);
    this.store.record('operator.add-node', `node${free.id}`, { node: free.id });
    this.restart.reset(free.id);
    await this.startNode(free.id);
    return free.id;
  }

  async failMemory(target: { node: number } | { offset: number; length: number }): Promise<void> {
    const { layout } = this.gsm;
    let offset: number;
    let length: number;
    if ('node' in target) {
      this.slot(target.node);
      offset = contribution(layout, target.node);
      length = layout.contributionBytes;
    } else {
      ({ offset, length } = target);
    }
    try {
      this.gsm.failRegion(offset, length);
    } catch (err) {
      throw new ClusterError('bad-request', (err as Error).message);
    }
    this.store.record('fault.memory', 'node' in target ? `node${target.node}` : null, { offset, length });
    this.emitChange();
  }

  private resolveObject(target: string, type: ObjectType) {
    try {
      return this.namespace.resolve(target, type);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new ClusterError(code === 'not-found' ? 'not-found' : 'bad-request', (err as Error).message);
    }
  }

  async releaseMutex(target: string): Promise<void> {
    const r = this.resolveObject(target, ObjectType.Mutex);
    const map = this.gsm.map;
    const tid = map.load32(r.dataOffset) & MUTEX_WORD.FUTEX_TID_MASK;
    if (!tid) throw new ClusterError('conflict', `mutex ${r.name} (${r.id}) is not held`);
    const pid = map.load32(r.dataOffset + MUTEX_FIELDS.ownerPid);
    map.mutexAbandon(r.dataOffset, tid);
    this.store.record('operator.release-mutex', r.id, { name: r.name, holderPid: pid, holderTid: tid });
  }

  async signalEvent(target: string): Promise<void> {
    const r = this.resolveObject(target, ObjectType.Event);
    signalEventAt(this.gsm.map, r.dataOffset, (r.flags & EventFlags.ManualReset) !== 0);
    this.store.record('operator.signal-event', r.id, { name: r.name });
  }

  async resetEvent(target: string): Promise<void> {
    const r = this.resolveObject(target, ObjectType.Event);
    resetEventAt(this.gsm.map, r.dataOffset);
    this.store.record('operator.reset-event', r.id, { name: r.name });
  }

  // ------------------------------------------------------------ change feed

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emitChange() {
    if (this.changeQueued) return;
    this.changeQueued = true;
    queueMicrotask(() => {
      this.changeQueued = false;
      for (const l of this.listeners) l();
    });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** What a verdict rested on, as the event log records it. */
function evidenceDetails(e: Evidence) {
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    suspicion: r(e.suspicion),
    silentMs: r(e.silentMs),
    expectedIntervalMs: r(e.expectedIntervalMs),
    deadlineMs: r(e.deadlineMs),
    detectorLagMs: r(e.detectorLagMs),
    localHealth: e.localHealth,
  };
}

/** Starts a multicomputer (headless host unless another is given) and waits until every node is up. */
export async function startMulticomputer(opts: MulticomputerOptions, host?: NodeHost): Promise<Supervisor> {
  const chosen = host ?? (await import('../nodes/host-node')).nodeHost;
  if (!existsSync(opts.stateDir)) mkdirSync(opts.stateDir, { recursive: true, mode: 0o700 });
  const sup = new Supervisor(opts, chosen);
  try {
    await sup.start();
  } catch (err) {
    await sup.stop();
    throw err;
  }
  return sup;
}
