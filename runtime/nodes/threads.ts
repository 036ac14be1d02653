// The threads of every node, in GSM (the thread table of the system area): each
// node writes its own rows (name, kernel tid, state), and the supervisor and
// status tools read them without asking the node, so a node that is hung or
// dead still shows what it was running. Rows of an earlier incarnation are
// ignored by readers and overwritten by the new one.
//
// Also the backstop for mutexes held by a thread that no longer exists (paper
// §3.3.1): the kernel marks them owner-died when the thread exits with a valid
// robust list; if that walk ever misses one, the thread's node finds the holder
// tid gone from /proc/self/task and abandons the mutex itself, as the supervisor
// does for dead processes.
import { readdirSync } from 'node:fs';
import type { Gsm } from '../gsm/gsm';
import { H, N, ObjectType, THREADS_PER_NODE, nodeRecord, threadRecord } from '../gsm/layout';
import { MUTEX_FIELDS, MUTEX_WORD } from '../objects/mutex';
import type { Namespace } from '../objects/namespace';

export const T = {
  state: 0, // u32 ThreadState
  tid: 4,
  incarnation: 8,
  kind: 12, // 0 main, 1 worker
  startedAtMs: 16, // u64
  endedAtMs: 24, // u64
  nameLength: 32,
  name: 36, // THREAD_NAME_BYTES
} as const;
export const THREAD_NAME_BYTES = 28;

export enum ThreadState {
  Empty = 0,
  Running = 1,
  Exited = 2,
}

export interface ThreadView {
  name: string;
  tid: number;
  kind: 'main' | 'worker';
  state: 'running' | 'exited';
  startedAtMs: number;
  endedAtMs: number | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Registers a thread of `node` (incarnation `incarnation`); returns its row index, or -1 when the table is full. */
export function registerThread(gsm: Gsm, node: number, incarnation: number, name: string, tid: number, kind: 'main' | 'worker'): number {
  const m = gsm.map;
  // Free rows first (empty, or an earlier incarnation's); then the longest-exited
  // of ours, so a thread that died stays visible as long as room allows.
  const order: number[] = [];
  const exited: { i: number; at: number }[] = [];
  for (let i = 0; i < THREADS_PER_NODE; i++) {
    const at = threadRecord(gsm.layout, node, i);
    const state = m.load32(at + T.state);
    if (state === ThreadState.Empty || m.load32(at + T.incarnation) !== incarnation) order.push(i);
    else if (state === ThreadState.Exited) exited.push({ i, at: m.load64n(at + T.endedAtMs) });
  }
  order.push(...exited.sort((a, b) => a.at - b.at).map((e) => e.i));
  for (const i of order) {
    const at = threadRecord(gsm.layout, node, i);
    const state = m.load32(at + T.state);
    // Rows an earlier incarnation left Running (it was killed: nobody marked its
    // threads exited) are free too, or a node killed a dozen times has no row left.
    if (state === 0xffffffff || (state === ThreadState.Running && m.load32(at + T.incarnation) === incarnation)) continue;
    if (m.cas32(at + T.state, state, 0xffffffff) !== state) continue; // claimed by another thread of the node
    const b = enc.encode(name).subarray(0, THREAD_NAME_BYTES);
    const field = new Uint8Array(THREAD_NAME_BYTES);
    field.set(b);
    m.write(at + T.name, field);
    m.store32(at + T.nameLength, b.length);
    m.store32(at + T.tid, tid);
    m.store32(at + T.incarnation, incarnation);
    m.store32(at + T.kind, kind === 'main' ? 0 : 1);
    m.store64n(at + T.startedAtMs, Date.now());
    m.store64n(at + T.endedAtMs, 0);
    m.store32(at + T.state, ThreadState.Running);
    return i;
  }
  return -1;
}

export function markThreadExited(gsm: Gsm, node: number, index: number): void {
  if (index < 0) return;
  const at = threadRecord(gsm.layout, node, index);
  gsm.map.store64n(at + T.endedAtMs, Date.now());
  gsm.map.store32(at + T.state, ThreadState.Exited);
}

/** The threads of `node`'s current incarnation. */
export function readThreads(gsm: Gsm, node: number): ThreadView[] {
  const m = gsm.map;
  const incarnation = m.load32(nodeRecord(gsm.layout, node) + N.incarnation);
  const out: ThreadView[] = [];
  for (let i = 0; i < THREADS_PER_NODE; i++) {
    const at = threadRecord(gsm.layout, node, i);
    const state = m.load32(at + T.state);
    if ((state !== ThreadState.Running && state !== ThreadState.Exited) || m.load32(at + T.incarnation) !== incarnation) continue;
    const name = new Uint8Array(Math.min(m.load32(at + T.nameLength), THREAD_NAME_BYTES));
    m.read(at + T.name, name);
    const ended = m.load64n(at + T.endedAtMs);
    out.push({
      name: dec.decode(name),
      tid: m.load32(at + T.tid),
      kind: m.load32(at + T.kind) === 0 ? 'main' : 'worker',
      state: state === ThreadState.Running ? 'running' : 'exited',
      startedAtMs: m.load64n(at + T.startedAtMs),
      endedAtMs: ended || null,
    });
  }
  return out;
}

/** Kernel tids of this process's live threads. */
export function liveTids(): Set<number> {
  return new Set(readdirSync('/proc/self/task').map(Number));
}

export interface AbandonedByThread {
  id: string;
  name: string;
  tid: number;
}

/**
 * The backstop: every mutex whose lock word names a thread that was one of this
 * process's (`ours`) and no longer exists is marked owner-died, so its next
 * locker gets ABANDONED instead of waiting forever. Only tids seen as ours count:
 * a tid is reused by the kernel, and another process's live holder must never
 * be abandoned. Returns what it abandoned (for the event log).
 */
export function abandonMutexesOfDeadThreads(gsm: Gsm, ns: Namespace, pid: number, ours: ReadonlySet<number>, live: Set<number> = liveTids()): AbandonedByThread[] {
  const m = gsm.map;
  const out: AbandonedByThread[] = [];
  const check = (offset: number, id: string, name: string) => {
    const word = m.load32(offset + MUTEX_FIELDS.word);
    const tid = word & MUTEX_WORD.FUTEX_TID_MASK;
    if (!tid || live.has(tid) || !ours.has(tid) || m.load32(offset + MUTEX_FIELDS.ownerPid) !== pid) return;
    if (m.mutexAbandon(offset, tid)) out.push({ id, name, tid });
  };
  check(H.namespaceMutex, 'namespace', 'namespace lock');
  check(gsm.layout.componentTableOffset, 'components', 'component table lock');
  for (const r of ns.list()) {
    if (r.type !== ObjectType.Mutex && r.type !== ObjectType.Mailbox) continue;
    if (!gsm.isAccessible(r.dataOffset, 4)) continue;
    check(r.dataOffset, r.id, r.name);
  }
  return out;
}

/**
 * Watches this process's threads: every Worker (started through AppContext or
 * with \`new Worker\` by hand) is noted when it comes online, and when one exits
 * (and every `periodMs` for any that slipped by) the mutexes its dead threads
 * still hold are abandoned.
 */
export class ThreadBackstop {
  private readonly ours = liveTids();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly gsm: Gsm,
    private readonly ns: Namespace,
    private readonly onAbandoned: (a: AbandonedByThread[]) => void,
    periodMs = 1000,
  ) {
    this.timer = setInterval(() => this.scan(), periodMs);
    this.timer.unref();
    process.on('worker', (w) => {
      w.once('online', () => this.note());
      w.once('exit', () => {
        this.scan();
        // The kernel may list the thread a moment longer than Node reports it gone.
        setTimeout(() => this.scan(), 50).unref();
      });
    });
  }

  /** Records the tids alive now as this process's. */
  note(): void {
    for (const t of liveTids()) this.ours.add(t);
  }

  scan(): AbandonedByThread[] {
    if (this.gsm.closed) return [];
    const live = liveTids();
    for (const t of live) this.ours.add(t);
    const found = abandonMutexesOfDeadThreads(this.gsm, this.ns, process.pid, this.ours, live);
    if (found.length) this.onAbandoned(found);
    // Forget dead tids once nothing of theirs is held: the kernel may reuse them.
    for (const t of [...this.ours]) if (!live.has(t)) this.ours.delete(t);
    return found;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
