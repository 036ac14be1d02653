// An in-memory ControlBackend with fixed, hand-made data: it tests the transport
// (server, client, CLI), not the multicomputer. It records every call so tests
// can prove that a refused request changed nothing.
import {
  ControlError,
  parseObjectRef,
  type ClusterStatus,
  type ComponentInfo,
  type ControlBackend,
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
  type SectionInfo,
  type StatusUpdate,
} from '../../runtime/control/api';
import { matchesLogFilter } from '../../runtime/control/api/log-filter';

export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

/** node, pid, tid of the threads in the fixture's wait graph. */
export const A = { node: 0, pid: 1000, tid: 1000 };
export const B = { node: 1, pid: 1001, tid: 1001 };
export const C = { node: 2, pid: 1002, tid: 1002 };
export const D = { node: 1, pid: 1001, tid: 1005 };
export const E = { node: 3, pid: 1003, tid: 1003 };

function mutex(id: string, name: string, holder: typeof A | null, waiters: (typeof A)[], extra: Partial<MutexInfo> = {}): MutexInfo {
  return {
    id,
    name,
    ownerNode: Number(id.split('.')[0]) % 4,
    state: holder ? 'held' : 'free',
    holder: holder ? { ...holder, incarnation: 1, heldMs: 1500 } : null,
    waiters: waiters.map((w, i) => ({ ...w, waitedMs: 1000 - i * 100 })),
    waiterCount: waiters.length,
    abandonCount: 0,
    lockCount: 10,
    maxHoldMs: 2500,
    totalHoldMs: 1234,
    ...extra,
  };
}

/** 64 bytes of "Hello, MCS!" then a run of zeros then counting bytes: exercises hexdump's '*' lines. */
export function sectionContent(size: number): Buffer {
  const b = Buffer.alloc(size);
  b.write('Hello, MCS! This is section data.\n', 0, 'latin1');
  for (let i = 128; i < size; i++) b[i] = i & 0xff;
  return b;
}

export class FixtureBackend implements ControlBackend {
  readonly calls: { method: string; params: unknown }[] = [];
  private statusListeners = new Set<(u: StatusUpdate) => void>();
  private logListeners = new Set<{ filter: LogFilter; cb: (rows: LogRow[]) => void }>();
  generation = 5;
  /** Set to make `nodes` return something that breaks the schema (result validation tests). */
  corruptNodes = false;
  onShutdown: (() => void) | null = null;

  nodeList: NodeInfo[] = [0, 1, 2, 3].map((id) => ({
    id,
    state: id === 3 ? 'failed' : 'up',
    pid: id === 3 ? null : 1000 + id,
    incarnation: 1,
    heartbeatAgeMs: id === 3 ? null : 3 + id,
    joinedGeneration: id === 3 ? null : 1 + id,
    gsmHousedBytes: 16 * 1024 * 1024,
    gsmUsedBytes: 1024 * (id + 1),
    contributionFailed: id === 3,
    apps: id === 3 ? [] : ['webcache'],
    suspicion: id === 3 ? null : 0.5 * id,
    expectedIntervalMs: id === 3 ? null : 20,
    deadlineMs: id === 3 ? null : 110,
    detectorLagMs: 1,
    restarts: id === 3 ? 5 : 0,
    restartGaveUp: id === 3,
    threads: id === 3 ? [] : [{ name: 'main', tid: 1000 + id, kind: 'main' as const, state: 'running' as const, startedAtMs: 1_700_000_000_000, endedAtMs: null }],
  }));
  restartPolicy: 'never' | 'on-failure' = 'on-failure';

  sectionList: SectionInfo[] = [
    {
      id: '5.2',
      name: 'webcache:buckets',
      ownerNode: 1,
      ownerIncarnation: 1,
      size: 4096,
      createdAtMs: T0,
      openBy: [
        { node: 0, refs: 2 },
        { node: 1, refs: 1 },
      ],
      accessible: true,
    },
    { id: '6.1', name: 'lost', ownerNode: 3, ownerIncarnation: 1, size: 100, createdAtMs: T0, openBy: [], accessible: false },
  ];

  /** A 3-cycle A→B→C→A, plus a chain E waits for D (not a deadlock). */
  mutexList: MutexInfo[] = [
    mutex('1.1', 'chain:a', A, [C]),
    mutex('2.1', 'chain:b', B, [A]),
    mutex('3.1', 'chain:c', C, [B]),
    mutex('4.1', 'queue', D, [E]),
    mutex('7.3', 'idle', null, []),
  ];

  eventList: EventObjectInfo[] = [
    { id: '8.1', name: 'start', ownerNode: 0, mode: 'manual', signaled: false, waiterCount: 2 },
    { id: '9.1', name: 'tick', ownerNode: 1, mode: 'auto', signaled: true, waiterCount: 0 },
  ];

  logRows: LogRow[] = Array.from({ length: 30 }, (_, i) => ({
    id: i + 1,
    node: i % 3,
    incarnation: 1,
    seq: Math.floor(i / 3) + 1,
    clusterTimeNs: i * 1_000_000,
    wallTimeMs: T0 + i * 1000,
    kind: i % 5 === 0 ? 'node.joined' : i % 5 === 1 ? 'mutex.locked' : 'section.created',
    object: i % 5 === 1 ? '1.1' : null,
    details: { i },
  }));

  private record(method: string, params: unknown) {
    this.calls.push({ method, params });
  }

  calledWith(method: string): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }

  status(): ClusterStatus {
    this.record('status', {});
    return {
      name: 'default',
      supervisorPid: process.pid,
      startedAtMs: T0,
      generation: this.generation,
      members: this.nodeList.filter((n) => n.state === 'up').map((n) => n.id),
      nodeCount: this.nodeList.length,
      heartbeatPeriodMs: 20,
      heartbeatTimeoutMs: 100,
      gsm: {
        name: 'mcs-default',
        totalBytes: 65 * 1024 * 1024,
        systemBytes: 1024 * 1024,
        contributionBytes: 16 * 1024 * 1024,
        usedBytes: 3 * 1024 * 1024 + 200 * 1024,
        memoryFailures: 1,
      },
      objects: { sections: 2, mutexes: 5, events: 2, hwlocks: 1, mailboxes: 1 },
      logRows: this.logRows.length,
      restartPolicy: this.restartPolicy,
      detectorLagMs: 1,
      debugger: false,
    };
  }

  nodes(): NodeInfo[] {
    this.record('nodes', {});
    if (this.corruptNodes) return [{ ...this.nodeList[0]!, state: 'exploded' as never }];
    return this.nodeList.map((n) => ({ ...n }));
  }

  generations(): GenerationInfo[] {
    this.record('generations', {});
    return [
      { generation: 1, members: [0], cause: 'node 0 joined', atMs: T0 },
      { generation: 5, members: [0, 1, 2], cause: 'node 3 failed', atMs: T0 + 5000 },
    ];
  }

  sections(): SectionInfo[] {
    this.record('sections', {});
    return this.sectionList;
  }

  mutexes(): MutexInfo[] {
    this.record('mutexes', {});
    return this.mutexList;
  }

  events(): EventObjectInfo[] {
    this.record('events', {});
    return this.eventList;
  }

  hwlocks(): HwLockInfo[] {
    this.record('hwlocks', {});
    return [{ id: '10.1', name: 'ticket', ownerNode: 2, value: '18446744073709551615', held: true }];
  }

  mailboxes(): MailboxInfo[] {
    this.record('mailboxes', {});
    return [{ id: '11.1', name: 'to-master', ownerNode: 0, targetNode: 2, queued: 3, capacity: 64, dropped: 0 }];
  }

  components(): ComponentInfo[] {
    this.record('components', {});
    return [];
  }

  readSection(p: Params<'readSection'>) {
    this.record('readSection', p);
    const s = this.find(this.sectionList, 'section', p.target);
    const offset = p.offset ?? 0;
    if (offset > s.size) throw new ControlError('bad-request', `offset ${offset} is past the end of section ${s.id} (${s.size} bytes)`);
    const length = Math.min(p.length ?? 1024 * 1024, s.size - offset);
    const bytes = sectionContent(s.size).subarray(offset, offset + length);
    return { id: s.id, offset, length, size: s.size, base64: bytes.toString('base64'), failedBytes: s.accessible ? 0 : length, failed: s.accessible || length === 0 ? [] : [{ offset, length }] };
  }

  decodeSection(p: Params<'decodeSection'>) {
    this.record('decodeSection', p);
    const s = this.find(this.sectionList, 'section', p.target);
    if (s.name !== 'webcache:buckets') return { id: s.id, layout: null, records: [], next: null, problems: [] };
    const field = (name: string, offset: number, value: string) => ({ name, offset, size: 4, value });
    return {
      id: s.id,
      layout: { title: 'Web cache: buckets', app: 'webcache' },
      records: [
        { struct: 'header', index: null, offset: 0, size: 8, fields: [field('buckets', 0, '2')], problem: null, failedBytes: 0 },
        { struct: 'chain', index: 1, offset: 32, size: 16, fields: [field('head', 40, '0x5000')], problem: 'magic is 0x0, not 0x57434531', failedBytes: 16 },
      ],
      next: 48,
      problems: ['tally: section layouts rejected: 0.title: too short'],
    };
  }

  log(p: Params<'log'>): LogPage {
    this.record('log', p);
    let rows = this.logRows.filter((r) => matchesLogFilter(r, p.filter));
    if (p.after !== undefined) {
      rows = rows.filter((r) => r.id > Number(p.after)).slice(0, p.limit);
      const more = rows.length === p.limit;
      return { rows, next: more ? String(rows[rows.length - 1]!.id) : null };
    }
    if (p.before !== undefined) rows = rows.filter((r) => r.id < Number(p.before));
    const page = rows.slice(-p.limit);
    return { rows: page, next: page.length < rows.length ? String(page[0]!.id) : null };
  }

  private node(id: number): NodeInfo {
    const n = this.nodeList.find((x) => x.id === id);
    if (!n) throw new ControlError('not-found', `no node ${id}`);
    return n;
  }

  private find<T extends { id: string; name: string }>(list: T[], kind: string, target: string): T {
    const ref = parseObjectRef(target);
    const o = list.find((x) => ('id' in ref ? x.id === ref.id : x.name === ref.name));
    if (!o) throw new ControlError('not-found', `no ${kind} ${target}`);
    return o;
  }

  killNode(p: Params<'killNode'>): NodeInfo {
    this.record('killNode', p);
    const n = this.node(p.node);
    n.state = 'failed';
    n.pid = null;
    this.generation++;
    this.pushStatus();
    return n;
  }

  killThread(p: Params<'killThread'>) {
    this.record('killThread', p);
    const n = this.node(p.node);
    const t = n.threads.find((x) => x.name === p.name && x.kind === 'worker' && x.state === 'running');
    if (!t) throw new ControlError('not-found', `node ${p.node} runs no thread named "${p.name}"`);
    t.state = 'exited';
    return { node: p.node, name: p.name, tid: t.tid, holding: p.holding ?? false };
  }

  stopNode(p: Params<'stopNode'>): NodeInfo {
    this.record('stopNode', p);
    const n = this.node(p.node);
    n.state = 'stopped';
    return n;
  }

  contNode(p: Params<'contNode'>): NodeInfo {
    this.record('contNode', p);
    const n = this.node(p.node);
    n.state = 'up';
    return n;
  }

  setRestartPolicy(p: Params<'setRestartPolicy'>) {
    this.record('setRestartPolicy', p);
    this.restartPolicy = p.policy;
    return { policy: this.restartPolicy };
  }

  restartNode(p: Params<'restartNode'>): NodeInfo {
    this.record('restartNode', p);
    const n = this.node(p.node);
    n.state = 'up';
    n.pid = 2000 + n.id;
    n.incarnation++;
    return n;
  }

  addNode() {
    this.record('addNode', {});
    const id = this.nodeList.length;
    this.nodeList.push({ ...this.nodeList[0]!, id, pid: 1000 + id, apps: [] });
    return { node: id };
  }

  failMemory(p: Params<'failMemory'>) {
    this.record('failMemory', p);
    if ('node' in p) {
      this.node(p.node);
      return { offset: 1024 * 1024 + p.node * 16 * 1024 * 1024, length: 16 * 1024 * 1024 };
    }
    return { offset: p.offset, length: p.length };
  }

  releaseMutex(p: Params<'releaseMutex'>): MutexInfo {
    this.record('releaseMutex', p);
    const m = this.find(this.mutexList, 'mutex', p.target);
    if (!m.holder) throw new ControlError('conflict', `mutex ${m.id} (${m.name}) is not held`);
    return { ...m, state: 'free', holder: null };
  }

  signalEvent(p: Params<'signalEvent'>): EventObjectInfo {
    this.record('signalEvent', p);
    return { ...this.find(this.eventList, 'event', p.target), signaled: true };
  }

  resetEvent(p: Params<'resetEvent'>): EventObjectInfo {
    this.record('resetEvent', p);
    return { ...this.find(this.eventList, 'event', p.target), signaled: false };
  }

  triggerRecovery(p: Params<'triggerRecovery'>) {
    this.record('triggerRecovery', p);
    return { components: p.component ? [p.component] : [] };
  }

  shutdown() {
    this.record('shutdown', {});
    setImmediate(() => this.onShutdown?.());
    return { stopping: true as const };
  }

  subscribeStatus(cb: (u: StatusUpdate) => void) {
    this.statusListeners.add(cb);
    return () => void this.statusListeners.delete(cb);
  }

  subscribeLog(filter: LogFilter, cb: (rows: LogRow[]) => void) {
    const l = { filter, cb };
    this.logListeners.add(l);
    return () => void this.logListeners.delete(l);
  }

  get statusSubscribers(): number {
    return this.statusListeners.size;
  }

  get logSubscribers(): number {
    return this.logListeners.size;
  }

  pushStatus(): void {
    const update = { status: this.status(), nodes: this.nodes() };
    for (const cb of this.statusListeners) cb(update);
  }

  /** Appends rows and pushes them to subscribers, filtered as a real event log would. */
  appendLog(kind: string, node: number, details: unknown = {}): LogRow {
    const last = this.logRows[this.logRows.length - 1];
    const row: LogRow = {
      id: (last?.id ?? 0) + 1,
      node,
      incarnation: 1,
      seq: this.logRows.filter((r) => r.node === node).length + 1,
      clusterTimeNs: this.logRows.length * 1_000_000,
      wallTimeMs: T0 + this.logRows.length * 1000,
      kind,
      object: null,
      details,
    };
    this.logRows.push(row);
    for (const l of this.logListeners) {
      if (matchesLogFilter(row, l.filter)) l.cb([row]);
    }
    return row;
  }
}
