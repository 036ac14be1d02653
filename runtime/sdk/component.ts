// McsComponent: the recoverable programming model of the MCS paper (§3.5–3.6)
// plus the declarative consistent-state block it proposed as future work (§7.1).
//
// Every instance of a component (one per node) keeps enough local information to
// rebuild its contribution to global state. Recovery is a global event: any
// instance that detects a failure bumps the component's recovery generation in
// its GSM record; every instance's recovery task then runs the same phases,
// restarting from scratch whenever the generation moves again:
//
//   A quiesce   wait until this node's workers are out of consistent blocks
//               (they back out at their next step once recovery is requested)
//   B master    agree on members (live instances) and the master (sticky;
//               lowest live member when the master is gone); the master
//               allocates or keeps the master area and rebuilds it (buildMaster)
//   C rebuild   every instance re-contributes its local state (rebuild)
//   D complete  when every member has rebuilt, the generation is complete and
//               workers blocked at lockout go on
//
// A recovery task is an asynchronous task of the node's main thread, one per
// component instance, serialized per node (one node process, one loop): it has
// to share the instance's local state (its lists, handles, local copies of ids)
// with the workers, which a separate isolate could not.
import { monotonicNs } from '../gsm/native';
import { ObjectError } from '../objects/errors';
import type { GlobalEvent } from '../objects/event';
import type { LockStatus } from '../objects/mutex';
import { C, I, InstanceState, type ComponentRecord } from './component-record';
import { LocalMutex, type Lockable } from './local-mutex';
import type { Area, ComponentSpace, Region } from './space';

export type RecoveryStatus = 'OK' | 'RECOVERING' | 'UNRECOVERABLE';

/** Thrown inside a consistent block: global state changed under it; the block is backed out and re-run. */
export class Recovering extends Error {
  constructor(readonly reason: string) {
    super(`recovery: ${reason}`);
    this.name = 'Recovering';
  }
}

/** The component cannot serve (its shared state failed unrecoverably, it stopped, or recovery outlasted a deadline). */
export class Unrecoverable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unrecoverable';
  }
}

class Restart extends Error {}

export interface RecoveryContext {
  /** The recovery generation being established. */
  readonly generation: number;
  readonly members: readonly number[];
  readonly master: number;
  readonly isMaster: boolean;
  /** The master shared area (in the master's contribution). */
  readonly area: Area;
  /** True when the area was just allocated (first build, or relocated to a new master). */
  readonly fresh: boolean;
  /** Throws (restarting recovery) if a newer recovery was requested: call it between steps. */
  check(): void;
  /** Locks a mutex for recovery work (ABANDONED is made consistent: recovery is the repair). */
  lock(m: Lockable): Promise<void>;
  unlock(m: Lockable): void;
}

export interface ComponentOptions {
  name: string;
  /** Size of the master shared area (0: none). */
  masterAreaBytes: number;
  /** How long a member may take for one recovery phase before it is dropped from the component. */
  phaseTimeoutMs?: number;
  /** How long a worker's mutex wait may last before it counts as a failure (paper §3.6.5). */
  lockTimeoutMs?: number;
}

const LOCK_SLICE_MS = 20;
const LOOP_WAIT_MS = 100;
/** Backoff after a recovery that failed: 20 ms, doubling, at most 2 s. */
const RETRY_FIRST_MS = 20;
const RETRY_MAX_MS = 2000;

/** A per-process queue in front of each mutex: async workers of one thread would otherwise "recursively" lock it. */
const gates = new WeakMap<Lockable, LocalMutex>();
const gateOf = (m: Lockable) => {
  let g = gates.get(m);
  if (!g) gates.set(m, (g = new LocalMutex(`gate:${m.id}`)));
  return g;
};

export abstract class McsComponent {
  readonly name: string;
  protected rec!: ComponentRecord;
  /** The recovery generation this instance's view of global state belongs to. */
  private view = 0;
  private viewMembers: number[] = [];
  private memoryFailuresAtView = 0;
  private lockouts = 0;
  private running = false;
  private stopped = false;
  private unrecoverable: string | null = null;
  private area: Area | null = null;
  private master = -1;
  private waiters: (() => void)[] = [];
  private poke: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private startedRecovery = 0;
  /** Recoveries in a row that ended in an error: each waits twice as long before the next. */
  private failedRecoveries = 0;
  /** Completed recoveries seen by this instance (durations in ms), newest last. */
  readonly recoveries: { generation: number; ms: number; cause: string }[] = [];

  protected constructor(
    readonly space: ComponentSpace,
    private readonly opts: ComponentOptions,
  ) {
    this.name = opts.name;
  }

  get node(): number {
    return this.space.node;
  }
  get members(): readonly number[] {
    return this.viewMembers;
  }
  get masterNode(): number {
    return this.master;
  }
  get isMaster(): boolean {
    return this.master === this.node;
  }
  /** The master shared area of the current view (null before the first recovery). */
  get masterArea(): Area | null {
    return this.area;
  }
  get recoveryGeneration(): number {
    return this.view;
  }

  // ------------------------------------------------------------ hooks

  /** One-time local initialisation: no dependency on other nodes or remote GSM (paper §3.6.3). */
  protected initLocal(): Promise<void> | void {}
  /** Master only, in every recovery: (re)build the shared structures of the master area. */
  protected buildMaster(_rc: RecoveryContext): Promise<void> | void {}
  /** Every instance, in every recovery, after the master: contribute this instance's local state. */
  protected rebuild(_rc: RecoveryContext): Promise<void> | void {}
  /**
   * Every instance, after each recovery completed and its workers went on: work
   * that need not hold them back, such as closing handles to objects the
   * recovery replaced. It runs beside the workers; an error is logged
   * (`recovery.error`) and does not undo the recovery.
   */
  protected afterRecovery(_generation: number): Promise<void> | void {}
  /** Called after the instance left (stop): drop local handles. */
  protected cleanup(): Promise<void> | void {}

  // ------------------------------------------------------------ life cycle

  /**
   * Initialises locally, joins the component and builds shared state, retried
   * until it completes; resolves 'UNRECOVERABLE' if it cannot (paper §3.6.3).
   */
  async start(): Promise<'OK' | 'UNRECOVERABLE'> {
    try {
      await this.initLocal();
    } catch (err) {
      this.unrecoverable = `initialisation failed: ${(err as Error).message}`;
      return 'UNRECOVERABLE';
    }
    this.rec = await this.space.register(this.name, this.opts.masterAreaBytes);
    const me = this.node;
    this.rec.setInst(me, I.quiesced, 0);
    this.rec.setInst(me, I.recovered, 0);
    this.rec.setInst(me, I.lockouts, 0);
    this.rec.setInst(me, I.pid, process.pid);
    this.rec.setInst(me, I.incarnation, this.space.incarnation);
    this.rec.setInst(me, I.state, InstanceState.Joined);
    this.rec.request(this.rec.u32(C.recoveryGeneration), `join node ${me}`);
    this.space.onGeneration(() => this.poke?.());
    this.loopDone = this.loop();
    const status = await this.lockoutRecovery();
    if (status === 'OK') this.allowRecovery();
    return status === 'OK' ? 'OK' : 'UNRECOVERABLE';
  }

  /** Leaves the component: the others recover without this instance. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.poke?.();
    this.wakeWorkers();
    await this.loopDone?.catch(() => undefined);
    if (this.rec) {
      this.rec.setInst(this.node, I.state, InstanceState.Left);
      this.rec.request(this.rec.u32(C.recoveryGeneration), `leave node ${this.node}`);
    }
    await this.cleanup();
    await this.area?.close();
  }

  // ------------------------------------------------------------ workers (paper Figure 3)

  /** Waits until no recovery is pending or running, then keeps recovery out until allowRecovery(). */
  async lockoutRecovery(deadlineMs = Infinity): Promise<'OK' | 'UNRECOVERABLE'> {
    const deadline = performance.now() + deadlineMs;
    for (;;) {
      if (this.unrecoverable || this.stopped) return 'UNRECOVERABLE';
      if (this.tryLockout()) return 'OK';
      const left = deadline - performance.now();
      if (left <= 0) return 'UNRECOVERABLE';
      this.poke?.();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, LOOP_WAIT_MS));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The uncontended lockout: no recovery pending or running. */
  private tryLockout(): boolean {
    if (this.running || this.view === 0 || this.unrecoverable || this.stopped || this.rec.u32(C.recoveryGeneration) !== this.view) return false;
    this.lockouts++;
    this.rec.addInst(this.node, I.lockouts, 1);
    return true;
  }

  allowRecovery(): void {
    if (this.lockouts <= 0) throw new Error('allowRecovery() without lockoutRecovery()');
    this.lockouts--;
    this.rec.addInst(this.node, I.lockouts, -1);
    // Only a recovery waiting for the workers needs to know (not every request).
    if (this.lockouts === 0 && (this.running || this.rec.u32(C.recoveryGeneration) !== this.view)) this.poke?.();
  }

  /** OK while the view locked out is still current; RECOVERING once a recovery was requested. */
  status(): RecoveryStatus {
    if (this.unrecoverable || this.stopped) return 'UNRECOVERABLE';
    return this.rec.u32(C.recoveryGeneration) === this.view ? 'OK' : 'RECOVERING';
  }

  /** Starts recovery (if none started since this instance's view) and says why. */
  requestRecovery(cause: string): void {
    if (this.rec.request(this.view, cause)) this.poke?.();
  }

  /**
   * Paper §7.1, a declarative transaction: runs `block` with recovery locked out.
   * Any failure it meets through `tx` (an abandoned or timed-out mutex, failed
   * memory, a stale id, a recovery requested by anyone) backs it out: the SDK
   * releases every mutex the block still holds (from its local copies of their
   * handles, §4.3.2), runs its release actions, waits for recovery and runs it
   * again. The block is written as if nothing could fail.
   */
  async consistent<T>(block: (tx: Tx) => Promise<T> | T, opts: { deadlineMs?: number; onRetry?: (cause: string) => void } = {}): Promise<T> {
    const deadline = performance.now() + (opts.deadlineMs ?? Infinity);
    for (;;) {
      const st = this.tryLockout() ? 'OK' : await this.lockoutRecovery(deadline - performance.now());
      if (st !== 'OK') throw new Unrecoverable(this.unrecoverable ?? (this.stopped ? `component ${this.name} stopped` : `component ${this.name} is still recovering`));
      const tx = new Tx(this, this.view);
      try {
        const result = await block(tx);
        tx.verify();
        return result;
      } catch (err) {
        const cause = tx.failure(err);
        if (cause === null) throw err;
        opts.onRetry?.(cause);
      } finally {
        tx.release();
        this.allowRecovery();
      }
    }
  }

  /** @internal for Tx */
  currentRequest(): number {
    return this.rec.u32(C.recoveryGeneration);
  }
  /** @internal for Tx */
  memoryFailuresChanged(): boolean {
    return this.space.memoryFailures() !== this.memoryFailuresAtView;
  }
  /** @internal for Tx */
  lockTimeoutMs(): number {
    return this.opts.lockTimeoutMs ?? 5000;
  }

  // ------------------------------------------------------------ the recovery task

  private wakeWorkers() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const R = this.rec.u32(C.recoveryGeneration);
      if (this.view !== R || this.rec.u32(C.completedGeneration) < R) {
        try {
          await this.recover(R);
          this.failedRecoveries = 0;
        } catch (err) {
          if (err instanceof Restart || this.stopped) continue;
          const retryMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.failedRecoveries++);
          this.space.log('recovery.error', this.name, { generation: R, message: (err as Error).message, retryMs });
          // A failure to build shared state is a failure like any other: retried
          // from scratch under a new generation (paper §3.6.2), backing off so a
          // fault that persists (a failed contribution, a full GSM) does not spin.
          this.rec.request(R, `recovery failed on node ${this.node}: ${(err as Error).message}`);
          await this.backoff(retryMs);
        }
        continue;
      }
      this.detect(R);
      if (this.rec.u32(C.recoveryGeneration) !== R) continue;
      await this.pause(LOOP_WAIT_MS);
    }
    this.running = false;
    this.wakeWorkers();
  }

  /** Sleeps until the record changes, a poke (generation, lockout drained, stop) or the timeout. */
  private pause(ms: number): Promise<void> {
    const seq = this.rec.seq;
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.poke = null;
        resolve();
      };
      this.poke = finish;
      void this.rec.waitChange(seq, ms).then(finish, finish);
    });
  }

  /** Sleeps `ms` after a failed recovery; only a poke (a new generation, a request, stop) ends it early, not the record's churn. */
  private backoff(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.poke = null;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.poke = finish;
    });
  }

  /** Paper §3.6.5: failures seen by nobody's worker yet start recovery too. */
  private detect(R: number) {
    const live = this.space.members(this.rec);
    if (!live.includes(this.node) && !this.stopped) {
      this.rejoin(R);
      return;
    }
    const gone = this.viewMembers.filter((n) => !live.includes(n));
    const joined = live.filter((n) => !this.viewMembers.includes(n));
    if (gone.length) this.rec.request(R, `instance left: node ${gone.join(', ')}`);
    else if (joined.length) this.rec.request(R, `instance joined: node ${joined.join(', ')}`);
    else if (this.memoryFailuresChanged()) this.rec.request(R, 'memory failure');
  }

  /**
   * Dropped from the component (too slow in a recovery): join again. Joined but
   * not live is a new incarnation whose node is not in the cluster's membership
   * yet: asking for recovery then would only be asked again at once (thousands
   * of generations a second, every instance restarting each time).
   */
  private rejoin(R: number): boolean {
    if (this.rec.inst(this.node, I.state) === InstanceState.Joined) return false;
    this.rec.setInst(this.node, I.state, InstanceState.Joined);
    this.rec.request(R, `rejoin node ${this.node}`);
    return true;
  }

  /** This instance is not live in recovery R: rejoin, or wait for the membership to list its node. */
  private async notLive(R: number): Promise<void> {
    if (!this.rejoin(R)) await this.pause(LOOP_WAIT_MS);
  }

  private async waitFor(R: number, what: string, pending: () => number[], members: readonly number[] | null): Promise<void> {
    // Freeze-aware: a member the debugger holds stopped in recovery is waiting for
    // its developer, not failing; it is not dropped for it (docs/debugger.md).
    const deadline = this.space.deadline(this.opts.phaseTimeoutMs ?? 5000);
    for (;;) {
      if (this.stopped) throw new Restart();
      if (this.rec.u32(C.recoveryGeneration) !== R) throw new Restart();
      const left = pending();
      if (left.length === 0) return;
      if (members) {
        const live = this.space.members(this.rec);
        const lost = members.filter((n) => !live.includes(n));
        if (lost.length) {
          this.rec.request(R, `instance left during recovery: node ${lost.join(', ')}`);
          throw new Restart();
        }
      }
      if (deadline.remainingMs() < 0) {
        // A member that cannot finish a phase in time holds everyone up: drop it
        // (it rejoins by itself when it sees it was dropped) and start again.
        for (const n of left) if (n !== this.node) this.rec.setInst(n, I.state, InstanceState.Left);
        this.rec.request(R, `timeout waiting for ${what} of node ${left.join(', ')}`);
        throw new Restart();
      }
      await this.pause(what === 'local workers' ? 5 : 20);
    }
  }

  private async recover(R: number): Promise<void> {
    const me = this.node;
    const rec = this.rec;
    this.running = true;
    const cause = rec.cause;
    if (this.startedRecovery < R) {
      this.startedRecovery = R;
      this.space.log('recovery.start', this.name, { generation: R, cause });
    }
    // What this recovery can repair is what had failed before it began.
    rec.setInst(me, I.failuresSeen, this.space.memoryFailures());
    rec.setInst(me, I.regionsSeen, this.space.failedRegionsVersion());
    // Where this instance's time went, for the log (which phase waits on whom).
    const startNs = monotonicNs();
    const phases: Record<string, number> = {};
    const phaseEnd = (name: string) => (phases[name] = Math.round((monotonicNs() - startNs) / 1e4) / 100);
    // A. This node's workers out of the way.
    await this.waitFor(R, 'local workers', () => (this.lockouts > 0 ? [me] : []), null);
    phaseEnd('workers');
    rec.setInst(me, I.quiesced, R);
    rec.bump();
    // B. Members and master.
    const live = this.space.members(rec);
    if (!live.includes(me)) {
      await this.notLive(R);
      throw new Restart();
    }
    await this.waitFor(R, 'quiesce', () => live.filter((n) => rec.inst(n, I.quiesced) < R), live);
    phaseEnd('quiesced');
    // Sticky master; a new one (the lowest live member whose memory can still
    // house the area) only when it is gone or its contribution failed.
    const current = rec.u32(C.master) - 1;
    if (!live.includes(current) || !this.space.canHouse(current)) {
      const able = live.filter((n) => this.space.canHouse(n));
      this.space.mem.cas32(rec.base + C.master, current + 1, Math.min(...(able.length ? able : live)) + 1);
    }
    const master = rec.u32(C.master) - 1;
    let fresh = false;
    if (master === me) {
      const slot = rec.u32(C.masterAreaSlot);
      const gen = rec.u32(C.masterAreaGeneration);
      const keep = this.area && this.area.owner === me && this.area.valid && this.area.id === `${slot}.${gen}`;
      if (!keep && this.opts.masterAreaBytes > 0) {
        const old = this.area;
        this.area = await this.space.createArea(`${this.name}.master.${R}`, this.opts.masterAreaBytes);
        await old?.close();
        const [s, g] = this.area.id.split('.').map(Number);
        rec.set32(C.masterAreaSlot, s);
        rec.set32(C.masterAreaGeneration, g);
        fresh = true;
      }
      this.master = me;
      await this.buildMaster(this.context(R, live, master, fresh));
      if (rec.u32(C.recoveryGeneration) !== R) throw new Restart();
      rec.set32(C.memberMask, live.reduce((m, n) => (m | (1 << n)) >>> 0, 0));
      rec.set32(C.membershipGeneration, this.space.clusterGeneration());
      rec.set32(C.masterGeneration, R);
      rec.bump();
    } else {
      await this.waitFor(R, 'master', () => (rec.u32(C.masterGeneration) >= R ? [] : [master]), live);
    }
    phaseEnd('master');
    const maskNow = rec.u32(C.memberMask);
    const members = live.filter((n) => (maskNow >>> n) & 1);
    // C. The master area of this view, then this instance's contribution.
    const id = `${rec.u32(C.masterAreaSlot)}.${rec.u32(C.masterAreaGeneration)}`;
    if (this.opts.masterAreaBytes > 0 && this.area?.id !== id) {
      const old = this.area;
      this.area = await this.space.openArea(id);
      await old?.close();
    }
    this.master = master;
    await this.rebuild(this.context(R, members, master, fresh));
    if (rec.u32(C.recoveryGeneration) !== R) throw new Restart();
    phaseEnd('rebuilt');
    rec.setInst(me, I.recovered, R);
    rec.bump();
    // D. Complete when every member has rebuilt.
    await this.waitFor(R, 'rebuild', () => members.filter((n) => rec.inst(n, I.recovered) < R), members);
    const before = rec.u32(C.completedGeneration);
    const ms = (monotonicNs() - this.space.mem.load64n(rec.base + C.recoveryStartNs)) / 1e6;
    if (before < R && this.space.mem.cas32(rec.base + C.completedGeneration, before, R) === before) {
      // Failures that arrived while members were rebuilding stay unrecovered: the
      // next detect() sees the count differ and requests another recovery. But
      // the count grows with every read of failed memory, and reads of memory
      // that had failed before every member began (workers still backing out)
      // are not new failures: with the set of failed regions unchanged since
      // then, this recovery accounts for all of them. The count is read before
      // the set, so a region that fails in between shows in the set.
      const count = this.space.memoryFailures();
      const regions = this.space.failedRegionsVersion();
      const accounted = members.every((n) => rec.inst(n, I.regionsSeen) === regions)
        ? count
        : Math.min(...members.map((n) => rec.inst(n, I.failuresSeen)));
      this.space.mem.store64n(rec.base + C.memoryFailures, accounted);
      rec.set32(C.accountedGeneration, R);
      rec.recordDuration(R, ms * 1000);
      rec.bump();
    } else {
      // Another member completed R and is writing down what it accounted for:
      // read before that lands, the old count would look like a new failure here
      // and start a second, needless recovery.
      await this.waitFor(R, 'accounting', () => (rec.u32(C.accountedGeneration) >= R ? [] : [me]), members);
    }
    this.view = R;
    this.viewMembers = members;
    this.memoryFailuresAtView = this.space.mem.load64n(rec.base + C.memoryFailures);
    this.running = false;
    this.recoveries.push({ generation: R, ms, cause });
    if (this.recoveries.length > 100) this.recoveries.shift();
    phaseEnd('complete');
    // Two events: with the phases, a long cause made recovery.end overrun its
    // log slot (224 bytes), and the stored prefix lost the cause and duration.
    this.space.log('recovery.end', this.name, { generation: R, durationMs: Math.round(ms * 1000) / 1000, cause, members, master });
    this.space.log('recovery.phases', this.name, { generation: R, phasesMs: phases });
    this.wakeWorkers();
    Promise.resolve()
      .then(() => this.afterRecovery(R))
      .catch((err: Error) => this.space.log('recovery.error', this.name, { generation: R, message: `after recovery: ${err.message}` }));
  }

  private context(R: number, members: readonly number[], master: number, fresh: boolean): RecoveryContext {
    const area = this.area!;
    const check = () => {
      if (this.stopped || this.rec.u32(C.recoveryGeneration) !== R) throw new Restart();
    };
    return {
      generation: R,
      members,
      master,
      isMaster: master === this.node,
      area,
      fresh,
      check,
      lock: async (m) => {
        const gate = gateOf(m);
        await gate.lock();
        for (;;) {
          let s: LockStatus;
          try {
            // A newer recovery restarts this one: the gate must not leave with it,
            // or every later lock of this mutex in this process waits forever.
            check();
            s = await m.lock(LOCK_SLICE_MS * 5);
          } catch (err) {
            gate.unlock();
            throw err;
          }
          if (s === 'OK') return;
          if (s === 'ABANDONED') {
            m.markConsistent();
            return;
          }
          if (s !== 'TIMEOUT') {
            gate.unlock();
            throw new Error(`mutex ${m.id}: ${s}`);
          }
        }
      },
      unlock: (m) => {
        try {
          m.unlock();
        } finally {
          gateOf(m).unlock();
        }
      },
    };
  }
}

const FAILED_MEMORY = 'memory failure';
/** 8-byte staging for guarded word accesses; every use is synchronous, so one per thread suffices. */
const scratch = new Uint8Array(8);
const scratchView = new DataView(scratch.buffer);

/**
 * What a consistent block does global work through: every call checks for the
 * failures that invalidate the block's view and turns them into a back-out.
 */
export class Tx {
  private held: Lockable[] = [];
  private releases: (() => void)[] = [];
  private requested: string | null = null;

  constructor(
    private readonly c: McsComponent,
    /** The recovery generation this block's view belongs to. */
    readonly generation: number,
  ) {}

  /** Backs out: starts recovery (once) and unwinds the block. */
  fail(cause: string): never {
    this.requested = cause;
    this.c.requestRecovery(cause);
    throw new Recovering(cause);
  }

  /** Throws Recovering if anyone requested recovery since this block began. */
  check(): void {
    if (this.c.currentRequest() !== this.generation) throw new Recovering('recovery requested');
  }

  /**
   * Locks `m` for the block; released automatically when the block ends, however
   * it ends. Uncontended, it completes synchronously (await it all the same).
   */
  lock(m: Lockable): Promise<void> | void {
    const gate = gateOf(m);
    if (gate.tryLock() === 'OK') {
      let s: LockStatus;
      try {
        s = m.tryLock();
      } catch (err) {
        gate.unlock();
        if (err instanceof ObjectError) this.fail(`mutex ${m.id}: ${err.message}`);
        throw err;
      }
      if (s !== 'TIMEOUT') return this.settle(m, s);
      gate.unlock();
    }
    return this.lockSlow(m);
  }

  private async lockSlow(m: Lockable): Promise<void> {
    const gate = gateOf(m);
    // Freeze-aware: a holder stopped in the debugger is not a failure (no recovery for it).
    const deadline = this.c.space.deadline(this.c.lockTimeoutMs());
    if (gate.tryLock() !== 'OK') {
      for (;;) {
        this.check();
        if ((await gate.lock(LOCK_SLICE_MS)) === 'OK') break;
        if (deadline.remainingMs() < 0) this.fail(`timeout waiting for mutex ${m.id}`);
      }
    }
    let s: LockStatus;
    try {
      s = m.tryLock();
      if (s === 'TIMEOUT') {
        // Waits in slices so a recovery request interrupts it (paper §3.6.5).
        do {
          this.check();
          s = await m.lock(LOCK_SLICE_MS);
          if (s === 'TIMEOUT' && deadline.remainingMs() < 0) this.fail(`timeout waiting for mutex ${m.id}`);
        } while (s === 'TIMEOUT');
      }
    } catch (err) {
      gate.unlock();
      if (err instanceof ObjectError) this.fail(`mutex ${m.id}: ${err.message}`);
      throw err;
    }
    this.settle(m, s);
  }

  /** After the global lock call: keep what was acquired, turn every failure into a back-out. */
  private settle(m: Lockable, s: LockStatus): void {
    if (s === 'OK' || s === 'ABANDONED') this.held.push(m);
    else gateOf(m).unlock();
    if (s === 'ABANDONED') {
      // Recovery will rebuild what it guarded: request it before anyone else can
      // take the lock, then release it consistent (a poisoned mutex helps nobody).
      this.c.requestRecovery(`abandoned mutex ${m.id}`);
      m.markConsistent();
      throw new Recovering(`abandoned mutex ${m.id}`);
    }
    if (s !== 'OK') this.fail(`mutex ${m.id}: ${s}`);
    this.check();
  }

  /** Sleeps `ms`; a recovery request interrupts it (the block backs out). Paper §3.6.5. */
  async sleep(ms: number): Promise<void> {
    const until = performance.now() + ms;
    for (let left = ms; left > 0; left = until - performance.now()) {
      this.check();
      await new Promise((r) => setTimeout(r, Math.min(left, LOCK_SLICE_MS)));
    }
    this.check();
  }

  /**
   * Waits for a global event; a recovery request interrupts the wait, and a wait
   * past `timeoutMs` or over failed memory counts as a failure (the block backs out).
   */
  async waitEvent(event: GlobalEvent, timeoutMs = this.c.lockTimeoutMs()): Promise<void> {
    const deadline = this.c.space.deadline(timeoutMs);
    for (;;) {
      this.check();
      const r = await event.wait(Math.min(LOCK_SLICE_MS, Math.max(0, deadline.remainingMs())));
      if (r === 'SIGNALED') return this.check();
      if (r === 'MEMORY_FAILED') this.fail(`event ${event.id}: memory failed`);
      if (deadline.remainingMs() <= 0) this.fail(`timeout waiting for event ${event.id}`);
    }
  }

  /** Releases `m` before the block ends (it would be released at the end anyway). */
  unlock(m: Lockable): void {
    const i = this.held.lastIndexOf(m);
    if (i < 0) throw new Error(`mutex ${m.id} is not held by this block`);
    this.held.splice(i, 1);
    try {
      m.unlock();
    } finally {
      gateOf(m).unlock();
    }
  }

  /** Runs `fn` when the block ends, whether it completes or is backed out (e.g. dropping a reference). */
  onRelease(fn: () => void): void {
    this.releases.push(fn);
  }

  private at(r: Region, rel: number, length: number): number {
    if (!Number.isInteger(rel) || rel < 0 || length < 0 || rel + length > r.bytes)
      this.fail(`out-of-bounds access [${rel}, +${length}) of a ${r.bytes}-byte region: corrupt structure`);
    return r.offset + rel;
  }

  /** A bounded, guarded copy; failed memory or a stale region backs the block out. */
  private copy(op: 'read' | 'write', r: Region, rel: number, buf: Uint8Array): void {
    const at = this.at(r, rel, buf.length);
    const mem = this.c.space.mem;
    let failed: number;
    try {
      failed = r.guard ? mem[op](at, buf, r.guard.offset, r.guard.value) : mem[op](at, buf);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_GSM_STALE') this.fail(`stale region at ${r.offset}`);
      throw err;
    }
    if (failed) this.fail(FAILED_MEMORY);
  }

  read(r: Region, rel: number, into: Uint8Array): Uint8Array {
    this.copy('read', r, rel, into);
    return into;
  }

  write(r: Region, rel: number, from: Uint8Array): void {
    this.copy('write', r, rel, from);
  }

  load64(r: Region, rel: number): number {
    this.read(r, rel, scratch);
    return Number(scratchView.getBigUint64(0, true));
  }

  store64(r: Region, rel: number, value: number): void {
    scratchView.setBigUint64(0, BigInt(value), true);
    this.write(r, rel, scratch);
  }

  /** Atomic add on a u32 of a region (reference counts); the region's guard is checked first. */
  add32(r: Region, rel: number, delta: number): number {
    const at = this.at(r, rel, 4);
    if (at % 4) throw new RangeError('add32 needs a 4-byte aligned offset');
    if (r.guard && this.c.space.mem.load32(r.guard.offset) !== r.guard.value) this.fail(`stale region at ${r.offset}`);
    return this.c.space.mem.add32(at, delta);
  }

  /** At the end of a block that completed: were its reads whole? */
  verify(): void {
    if (this.c.memoryFailuresChanged()) this.fail(FAILED_MEMORY);
    this.check();
  }

  /** Classifies an error that ended the block: a back-out cause, or null (a real error, rethrown). */
  failure(err: unknown): string | null {
    if (err instanceof Recovering) return err.reason;
    return this.requested;
  }

  /** Unlocks every mutex the block still holds, newest first, then runs its release actions. */
  release(): void {
    for (const m of this.held.reverse()) {
      try {
        m.unlock();
      } catch {
        // Its memory failed or it was reclaimed: recovery replaces it.
      }
      gateOf(m).unlock();
    }
    this.held = [];
    for (const f of this.releases.reverse()) {
      try {
        f();
      } catch {
        // A release into failed memory: recovery rebuilds what it counted.
      }
    }
    this.releases = [];
  }
}
