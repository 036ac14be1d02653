// The console API over a running multicomputer: every ControlBackend method
// answered from the supervisor's view (runtime/cluster/types.ts `Multicomputer`),
// the GSM object table and the event log. The cluster layer knows nothing of the
// control API; this adapter is where its views become the API's data and its
// errors become ControlErrors a user can read in one line.
import { failedParts } from '../gsm/gsm';
import { contribution, O, objectRecord, ObjectType } from '../gsm/layout';
import type { EventFilter } from '../log/query';
import type { LogRow as StoredLogRow } from '../log/store';
import { ObjectError, type ObjectErrorCode } from '../objects/errors';
import { EVENT_FIELDS, EventFlags } from '../objects/event';
import { HWLOCK_FIELDS } from '../objects/hwlock';
import { MAILBOX_FIELDS, MAILBOX_SLOT_BYTES, MailboxFlags, mailboxBytes } from '../objects/mailbox';
import { readMutexState } from '../objects/mutex';
import type { ObjectRecord } from '../objects/namespace';
import type { Multicomputer, NodeView } from '../cluster/types';
import { findComponent, listComponents, requestRecoveryOf, viewComponent } from '../sdk/component-record';
import { debugMethods } from './debug-backend';
import { createSectionDecoder } from './section-decoder';
import { requestCounterName } from '../nodes/app-context';
import {
  ControlError,
  MAX_READ_BYTES,
  type ClusterStatus,
  type ComponentInfo,
  type ControlBackend,
  type ErrorCode,
  type EventObjectInfo,
  type GenerationInfo,
  type HwLockInfo,
  type LogFilter,
  type LogPage,
  type LogRow,
  type MailboxInfo,
  type MutexInfo,
  type NodeInfo,
  type Params,
  type Result,
  type SectionBytes,
  type SectionInfo,
  type StatusUpdate,
  type Unsubscribe,
} from './api';

// ---------------------------------------------------------------------------
// Errors

const OBJECT_ERROR_CODES: Record<ObjectErrorCode, ErrorCode> = {
  'not-found': 'not-found',
  'invalid-id': 'invalid-id',
  'wrong-type': 'bad-request',
  'bad-argument': 'bad-request',
  exists: 'conflict',
  'not-owner': 'conflict',
  'no-space': 'conflict',
  closed: 'unavailable',
  unavailable: 'unavailable',
};

const CONTROL_CODES = new Set<string>(['bad-request', 'unauthorized', 'not-found', 'invalid-id', 'conflict', 'unavailable', 'internal']);

/**
 * Any error from the multicomputer as a ControlError: ObjectErrors by their code,
 * errors that carry a control-API `code` (the supervisor throws those for a bad
 * node or a wrong state) as that code, the GSM's range checks as bad requests,
 * anything else as internal.
 */
export function toControlError(e: unknown): ControlError {
  if (e instanceof ControlError) return e;
  if (e instanceof ObjectError) return new ControlError(OBJECT_ERROR_CODES[e.code] ?? 'internal', e.message, { cause: e });
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONTROL_CODES.has(code)) return new ControlError(code as ErrorCode, e.message, { cause: e });
    if (code === 'ERR_GSM_STALE') return new ControlError('invalid-id', e.message, { cause: e });
    if (code === 'ERR_GSM_FAILED_MAP_FULL') return new ControlError('conflict', e.message, { cause: e });
    if (code === 'ERR_GSM_CLOSED') return new ControlError('unavailable', 'the multicomputer is stopping (its GSM is closed)', { cause: e });
    if (e instanceof RangeError) return new ControlError('bad-request', e.message, { cause: e });
  }
  return ControlError.from(e);
}

// ---------------------------------------------------------------------------
// Decoding helpers (object layouts come from runtime/objects/*.ts)

/** Node numbers the API can carry; a mutex locked by a process that is not a node records 0xffffffff (-1). */
const isNodeId = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535;

function nodeRange(ids: readonly number[]): string {
  if (ids.length === 0) return 'there are no nodes';
  if (ids.length === 1) return `the only node is ${ids[0]}`;
  const contiguous = ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1);
  return contiguous ? `nodes are ${ids[0]}..${ids[ids.length - 1]}` : `nodes are ${ids.join(', ')}`;
}

export function createControlBackend(mc: Multicomputer): ControlBackend {
  const backend = new MulticomputerBackend(mc);
  if (!mc.debugger) return backend;
  const svc = mc.debugger;
  const debug = debugMethods(() => {
    if (mc.gsm.closed) throw new ControlError('unavailable', `multicomputer '${mc.name}' has stopped`);
    return svc;
  });
  return Object.assign(backend, debug);
}

class MulticomputerBackend implements ControlBackend {
  private readonly decoder: ReturnType<typeof createSectionDecoder>;

  constructor(private readonly mc: Multicomputer) {
    this.decoder = createSectionDecoder(mc);
  }

  decodeSection(p: Params<'decodeSection'>): Promise<Result<'decodeSection'>> {
    return this.guardAsync(() => this.decoder(p));
  }

  private get gsm() {
    return this.mc.gsm;
  }

  /** After stop() the GSM is unmapped and the log closed: say so rather than fail on them. */
  private checkRunning(): void {
    if (this.mc.gsm.closed) throw new ControlError('unavailable', `multicomputer '${this.mc.name}' has stopped`);
  }

  private guard<T>(fn: () => T): T {
    try {
      this.checkRunning();
      return fn();
    } catch (e) {
      throw toControlError(e);
    }
  }

  private async guardAsync<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.checkRunning();
      return await fn();
    } catch (e) {
      throw toControlError(e);
    }
  }

  // ------------------------------------------------------------ status tools

  status(): ClusterStatus {
    return this.guard(() => this.statusNow(this.mc.nodes()));
  }

  private statusNow(views: readonly NodeView[]): ClusterStatus {
    const { layout } = this.gsm;
    const objects = { sections: 0, mutexes: 0, events: 0, hwlocks: 0, mailboxes: 0 };
    for (const r of this.mc.namespace.list()) {
      if (r.type === ObjectType.Section) objects.sections++;
      else if (r.type === ObjectType.Mutex) objects.mutexes++;
      else if (r.type === ObjectType.Event) objects.events++;
      else if (r.type === ObjectType.HwLock) objects.hwlocks++;
      else if (r.type === ObjectType.Mailbox) objects.mailboxes++;
    }
    return {
      name: this.mc.name,
      supervisorPid: process.pid,
      startedAtMs: this.mc.startedAtMs,
      generation: this.mc.generation(),
      members: [...this.mc.members()].sort((a, b) => a - b),
      nodeCount: views.length,
      heartbeatPeriodMs: this.mc.heartbeatPeriodMs,
      heartbeatTimeoutMs: this.mc.heartbeatTimeoutMs,
      gsm: {
        name: this.gsm.name,
        totalBytes: layout.totalBytes,
        systemBytes: layout.systemBytes,
        contributionBytes: layout.contributionBytes,
        usedBytes: views.reduce((sum, n) => sum + n.gsmUsedBytes, 0),
        memoryFailures: this.gsm.memoryFailures(),
      },
      objects,
      logRows: this.mc.store.count(),
      restartPolicy: this.mc.restartPolicy,
      detectorLagMs: Math.max(0, this.mc.detectorHealth().detectorLagMs),
      debugger: this.mc.debugger !== undefined,
    };
  }

  nodes(): NodeInfo[] {
    return this.guard(() =>
      this.mc
        .nodes()
        .map((n) => {
          const info = nodeInfo(n);
          const requests = this.requestsOf(n);
          return requests === null ? info : { ...info, requests };
        })
        .sort((a, b) => a.id - b.id),
    );
  }

  /** Sum of the node's applications' request counters (requestCounterName), null if none has one. */
  private requestsOf(n: NodeView): number | null {
    if (n.apps.length === 0 || (n.state !== 'up' && n.state !== 'suspect' && n.state !== 'stopped')) return null;
    let sum: number | null = null;
    for (const app of n.apps) {
      let r;
      try {
        r = this.mc.namespace.resolve(requestCounterName(app, n.id), ObjectType.HwLock);
      } catch {
        continue; // this app counts nothing (or not yet)
      }
      // Failed memory reads as the dummy value: not a count.
      if (r.ownerNode !== n.id || !this.gsm.isAccessible(r.dataOffset, r.dataBytes)) continue;
      sum = (sum ?? 0) + Number(this.gsm.map.load64(r.dataOffset + HWLOCK_FIELDS.register));
    }
    return sum;
  }

  generations(): GenerationInfo[] {
    return this.guard(() =>
      this.mc.generations().map((g) => ({ generation: g.generation, members: [...g.members].sort((a, b) => a - b), cause: g.cause, atMs: g.atMs })),
    );
  }

  sections(): SectionInfo[] {
    return this.guard(() => this.mc.namespace.list(ObjectType.Section).map((r) => this.sectionInfo(r)));
  }

  private sectionInfo(r: ObjectRecord): SectionInfo {
    return {
      id: r.id,
      name: r.name,
      ownerNode: r.ownerNode,
      ownerIncarnation: r.ownerIncarnation,
      size: r.dataBytes,
      createdAtMs: r.createdAtMs,
      openBy: r.refs.flatMap((refs, node) => (refs > 0 ? [{ node, refs }] : [])),
      accessible: this.gsm.isAccessible(r.dataOffset, r.dataBytes),
    };
  }

  mutexes(): MutexInfo[] {
    return this.guard(() => this.mc.namespace.list(ObjectType.Mutex).map((r) => this.mutexInfo(r)));
  }

  private mutexInfo(r: ObjectRecord): MutexInfo {
    const base = { id: r.id, name: r.name, ownerNode: r.ownerNode };
    if (!this.gsm.isAccessible(r.dataOffset, r.dataBytes)) {
      // Failed memory reads as the dummy value: nothing in it is the mutex's state.
      // Lockers get MEMORY_FAILED from now on, so it is as unusable as NOT_RECOVERABLE.
      return { ...base, state: 'not-recoverable', holder: null, waiters: [], waiterCount: 0, abandonCount: 0, lockCount: 0, maxHoldMs: 0, totalHoldMs: 0 };
    }
    const s = readMutexState(this.gsm.map, r.dataOffset);
    return {
      ...base,
      state: s.state,
      // A holder or waiter that is not a node (an observer process) has no node number the API can show.
      holder: s.holder && isNodeId(s.holder.node) ? s.holder : null,
      waiters: s.waiters.filter((w) => isNodeId(w.node)),
      waiterCount: s.waiterCount,
      abandonCount: s.abandonCount,
      lockCount: s.lockCount,
      maxHoldMs: s.maxHoldMs,
      totalHoldMs: s.totalHoldMs,
    };
  }

  events(): EventObjectInfo[] {
    return this.guard(() => this.mc.namespace.list(ObjectType.Event).map((r) => this.eventInfo(r)));
  }

  private eventInfo(r: ObjectRecord): EventObjectInfo {
    const ok = this.gsm.isAccessible(r.dataOffset, r.dataBytes);
    const map = this.gsm.map;
    return {
      id: r.id,
      name: r.name,
      ownerNode: r.ownerNode,
      mode: r.flags & EventFlags.ManualReset ? 'manual' : 'auto',
      signaled: ok && map.load32(r.dataOffset + EVENT_FIELDS.signaled) === 1,
      waiterCount: ok ? map.load32(r.dataOffset + EVENT_FIELDS.waiters) : 0,
    };
  }

  hwlocks(): HwLockInfo[] {
    return this.guard(() =>
      this.mc.namespace.list(ObjectType.HwLock).map((r) => {
        const ok = this.gsm.isAccessible(r.dataOffset, r.dataBytes);
        return {
          id: r.id,
          name: r.name,
          ownerNode: r.ownerNode,
          // What a program reads: the dummy value once the memory has failed.
          value: this.gsm.map.load64(r.dataOffset + HWLOCK_FIELDS.register).toString(),
          held: ok && this.gsm.map.load32(r.dataOffset + HWLOCK_FIELDS.lock) !== 0,
        };
      }),
    );
  }

  mailboxes(): MailboxInfo[] {
    return this.guard(() =>
      this.mc.namespace.list(ObjectType.Mailbox).map((r) => {
        const map = this.gsm.map;
        const base = { id: r.id, name: r.name, ownerNode: r.ownerNode, targetNode: r.flags & MailboxFlags.targetMask };
        if (!this.gsm.isAccessible(r.dataOffset, r.dataBytes)) {
          const capacity = Math.max(0, Math.floor((r.dataBytes - mailboxBytes(0)) / MAILBOX_SLOT_BYTES));
          return { ...base, queued: 0, capacity, dropped: 0 };
        }
        const capacity = map.load32(r.dataOffset + MAILBOX_FIELDS.capacity);
        const queued = (map.load32(r.dataOffset + MAILBOX_FIELDS.head) - map.load32(r.dataOffset + MAILBOX_FIELDS.tail)) >>> 0;
        return { ...base, queued: Math.min(queued, capacity), capacity, dropped: map.load32(r.dataOffset + MAILBOX_FIELDS.dropped) };
      }),
    );
  }

  components(): ComponentInfo[] {
    return this.guard(() =>
      listComponents(this.gsm.map, this.gsm.layout).map((rec) => {
        const v = viewComponent(rec, this.gsm.map, this.gsm.layout);
        const last = v.durations.at(-1);
        return {
          name: v.name,
          members: v.members,
          master: v.master,
          masterArea: v.masterAreaId,
          recoveryGeneration: v.recoveryGeneration,
          completedGeneration: v.completedGeneration,
          recovering: v.recovering,
          recoveryState: v.unrecoverable ? 'unrecoverable' : v.recovering ? 'recovering' : 'ready',
          cause: v.cause,
          recoveries: v.recoveries,
          recoveryDurations: v.durations,
          lastRecoveryMs: last ? last.ms : null,
          lockouts: v.lockouts,
        };
      }),
    );
  }

  readSection(p: Params<'readSection'>): SectionBytes {
    return this.guard(() => {
      const r = this.mc.namespace.resolve(p.target, ObjectType.Section);
      const size = r.dataBytes;
      const offset = p.offset ?? 0;
      if (offset > size) throw new ControlError('bad-request', `offset ${offset} is past the end of section ${r.name} (${r.id}, ${size} bytes)`);
      // Past the end is cut off, as a file read is: the CLI tells how much it got.
      const length = Math.min(p.length ?? MAX_READ_BYTES, size - offset, MAX_READ_BYTES);
      const bytes = new Uint8Array(length);
      // Guarded by the record's generation: a section freed since resolve() is a stale id, not someone else's bytes.
      const generationWord = objectRecord(this.gsm.layout, r.slot) + O.generation;
      const dummyBytes = length > 0 ? this.gsm.map.read(r.dataOffset + offset, bytes, generationWord, r.generation) : 0;
      // As section offsets, from the failed-region map read after the bytes. The native
      // count adds overlapping regions twice, so the merged ranges give the count when known.
      const failed = dummyBytes > 0 ? failedParts(this.gsm.failedRegions(), r.dataOffset + offset, length).map((f) => ({ offset: f.offset - r.dataOffset, length: f.length })) : [];
      const failedBytes = failed.length > 0 ? failed.reduce((n, f) => n + f.length, 0) : dummyBytes;
      return { id: r.id, offset, length, size, base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), failedBytes, failed };
    });
  }

  log(p: Params<'log'>): LogPage {
    let page;
    try {
      this.checkRunning();
      page = this.mc.query.query(eventFilter(p.filter), { after: p.after, before: p.before, fromStart: p.fromStart, limit: p.limit });
    } catch (e) {
      if (e instanceof TypeError && /cursor/.test(e.message)) throw new ControlError('bad-request', `log: ${e.message}`);
      throw toControlError(e);
    }
    return { rows: page.rows.map((r) => this.logRow(r)), next: page.next };
  }

  private logRow(r: StoredLogRow): LogRow {
    return {
      id: r.id,
      node: r.node,
      incarnation: r.incarnation,
      seq: r.seq,
      clusterTimeNs: Math.max(0, Math.round(r.clusterTimeNs - this.mc.startedAtNs)),
      wallTimeMs: r.wallTimeMs,
      kind: r.kind,
      object: r.object,
      details: r.details,
    };
  }

  // ------------------------------------------------------------ modification tools

  /** The node's view, or ControlError not-found naming the nodes there are. */
  private node(id: number): NodeView {
    const views = this.mc.nodes();
    const n = views.find((v) => v.id === id);
    if (!n) {
      const ids = views.map((v) => v.id).sort((a, b) => a - b);
      throw new ControlError('not-found', `no node ${id} (${nodeRange(ids)})`);
    }
    return n;
  }

  private nodeAfter(id: number): NodeInfo {
    return nodeInfo(this.node(id));
  }

  async killNode(p: Params<'killNode'>): Promise<NodeInfo> {
    return this.guardAsync(async () => {
      this.node(p.node);
      await this.mc.killNode(p.node);
      return this.nodeAfter(p.node);
    });
  }

  async killThread(p: Params<'killThread'>): Promise<Result<'killThread'>> {
    return this.guardAsync(async () => {
      this.node(p.node);
      const holding = p.holding ?? false;
      const { tid } = await this.mc.killThread(p.node, p.name, holding);
      return { node: p.node, name: p.name, tid, holding };
    });
  }

  stopNode(p: Params<'stopNode'>): NodeInfo {
    return this.guard(() => {
      this.node(p.node);
      this.mc.stopNode(p.node);
      return this.nodeAfter(p.node);
    });
  }

  contNode(p: Params<'contNode'>): NodeInfo {
    return this.guard(() => {
      this.node(p.node);
      this.mc.contNode(p.node);
      return this.nodeAfter(p.node);
    });
  }

  async restartNode(p: Params<'restartNode'>): Promise<NodeInfo> {
    return this.guardAsync(async () => {
      this.node(p.node);
      await this.mc.restartNode(p.node);
      return this.nodeAfter(p.node);
    });
  }

  setRestartPolicy(p: Params<'setRestartPolicy'>): Result<'setRestartPolicy'> {
    return this.guard(() => {
      this.mc.setRestartPolicy(p.policy);
      return { policy: this.mc.restartPolicy };
    });
  }

  async addNode(): Promise<Result<'addNode'>> {
    return this.guardAsync(async () => ({ node: await this.mc.addNode() }));
  }

  async failMemory(p: Params<'failMemory'>): Promise<Result<'failMemory'>> {
    return this.guardAsync(async () => {
      const { layout } = this.gsm;
      if ('node' in p) {
        this.node(p.node);
        await this.mc.failMemory({ node: p.node });
        return { offset: contribution(layout, p.node), length: layout.contributionBytes };
      }
      const { offset, length } = p;
      if (offset < layout.systemBytes || offset + length > layout.totalBytes) {
        throw new ControlError(
          'bad-request',
          `failMemory: ${offset}+${length} is outside the node contributions [${layout.systemBytes}, ${layout.totalBytes}) (the system area cannot fail)`,
        );
      }
      await this.mc.failMemory({ offset, length });
      return { offset, length };
    });
  }

  async releaseMutex(p: Params<'releaseMutex'>): Promise<MutexInfo> {
    return this.guardAsync(async () => {
      const r = this.mc.namespace.resolve(p.target, ObjectType.Mutex);
      const before = this.mutexInfo(r);
      if (before.state === 'free' || before.state === 'abandoned') {
        throw new ControlError('conflict', `mutex ${r.name} (${r.id}) is not held (${before.state})`);
      }
      await this.mc.releaseMutex(r.id);
      return this.mutexInfo(this.mc.namespace.resolve(r.id, ObjectType.Mutex));
    });
  }

  async signalEvent(p: Params<'signalEvent'>): Promise<EventObjectInfo> {
    return this.guardAsync(async () => {
      const r = this.mc.namespace.resolve(p.target, ObjectType.Event);
      await this.mc.signalEvent(r.id);
      return this.eventInfo(this.mc.namespace.resolve(r.id, ObjectType.Event));
    });
  }

  async resetEvent(p: Params<'resetEvent'>): Promise<EventObjectInfo> {
    return this.guardAsync(async () => {
      const r = this.mc.namespace.resolve(p.target, ObjectType.Event);
      await this.mc.resetEvent(r.id);
      return this.eventInfo(this.mc.namespace.resolve(r.id, ObjectType.Event));
    });
  }

  triggerRecovery(p: Params<'triggerRecovery'>): Result<'triggerRecovery'> {
    return this.guard(() => {
      const { map, layout } = this.gsm;
      if (p.component !== undefined && !findComponent(map, layout, p.component))
        throw new ControlError('not-found', `no recoverable component named "${p.component}"`);
      // Requested in the component's own record: every instance sees it as a
      // global event and recovers, exactly as when one of them detects a failure.
      const components = requestRecoveryOf(map, layout, p.component, 'operator');
      if (components.length === 0) throw new ControlError('conflict', 'no recoverable components are running');
      this.mc.store.record('operator.trigger-recovery', p.component ?? null, { components });
      return { components };
    });
  }

  // ------------------------------------------------------------ subscriptions

  subscribeStatus(cb: (update: StatusUpdate) => void): Unsubscribe {
    let active = true;
    const off = this.mc.onChange(() => {
      if (!active) return;
      let update: StatusUpdate;
      try {
        const views = this.mc.nodes();
        update = { status: this.statusNow(views), nodes: views.map(nodeInfo).sort((a, b) => a.id - b.id) };
      } catch {
        // Stopping (GSM or log closed): the transports poll and report that themselves.
        return;
      }
      cb(update);
    });
    return () => {
      active = false;
      off();
    };
  }

  subscribeLog(filter: LogFilter, cb: (rows: LogRow[]) => void): Unsubscribe {
    return this.mc.query.follow(eventFilter(filter), (rows) => cb(rows.map((r) => this.logRow(r))));
  }
}

function nodeInfo(n: NodeView): NodeInfo {
  return {
    id: n.id,
    state: n.state,
    pid: n.pid,
    incarnation: n.incarnation,
    heartbeatAgeMs: n.heartbeatAgeMs === null ? null : Math.max(0, n.heartbeatAgeMs),
    joinedGeneration: n.joinedGeneration,
    gsmHousedBytes: n.gsmHousedBytes,
    gsmUsedBytes: n.gsmUsedBytes,
    contributionFailed: n.contributionFailed,
    apps: [...n.apps],
    suspicion: n.suspicion,
    expectedIntervalMs: n.expectedIntervalMs,
    deadlineMs: n.deadlineMs,
    detectorLagMs: Math.max(0, n.detectorLagMs),
    restarts: n.restarts,
    restartGaveUp: n.restartGaveUp,
    threads: (n.threads ?? []).map((t) => ({ ...t })),
    endpoints: n.endpoints.map((e) => ({ ...e })),
  };
}

/** The API's filter as the event log's: the same fields, minus the API's optional-undefined noise. */
function eventFilter(f: LogFilter): EventFilter {
  const out: EventFilter = {};
  if (f.sinceMs !== undefined) out.sinceMs = f.sinceMs;
  if (f.untilMs !== undefined) out.untilMs = f.untilMs;
  if (f.nodes !== undefined) out.nodes = f.nodes;
  if (f.kinds !== undefined) out.kinds = f.kinds;
  if (f.object !== undefined) out.object = f.object;
  if (f.text !== undefined) out.text = f.text;
  return out;
}
