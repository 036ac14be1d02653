// The supervisor runs one multicomputer: it creates the GSM, starts the node
// processes, is the membership authority (failure detection, fencing, ordered
// generations), applies the paper's failure semantics (§3.3–3.4) when a node
// dies, and drains every node's event ring into the SQLite event log.
//
// Failure handling order matters and is the point of this file:
//   1. revoke the incarnation and SIGKILL the process (fencing: a node that was
//      only paused can never wake and write with a stale view);
//   2. mark its GSM contribution failed memory;
//   3. publish the new membership generation (survivors install it at once);
//   4. drain its event ring (its last events are kept);
//   5. mark mutexes it still holds ABANDONED (the kernel's robust list did it at
//      exit; this covers any it missed) and free its hardware locks;
//   6. reclaim the objects it contributed and drop the references it held.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Gsm, initContribution } from '../gsm/gsm';
import { H, MUTEX_SIZE, N, NodeSlotState, ObjectType, contribution, logRing, nodeRecord, type GsmGeometry } from '../gsm/layout';
import { monotonicNs } from '../gsm/native';
import { DebuggerService } from '../debugger/service';
import { publishGeneration } from '../membership/generations';
import { EventQuery } from '../log/query';
import { EventRingReader, type RingEvent } from '../log/ring';
import { EventStore } from '../log/store';
import type { NodeHost, NodeProcess } from '../nodes/host';
import { encodeNodeArgs } from '../nodes/host';
import { forceReleaseHwLock } from '../objects/hwlock';
import { Namespace } from '../objects/namespace';
import { MUTEX_FIELDS, MUTEX_WORD, readMutexState, releaseDeadThreads } from '../objects/mutex';
import { EventFlags, resetEventAt, signalEventAt } from '../objects/event';
import type { ChangeListener, GenerationRecord, Multicomputer, MulticomputerOptions, NodeState, NodeView } from './types';

export const DEFAULT_HEARTBEAT_MS = 100;
const DRAIN_EVERY_MS = 10;
const SUPERVISOR_BEAT_MS = 50;
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
  exited: Promise<void> | null;
  /** Set while its failure is being handled, so concurrent triggers join it. */
  failing: Promise<void> | null;
  /** Set when the supervisor itself asked the node to go (leave, restart). */
  expectExit: boolean;
  /** A heartbeat suspicion is open (logged once per episode). */
  suspected: boolean;
  up: (() => void) | null;
  reader: EventRingReader;
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
  private generationNo = 0;
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
      host: host.kind,
    });
    if (replaced !== null) this.store.record('gsm.stale-replaced', gsm.name, { previousSupervisorPid: replaced });
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
        exited: null,
        failing: null,
        expectExit: false,
        suspected: false,
        up: null,
        reader: new EventRingReader(gsm.map, logRing(gsm.layout, id), gsm.layout.logRingBytes),
      });
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    await this.debugger?.start();
    this.beatSupervisor();
    this.timers.push(setInterval(() => this.beatSupervisor(), SUPERVISOR_BEAT_MS));
    this.timers.push(setInterval(() => this.drainRings(), DRAIN_EVERY_MS));
    this.timers.push(setInterval(() => this.detectFailures(), Math.max(1, Math.floor(this.heartbeatPeriodMs / 4))));
    this.publish([], 'start');
    await Promise.all(Array.from({ length: this.opts.nodes }, (_, id) => this.startNode(id)));
  }

  private beatSupervisor() {
    this.gsm.map.store64n(H.supervisorBeatNs, monotonicNs());
  }

  /** Stops every node (a graceful leave), drains the last events, removes the GSM. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Paused threads would not hear SIGTERM: let them go first.
    await this.debugger?.detachAll('multicomputer stopping');
    await Promise.all(
      this.slots
        .filter((s) => s.proc && (s.state === 'up' || s.state === 'starting' || s.state === 'suspect' || s.state === 'stopped'))
        .map((s) => this.leave(s)),
    );
    for (const t of this.timers) clearInterval(t);
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
      this.publish(this.liveMembers(), `leave ${slot.id}`);
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
  private async startNode(id: number): Promise<void> {
    const slot = this.slot(id);
    const { layout, map } = this.gsm;
    const rec = nodeRecord(layout, id);
    const incarnation = map.load32(rec + N.incarnation) + 1;
    // Whatever an earlier incarnation left is freed before the memory is reused.
    const freed = await this.namespace.resetContribution(id, () => initContribution(map, layout, id));
    this.gsm.repairRegion(contribution(layout, id), layout.contributionBytes);
    if (freed.length) this.store.record('object.reclaimed', null, { node: id, objects: freed.map((r) => r.id), reason: 'rejoin' });
    map.store64n(rec + N.heartbeatNs, 0);
    map.store64n(rec + N.heartbeatCount, 0);
    map.store32(rec + N.revokedIncarnation, 0);
    map.store64n(rec + N.frozenUntilNs, 0);
    map.store32(rec + N.incarnation, incarnation);
    map.store32(rec + N.state, NodeSlotState.Joining);
    slot.reader.reset(id, incarnation);

    const proc = this.host.spawn(
      encodeNodeArgs({
        gsm: this.gsm.name,
        node: id,
        incarnation,
        heartbeatMs: this.heartbeatPeriodMs,
        supervisorPid: process.pid,
        apps: this.opts.apps,
        debugSocket: this.debugger?.socketPath,
      }),
    );
    Object.assign(slot, { proc, pid: proc.pid, incarnation, state: 'starting', apps: this.opts.apps, expectExit: false, suspected: false, failing: null });
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
      await this.declareFailed(slot, 'did not start');
    if (!ok) throw new ClusterError('unavailable', `node ${id} failed to start (see \`mcs log --node ${id}\`)`);
  }

  private onNodeExit(slot: Slot, incarnation: number, code: number | null, signal: NodeJS.Signals | null) {
    if (slot.incarnation !== incarnation || slot.expectExit || slot.state === 'failed' || slot.state === 'left') return;
    void this.declareFailed(slot, signal ? `exit ${signal}` : `exit code ${code}`);
  }

  // ------------------------------------------------------------ failure detection

  /** Heartbeat verdicts are suspicions; fencing (killing) makes acting on them safe. */
  private detectFailures() {
    const now = monotonicNs();
    const { map, layout } = this.gsm;
    for (const s of this.slots) {
      if (!s.proc || s.failing) continue;
      const rec = nodeRecord(layout, s.id);
      if (s.state === 'starting') {
        if (map.load64n(rec + N.heartbeatCount) > 0) this.markUp(s);
        continue;
      }
      if (s.state !== 'up' && s.state !== 'suspect' && s.state !== 'stopped') continue;
      // The debugger's heartbeat-safe freeze: a frozen node is not ejected, but
      // the freeze expires by itself if the debugger goes away.
      if (map.load64n(rec + N.frozenUntilNs) > now) continue;
      const ageMs = (now - map.load64n(rec + N.heartbeatNs)) / 1e6;
      if (ageMs > this.heartbeatTimeoutMs) {
        void this.declareFailed(s, `hung ${Math.round(ageMs)} ms`);
      } else if (ageMs > this.heartbeatPeriodMs * 1.5 && !s.suspected) {
        s.suspected = true;
        if (s.state === 'up') s.state = 'suspect';
        this.store.record('heartbeat.suspect', `node${s.id}`, { node: s.id, ageMs: Math.round(ageMs) });
        this.emitChange();
      } else if (ageMs <= this.heartbeatPeriodMs * 1.5 && s.suspected) {
        s.suspected = false;
        if (s.state === 'suspect') s.state = 'up';
        this.emitChange();
      }
    }
  }

  private markUp(s: Slot) {
    s.state = 'up';
    this.gsm.map.store32(nodeRecord(this.gsm.layout, s.id) + N.state, NodeSlotState.Up);
    this.store.record('node.up', `node${s.id}`, { node: s.id, pid: s.pid, incarnation: s.incarnation });
    s.joinedGeneration = this.publish(this.liveMembers(), `join ${s.id}`);
    s.up?.();
  }

  private liveMembers(): number[] {
    return this.slots.filter((s) => s.state === 'up' || s.state === 'suspect' || s.state === 'stopped').map((s) => s.id);
  }

  private publish(members: number[], cause: string): number {
    const generation = ++this.generationNo;
    publishGeneration(this.gsm, generation, members);
    this.history.push({ generation, members, cause, atMs: Date.now() });
    this.store.record('membership.generation', null, { generation, members, cause });
    this.emitChange();
    return generation;
  }

  private declareFailed(slot: Slot, cause: string): Promise<void> {
    if (slot.failing) return slot.failing;
    slot.failing = this.handleFailure(slot, cause);
    return slot.failing;
  }

  private async handleFailure(slot: Slot, cause: string): Promise<void> {
    const detectedNs = monotonicNs();
    const { map, layout } = this.gsm;
    const rec = nodeRecord(layout, slot.id);
    const pid = slot.pid!;
    // 1. Fence.
    slot.state = 'failed';
    map.store32(rec + N.revokedIncarnation, slot.incarnation);
    map.store32(rec + N.state, NodeSlotState.Failed);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already dead
    }
    await Promise.race([slot.exited, sleep(KILL_WAIT_MS)]);
    // 2. Its GSM becomes failed memory.
    this.gsm.failRegion(contribution(layout, slot.id), layout.contributionBytes);
    // 3. Membership: survivors learn at once (the kernel already marked the dead
    // threads' robust mutexes owner-died when the process exited).
    const generation = this.publish(this.liveMembers(), `fail ${slot.id} (${cause})`);
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
      handledMs: (monotonicNs() - detectedNs) / 1e6,
    });
    // 6. Objects (paper §3.4).
    const { reclaimed, orphaned, refsDropped } = await this.namespace.reclaimNode(slot.id);
    for (const r of reclaimed) this.store.record('object.reclaimed', r.id, { name: r.name, owner: r.ownerNode, reason: `node ${slot.id} failed` });
    for (const r of orphaned) this.store.record('object.orphaned', r.id, { name: r.name, owner: r.ownerNode, refs: r.refs });
    if (refsDropped) this.store.record('object.refs-dropped', `node${slot.id}`, { node: slot.id, refs: refsDropped });
    slot.proc = null;
    this.emitChange();
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
    if (events.length) this.store.append(events);
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
        };
      });
  }

  generation(): number {
    return this.generationNo;
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
    await this.declareFailed(s, 'exit SIGKILL');
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
    if (s.failing) await s.failing;
    if (s.proc && s.state !== 'failed' && s.state !== 'left') await this.killNode(id);
    await this.startNode(id);
  }

  async addNode(): Promise<number> {
    const free = this.slots.find((s) => s.incarnation === 0 || s.state === 'left');
    if (!free) throw new ClusterError('conflict', `all ${this.slots.length} node slots are in use`);
    this.store.record('operator.add-node', `node${free.id}`, { node: free.id });
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
