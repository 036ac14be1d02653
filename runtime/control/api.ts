// The console API, declared once: runtime schemas (zod) and the TypeScript types
// inferred from them. The Electron preload, the headless HTTP/WebSocket server,
// the `mcs` CLI and the tests all speak exactly this contract, so a field renamed
// here is renamed everywhere or fails to compile.
//
// The renderer imports this file: it must not import node: modules (nor anything
// that does). Wire format is plain JSON: 64-bit values that can exceed 2^53 travel
// as decimal strings, bytes as base64.
import { z } from 'zod';

// ---------------------------------------------------------------------------
// Identifiers

/** Global object ids are "<slot>.<generation>": a reused slot gets a new generation, so a stale id is detectable. */
export const OBJECT_ID_RE = /^\d+\.\d+$/;
/** Object names: a letter first, then [A-Za-z0-9_.:/-]; ASCII only, so characters are bytes. */
export const OBJECT_NAME_RE = /^[A-Za-z][A-Za-z0-9_.:/-]*$/;
export const OBJECT_NAME_MAX_BYTES = 47;
/** Largest slice of a section one readSection returns. */
export const MAX_READ_BYTES = 1024 * 1024;
/** Largest page one log request returns. */
export const MAX_LOG_LIMIT = 1000;

export function isObjectId(s: string): boolean {
  return OBJECT_ID_RE.test(s);
}

export function isObjectName(s: string): boolean {
  return s.length <= OBJECT_NAME_MAX_BYTES && OBJECT_NAME_RE.test(s);
}

/** A NAME|ID argument: an id if it looks like "12.3", else a name (names start with a letter, so never ambiguous). */
export function parseObjectRef(ref: string): { id: string } | { name: string } {
  return isObjectId(ref) ? { id: ref } : { name: ref };
}

const int = (what: string) => z.number({ error: `expected ${what}` }).int(`expected ${what}`);
const count = () => int('a non-negative integer').min(0, 'expected a non-negative integer');
const ms = () => z.number({ error: 'expected milliseconds' }).min(0, 'expected milliseconds >= 0');
const epochMs = () => z.number({ error: 'expected a time in ms since the epoch' });

export const NodeId = int('a node number (integer >= 0)').min(0, 'expected a node number (integer >= 0)').max(65535, 'node numbers are below 65536');
/** Node number of rows the supervisor or an operator logged (not any node's event ring). */
export const SUPERVISOR_NODE = -1;
/** A node number as the event log knows it: a node, or SUPERVISOR_NODE (-1) for supervisor and operator events. */
export const LogNodeId = int('a node number (integer >= -1; -1: supervisor and operator events)')
  .min(SUPERVISOR_NODE, 'expected a node number (integer >= -1; -1: supervisor and operator events)')
  .max(65535, 'node numbers are below 65536');
export const ObjectId = z.string().regex(OBJECT_ID_RE, 'expected an object id like "12.3" (slot.generation)');
export const ObjectName = z
  .string()
  .refine(isObjectName, `expected an object name: a letter, then letters, digits or _ . : / - (at most ${OBJECT_NAME_MAX_BYTES} bytes)`);
/** NAME|ID as given by a user: resolved by the backend. */
export const ObjectRef = z
  .string({ error: 'expected an object name or id' })
  .refine((s) => isObjectId(s) || isObjectName(s), 'expected an object name (a letter, then letters, digits or _ . : / -, at most 47 bytes) or an id like "12.3"');
/** u64 as a decimal string: JSON numbers lose precision above 2^53. */
export const U64String = z.string().regex(/^\d{1,20}$/, 'expected a decimal u64 string');

export const ThreadRef = z.object({ node: NodeId, pid: count(), tid: count() });
export type ThreadRef = z.infer<typeof ThreadRef>;

// ---------------------------------------------------------------------------
// Status tools (paper §5: the multicomputer's Process Explorer / WinObj / ipcs)

export const GsmStatus = z.object({
  name: z.string(),
  totalBytes: count(),
  /** Bytes reserved for the system area (membership, object tables, log ring). */
  systemBytes: count(),
  /** Bytes each node contributes (and houses) when it joins. */
  contributionBytes: count(),
  usedBytes: count(),
  /** Memory failures since power-on (paper §3.3.2). */
  memoryFailures: count(),
});
export type GsmStatus = z.infer<typeof GsmStatus>;

export const ObjectCounts = z.object({
  sections: count(),
  mutexes: count(),
  events: count(),
  hwlocks: count(),
  mailboxes: count(),
});
export type ObjectCounts = z.infer<typeof ObjectCounts>;

export const ClusterStatus = z.object({
  name: z.string(),
  supervisorPid: count(),
  startedAtMs: epochMs(),
  /** Membership generation: incremented on every join, failure and departure. */
  generation: count(),
  /** Node ids in the current generation, sorted. */
  members: z.array(NodeId),
  nodeCount: count(),
  heartbeatPeriodMs: ms(),
  heartbeatTimeoutMs: ms(),
  gsm: GsmStatus,
  objects: ObjectCounts,
  logRows: count(),
  /** Whether failed nodes come back by themselves: on-failure (backoff, gives up on a crash loop) or never. */
  restartPolicy: z.enum(['never', 'on-failure']),
  /** How late the failure detector's last check was: a paused or starved observer. */
  detectorLagMs: ms(),
  /** Whether the supervisor runs the debugger service (false: the debug methods answer unavailable); absent: not said. */
  debugger: z.boolean().optional(),
});
export type ClusterStatus = z.infer<typeof ClusterStatus>;

export const NodeState = z.enum(['starting', 'up', 'suspect', 'stopped', 'failed', 'left']);
export type NodeState = z.infer<typeof NodeState>;

export const ThreadInfo = z.object({
  name: z.string(),
  /** Kernel thread id: what a held mutex's owner field and the debugger name. */
  tid: count(),
  kind: z.enum(['main', 'worker']),
  state: z.enum(['running', 'exited']),
  startedAtMs: epochMs(),
  endedAtMs: epochMs().nullable(),
});
export type ThreadInfo = z.infer<typeof ThreadInfo>;
/** A URL an app serves on a node (the Web cache's HTTP server), published by the node. */
export const NodeEndpoint = z.object({ app: z.string(), url: z.string().regex(/^https?:\/\//, 'expected an http(s) URL') });
export type NodeEndpoint = z.infer<typeof NodeEndpoint>;

export const NodeInfo = z.object({
  id: NodeId,
  state: NodeState,
  pid: count().nullable(),
  /** Bumped each time the node (re)starts: tells a rejoined node from its dead predecessor. */
  incarnation: count(),
  heartbeatAgeMs: ms().nullable(),
  joinedGeneration: count().nullable(),
  /** GSM this node contributes: failed memory if the node dies. */
  gsmHousedBytes: count(),
  gsmUsedBytes: count(),
  contributionFailed: z.boolean(),
  apps: z.array(z.string()),
  /**
   * The failure detector's suspicion of a running node: phi (0 when it beats on
   * time, failed at 8), null when it is not watched (starting, failed, left).
   */
  suspicion: z.number().min(0).nullable(),
  /** Evidence: the heartbeat interval learned for this node. */
  expectedIntervalMs: ms().nullable(),
  /** Evidence: the silence after which it would be failed now (longer for irregular beats or a starved observer). */
  deadlineMs: ms().nullable(),
  /** Evidence: how late the detector's own last check was. */
  detectorLagMs: ms(),
  /** Restarts the restart policy made of this node slot, and whether it gave up on it (a crash loop). */
  restarts: count(),
  restartGaveUp: z.boolean(),
  /** The node's threads (main and named workers) from its thread table in GSM. */
  threads: z.array(ThreadInfo),
  /** What the node's apps serve (absent from backends that predate endpoints). */
  endpoints: z.array(NodeEndpoint).optional(),
  /**
   * Requests its applications have served since it started, from their request
   * counters in GSM (requestCounterName); absent when no application counts any.
   */
  requests: count().optional(),
});
export type NodeInfo = z.infer<typeof NodeInfo>;

export const GenerationInfo = z.object({
  generation: count(),
  members: z.array(NodeId),
  cause: z.string(),
  atMs: epochMs(),
});
export type GenerationInfo = z.infer<typeof GenerationInfo>;

export const SectionInfo = z.object({
  id: ObjectId,
  name: z.string(),
  ownerNode: NodeId,
  ownerIncarnation: count(),
  size: count(),
  createdAtMs: epochMs(),
  openBy: z.array(z.object({ node: NodeId, refs: count() })),
  /** False once the memory housing it has failed (paper §3.3.2). */
  accessible: z.boolean(),
});
export type SectionInfo = z.infer<typeof SectionInfo>;

export const MutexState = z.enum(['free', 'held', 'abandoned', 'inconsistent', 'not-recoverable']);
export type MutexState = z.infer<typeof MutexState>;

export const MutexInfo = z.object({
  id: ObjectId,
  name: z.string(),
  /** The node whose contribution houses the mutex. */
  ownerNode: NodeId,
  state: MutexState,
  holder: z.object({ node: NodeId, pid: count(), tid: count(), incarnation: count(), heldMs: ms() }).nullable(),
  /** In arrival order. */
  waiters: z.array(z.object({ node: NodeId, pid: count(), tid: count(), waitedMs: ms() })),
  waiterCount: count(),
  abandonCount: count(),
  lockCount: count(),
  maxHoldMs: ms(),
  totalHoldMs: ms(),
});
export type MutexInfo = z.infer<typeof MutexInfo>;

export const EventObjectInfo = z.object({
  id: ObjectId,
  name: z.string(),
  ownerNode: NodeId,
  mode: z.enum(['manual', 'auto']),
  signaled: z.boolean(),
  waiterCount: count(),
});
export type EventObjectInfo = z.infer<typeof EventObjectInfo>;

export const HwLockInfo = z.object({
  id: ObjectId,
  name: z.string(),
  ownerNode: NodeId,
  value: U64String,
  held: z.boolean(),
});
export type HwLockInfo = z.infer<typeof HwLockInfo>;

export const MailboxInfo = z.object({
  id: ObjectId,
  name: z.string(),
  ownerNode: NodeId,
  targetNode: NodeId,
  queued: count(),
  capacity: count(),
  dropped: count(),
});
export type MailboxInfo = z.infer<typeof MailboxInfo>;

export const RecoveryState = z.enum(['ready', 'recovering', 'unrecoverable']);
export type RecoveryState = z.infer<typeof RecoveryState>;

export const ComponentInfo = z.object({
  name: z.string(),
  /** Nodes whose instance is joined in their current incarnation (paper §3.5: component membership). */
  members: z.array(NodeId),
  master: NodeId.nullable(),
  /** The master shared area: a section in the master's contribution. */
  masterArea: ObjectId.nullable(),
  /** Requested recovery generation; `completedGeneration` lags it while a recovery runs. */
  recoveryGeneration: count(),
  completedGeneration: count(),
  recovering: z.boolean(),
  recoveryState: RecoveryState,
  /** Why the latest recovery was requested. */
  cause: z.string(),
  recoveries: count(),
  /** Duration of each recent recovery (request to every member rebuilt), oldest first. */
  recoveryDurations: z.array(z.object({ generation: count(), ms: ms() })),
  lastRecoveryMs: ms().nullable(),
  /** Workers currently locking out recovery, over all members. */
  lockouts: count(),
});
export type ComponentInfo = z.infer<typeof ComponentInfo>;

export const WaitEdge = z.object({
  waiter: ThreadRef,
  mutex: ObjectId,
  mutexName: z.string(),
  holder: ThreadRef,
});
export type WaitEdge = z.infer<typeof WaitEdge>;

export const WaitGraph = z.object({
  /** waiter thread → mutex → holder thread, one per waiter of a held mutex. */
  edges: z.array(WaitEdge),
  /** Deadlocks: each cycle lists its edges in order (edge i's holder is edge i+1's waiter, the last closes the loop). */
  cycles: z.array(z.array(WaitEdge)),
});
export type WaitGraph = z.infer<typeof WaitGraph>;

export const SectionBytes = z.object({
  id: ObjectId,
  offset: count(),
  length: count(),
  size: count(),
  base64: z.base64(),
  /** How many of the returned bytes lie in failed memory (they read as the dummy value). */
  failedBytes: count(),
  /**
   * Which of them, as section-offset ranges (sorted, disjoint): a byte that reads 0xFF
   * is failed only if it lies in one, since 0xFF is also an ordinary byte value.
   */
  failed: z.array(z.strictObject({ offset: count(), length: count() })),
});
export type SectionBytes = z.infer<typeof SectionBytes>;

/** One field of a decoded record; offsets are section offsets. */
export const DecodedField = z.strictObject({ name: z.string(), offset: count(), size: count(), value: z.string() });
export const DecodedRecord = z.strictObject({
  struct: z.string(),
  /** Its position in a table, or null. */
  index: count().nullable(),
  offset: count(),
  size: count(),
  fields: z.array(DecodedField),
  /** Why it cannot be trusted (a magic number that does not match), or null. */
  problem: z.string().nullable(),
  failedBytes: count(),
});
export type DecodedRecord = z.infer<typeof DecodedRecord>;
/** A section read through the layout its application registered (runtime/sdk/section-layout.ts). */
export const DecodedSection = z.strictObject({
  id: ObjectId,
  /** The layout used and the application that registered it; null when none describes this section. */
  layout: z.strictObject({ title: z.string(), app: z.string() }).nullable(),
  records: z.array(DecodedRecord),
  /** Pass as `from` for the next records; null at the end. */
  next: count().nullable(),
  /** Layouts of running applications that were rejected when registered. */
  problems: z.array(z.string()),
});
export type DecodedSection = z.infer<typeof DecodedSection>;

// ---------------------------------------------------------------------------
// The event log

/** A kind filter: an exact kind ("mutex.abandoned") or a prefix ending in '*' ("mutex.*"). */
export const KindPattern = z.string().regex(/^(?:[A-Za-z0-9_.:/-]+\*?|\*)$/, 'expected a log kind like "node.failed" or a prefix like "node.*"');

export const LogFilter = z.strictObject({
  /** Wall-clock range, inclusive start, exclusive end. */
  sinceMs: epochMs().optional(),
  untilMs: epochMs().optional(),
  /** Rows from any of these nodes; -1 selects the supervisor's and operators' rows. */
  nodes: z.array(LogNodeId).max(1024).optional(),
  kinds: z.array(KindPattern).max(64).optional(),
  /** An object id or name; matches rows whose `object` is exactly this. */
  object: ObjectRef.optional(),
  /** Case-insensitive substring of the kind, object or JSON details. */
  text: z.string().max(200, 'text filter is at most 200 characters').optional(),
});
export type LogFilter = z.infer<typeof LogFilter>;

export const LogRow = z.object({
  id: count(),
  /** The node that logged it, or -1 (SUPERVISOR_NODE) for the supervisor and operator actions. */
  node: LogNodeId,
  /** The node's incarnation (0 for supervisor rows). */
  incarnation: count(),
  /** Per-node, per-incarnation sequence number: a gap means lost events. */
  seq: count(),
  /**
   * Cluster time in ns since the multicomputer started (below 2^53 for 104 days):
   * the supervisor's backend converts the log's CLOCK_MONOTONIC stamps, so rows from
   * every node and the supervisor order on one time line starting at 0.
   */
  clusterTimeNs: count(),
  wallTimeMs: epochMs(),
  kind: z.string(),
  object: z.string().nullable(),
  details: z.unknown(),
});
export type LogRow = z.infer<typeof LogRow>;

export const LogPage = z.object({
  rows: z.array(LogRow),
  /** Cursor for the next page in the same direction, null when there is none. */
  next: z.string().nullable(),
});
export type LogPage = z.infer<typeof LogPage>;

const LogCursor = z.string().min(1).max(128);

/**
 * The cursor naming a row's position, for paging from any row (context around an
 * event): the same text runtime/log/query.ts's cursorOf makes (test/control/api.test.ts checks).
 */
export function logCursorOf(rowId: number): string {
  return `e${rowId.toString(36)}`;
}

// ---------------------------------------------------------------------------
// Results of the modification tools

export const AddNodeResult = z.object({ node: NodeId });
export const FailMemoryResult = z.object({
  /** The GSM byte range that is now failed memory. */
  offset: count(),
  length: count(),
});
export const TriggerRecoveryResult = z.object({ components: z.array(z.string()) });
export const ShutdownResult = z.object({ stopping: z.literal(true) });
export const StatusUpdate = z.object({ status: ClusterStatus, nodes: z.array(NodeInfo) });
export type StatusUpdate = z.infer<typeof StatusUpdate>;

// ---------------------------------------------------------------------------
// The distributed debugger (paper §5.3; runtime/debugger, docs/debugger.md)

/** A debugger client session: it holds the focus set and keeps the debugger attached while it polls. */
export const DebugSessionId = z.string().regex(/^[0-9a-f]{16}$/, 'expected a debug session id (16 hex digits)');
export const DebugFrame = z.object({ fn: z.string(), file: z.string(), line: count(), column: count() });
export type DebugFrame = z.infer<typeof DebugFrame>;

export const DebugReply = z.object({
  session: DebugSessionId,
  /** The focus set after the command, for the prompt. */
  focus: z.string(),
  /** What a terminal shows. */
  text: z.string(),
  /** The same result for tools: its shape depends on the command (see docs/debugger.md). */
  data: z.unknown(),
});
export type DebugReply = z.infer<typeof DebugReply>;

export const DebugEventKind = z.enum(['stopped', 'running', 'barrier', 'freeze', 'thaw', 'thread', 'node', 'output', 'watch', 'detach']);
export const DebugEvent = z.object({
  seq: count(),
  atMs: epochMs(),
  kind: DebugEventKind,
  /** The thread (node.thread) it is about, or for aggregated output the set of threads that printed it. */
  thread: z.string().nullable(),
  text: z.string(),
});
export type DebugEvent = z.infer<typeof DebugEvent>;
export const DebugEvents = z.object({ events: z.array(DebugEvent), next: count() });
export type DebugEvents = z.infer<typeof DebugEvents>;

export const DebugThreadInfo = z.object({
  id: z.string(),
  node: NodeId,
  thread: count(),
  name: z.string(),
  state: z.enum(['running', 'halting', 'stopped', 'held']),
  where: DebugFrame.nullable(),
  reason: z.string().nullable(),
  frozen: z.boolean(),
});
export type DebugThreadInfo = z.infer<typeof DebugThreadInfo>;

export const DebugLease = z.object({
  node: NodeId,
  /** frozen: held by the debugger; thawing: resumed, the lease holds until the node beats again. */
  state: z.enum(['frozen', 'thawing']),
  reason: z.string().nullable(),
  frozenMs: count().nullable(),
  /** What is left of the node's freeze lease in GSM: it runs out unless the debugger service renews it. */
  leaseMs: count(),
});
export type DebugLease = z.infer<typeof DebugLease>;

export const DebugState = z.object({
  threads: z.array(DebugThreadInfo),
  frozenNodes: z.array(NodeId),
  leases: z.array(DebugLease),
  /** A session that stops polling for this long has gone away (the last one resumes everything). */
  sessionLeaseMs: count(),
  stopModel: z.enum(['all', 'independent']),
  sets: z.array(z.object({ name: z.string(), definition: z.string(), members: z.array(z.string()) })),
  actions: z.array(
    z.object({
      id: count(),
      kind: z.enum(['break', 'barrier', 'watch']),
      location: z.string(),
      condition: z.string().nullable(),
      count: count().nullable(),
      target: z.string(),
      stop: z.string().nullable(),
      enabled: z.boolean(),
      hits: count(),
      arrived: z.array(z.string()),
    }),
  ),
});
export type DebugState = z.infer<typeof DebugState>;

// The `data` of the commands a Debugger view draws (DebugReply.data), validated
// where they are used: `print` and `output` give aggregated groups, `stacks` the
// merged call tree, `list` the source around a thread's current line.
export const DebugGroups = z.array(z.object({ set: z.string(), threads: z.array(z.string()), value: z.string().optional(), text: z.string().optional() }));
export type DebugGroups = z.infer<typeof DebugGroups>;
export interface DebugStackNode {
  id: number;
  label: string;
  threads: { node: number; thread: number }[];
  set: string;
  children: DebugStackNode[];
}
export const DebugStackNode: z.ZodType<DebugStackNode> = z.lazy(() =>
  z.object({
    id: count(),
    label: z.string(),
    threads: z.array(z.object({ node: NodeId, thread: count() })),
    set: z.string(),
    children: z.array(DebugStackNode),
  }),
);
export const DebugStacks = z.object({ tree: z.array(DebugStackNode), running: z.array(z.string()) });
export type DebugStacks = z.infer<typeof DebugStacks>;
export const DebugSource = z.object({
  thread: z.string(),
  file: z.string(),
  /** The thread's current line when it stands in this file. */
  line: count().nullable(),
  first: count(),
  lines: z.array(z.string()),
  total: count(),
});
export type DebugSource = z.infer<typeof DebugSource>;

// ---------------------------------------------------------------------------
// Parameters

const NoParams = z.strictObject({});
const NodeParams = z.strictObject({ node: NodeId });
const TargetParams = z.strictObject({ target: ObjectRef });

const ReadSectionParams = z.strictObject({
  target: ObjectRef,
  offset: count().optional(),
  length: int('a length in bytes').min(0, 'length must be >= 0').max(MAX_READ_BYTES, `length is at most ${MAX_READ_BYTES} bytes (1 MiB)`).optional(),
});

const DecodeSectionParams = z.strictObject({
  target: ObjectRef,
  /** The first record at or after this section offset. */
  from: count().optional(),
  limit: int('a record count').min(1, 'limit must be >= 1').max(500, 'limit is at most 500 records').optional(),
});

const LogParams = z
  .strictObject({
    filter: LogFilter,
    /** Rows after this cursor, oldest first. Without after/before: the newest `limit` rows. */
    after: LogCursor.optional(),
    /** The newest `limit` rows before this cursor. */
    before: LogCursor.optional(),
    /** The oldest `limit` rows (then page on with `after: next`): for exports. */
    fromStart: z.literal(true).optional(),
    limit: int('a row limit').min(1, 'limit must be >= 1').max(MAX_LOG_LIMIT, `limit is at most ${MAX_LOG_LIMIT}`),
  })
  .refine((p) => [p.after, p.before, p.fromStart].filter((x) => x !== undefined).length <= 1, {
    message: 'give at most one of after, before and fromStart',
    path: ['before'],
  });

export type FailMemoryParams = { node: number } | { offset: number; length: number };
const FailMemoryParams = z
  .strictObject({
    node: NodeId.optional(),
    offset: count().optional(),
    length: int('a length in bytes').min(1, 'length must be >= 1').optional(),
  })
  .superRefine((p, ctx) => {
    if (p.node !== undefined) {
      for (const k of ['offset', 'length'] as const) {
        if (p[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'give either node, or offset and length' });
      }
    } else {
      for (const k of ['offset', 'length'] as const) {
        if (p[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'required (give either node, or offset and length)' });
      }
    }
  }) as unknown as z.ZodType<FailMemoryParams, FailMemoryParams>;

const TriggerRecoveryParams = z.strictObject({ component: z.string().min(1).max(64).optional() });
/** Thread names as AppContext.startThread accepts them. */
export const ThreadName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,27}$/, 'expected a thread name (a letter, then up to 27 letters, digits or _ . : -)');
const KillThreadParams = z.strictObject({
  node: NodeId,
  name: ThreadName,
  /** End it right after it next acquires a global mutex (it dies holding it), not at once. */
  holding: z.boolean().optional(),
});
export const KillThreadResult = z.object({ node: NodeId, name: ThreadName, tid: count(), holding: z.boolean() });
export const RestartPolicyName = z.enum(['never', 'on-failure'], { error: 'expected a restart policy: never or on-failure' });
const RestartPolicyParams = z.strictObject({ policy: RestartPolicyName });
export const RestartPolicyResult = z.object({ policy: RestartPolicyName });

const DebugCommandParams = z.strictObject({
  /** Omitted: a new session is opened (its id comes back in the reply). */
  session: DebugSessionId.optional(),
  /** One HPD command line, optionally with a set prefix: `[1.*] print x`. */
  line: z.string().max(4096, 'a debugger command is at most 4096 characters'),
});
const DebugEventsParams = z.strictObject({
  session: DebugSessionId,
  /** Events after this sequence number (from the previous reply's next). */
  after: count().optional(),
  /** Long poll: wait up to this long for an event (default 0). */
  waitMs: int('milliseconds').min(0).max(10_000, 'waitMs is at most 10000').optional(),
  /** Only output of threads in this set. */
  set: z.string().max(512).optional(),
});

// ---------------------------------------------------------------------------
// The method table

export interface MethodSpec {
  params: z.ZodType;
  result: z.ZodType;
  /** Changes the multicomputer in a way that hurts running applications: confirmed by the UI and CLI, and logged. */
  destructive: boolean;
  summary: string;
}

function method<P extends z.ZodType, R extends z.ZodType>(
  params: P,
  result: R,
  destructive: boolean,
  summary: string,
): { params: P; result: R; destructive: boolean; summary: string } {
  return { params, result, destructive, summary };
}

export const methods = {
  status: method(NoParams, ClusterStatus, false, 'cluster status: generation, members, GSM usage, object counts'),
  nodes: method(NoParams, z.array(NodeInfo), false, 'every node: state, pid, heartbeat age, GSM housed and used'),
  generations: method(NoParams, z.array(GenerationInfo), false, 'membership history'),
  sections: method(NoParams, z.array(SectionInfo), false, 'global sections'),
  mutexes: method(NoParams, z.array(MutexInfo), false, 'global mutexes: holder, waiters, hold times'),
  events: method(NoParams, z.array(EventObjectInfo), false, 'global events'),
  hwlocks: method(NoParams, z.array(HwLockInfo), false, 'hardware locks (atomic registers)'),
  mailboxes: method(NoParams, z.array(MailboxInfo), false, 'mailboxes'),
  components: method(NoParams, z.array(ComponentInfo), false, 'recoverable components: members, master, recovery'),
  waitGraph: method(NoParams, WaitGraph, false, 'who waits for whom on global mutexes, and deadlock cycles'),
  /** Without length: to the end of the section, at most MAX_READ_BYTES. */
  readSection: method(ReadSectionParams, SectionBytes, false, 'bytes of a section'),
  decodeSection: method(DecodeSectionParams, DecodedSection, false, "records of a section, decoded by its application's registered layout"),
  log: method(LogParams, LogPage, false, 'a page of the event log'),
  killNode: method(NodeParams, NodeInfo, true, 'SIGKILL a node (an OS crash of that node)'),
  killThread: method(KillThreadParams, KillThreadResult, true, "end a node's worker thread abruptly (at once, or holding a global mutex); the node restarts it"),
  stopNode: method(NodeParams, NodeInfo, true, 'SIGSTOP a node (a hung node)'),
  contNode: method(NodeParams, NodeInfo, false, 'SIGCONT a stopped node'),
  restartNode: method(NodeParams, NodeInfo, true, 'kill a node and start a new incarnation of it'),
  addNode: method(NoParams, AddNodeResult, false, 'start a new node'),
  failMemory: method(FailMemoryParams, FailMemoryResult, true, "fail a node's GSM contribution or a GSM byte range"),
  releaseMutex: method(TargetParams, MutexInfo, true, 'force-release a global mutex'),
  signalEvent: method(TargetParams, EventObjectInfo, true, 'signal a global event'),
  resetEvent: method(TargetParams, EventObjectInfo, true, 'reset a global event'),
  triggerRecovery: method(TriggerRecoveryParams, TriggerRecoveryResult, true, 'start recovery of one component, or all'),
  shutdown: method(NoParams, ShutdownResult, true, 'stop the multicomputer and its supervisor'),
  setRestartPolicy: method(RestartPolicyParams, RestartPolicyResult, false, 'whether failed nodes come back by themselves (never, on-failure)'),
  debugCommand: method(DebugCommandParams, DebugReply, false, 'run a debugger command (HPD syntax) in a debug session'),
  debugEvents: method(DebugEventsParams, DebugEvents, false, 'debugger events (stops, freezes, aggregated output) after a sequence number; keeps the session alive'),
  debugState: method(NoParams, DebugState, false, 'debugger threads, frozen nodes, named sets and actions'),
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type Params<M extends MethodName> = z.input<Methods[M]['params']>;
export type Result<M extends MethodName> = z.output<Methods[M]['result']>;

export const methodNames = Object.keys(methods) as MethodName[];

export function isMethodName(s: string): s is MethodName {
  return Object.prototype.hasOwnProperty.call(methods, s);
}

// ---------------------------------------------------------------------------
// Errors

export const ErrorCode = z.enum(['bad-request', 'unauthorized', 'not-found', 'invalid-id', 'conflict', 'unavailable', 'internal']);
export type ErrorCode = z.infer<typeof ErrorCode>;
export const ControlErrorBody = z.object({ code: ErrorCode, message: z.string() });
export type ControlErrorBody = z.infer<typeof ControlErrorBody>;

/**
 * The one error type of the API. Backends throw it with a code the caller can act
 * on (`not-found`: no such node/object; `invalid-id`: a stale "slot.generation";
 * `conflict`: the object is not in a state that allows it; `unavailable`: the
 * multicomputer cannot answer now). Anything else thrown becomes `internal`.
 */
export class ControlError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ControlError';
    this.code = code;
  }
  toJSON(): ControlErrorBody {
    return { code: this.code, message: this.message };
  }
  static from(e: unknown): ControlError {
    if (e instanceof ControlError) return e;
    const parsed = ControlErrorBody.safeParse(e);
    if (parsed.success) return new ControlError(parsed.data.code, parsed.data.message);
    return new ControlError('internal', e instanceof Error ? e.message : String(e), { cause: e });
  }
}

/** "field.path: problem" for each zod issue: bad requests must name the bad field. */
export function describeIssues(error: z.ZodError, root = 'params'): string {
  return error.issues
    .slice(0, 5)
    .map((i) => {
      const where = [root, ...i.path.map(String)].join('.');
      return `${where}: ${i.message}`;
    })
    .join('; ');
}

/** Validates params for a method; throws ControlError('bad-request') naming the bad field. */
export function parseParams<M extends MethodName>(name: M, params: unknown): Params<M> {
  const r = methods[name].params.safeParse(params ?? {});
  if (!r.success) throw new ControlError('bad-request', `${name}: ${describeIssues(r.error)}`);
  return r.data as Params<M>;
}

/** Validates a result; a mismatch is the other side's bug, reported as internal. */
export function parseResult<M extends MethodName>(name: M, result: unknown, who = 'the multicomputer'): Result<M> {
  const r = methods[name].result.safeParse(result);
  if (!r.success) throw new ControlError('internal', `${who} returned an invalid result for ${name}: ${describeIssues(r.error, 'result')}`);
  return r.data as Result<M>;
}

// ---------------------------------------------------------------------------
// The interfaces

export type Unsubscribe = () => void;
type Awaitable<T> = T | Promise<T>;

/** One typed async function per method: what the renderer, CLI and tests call. */
export type ConsoleApi = {
  [M in MethodName]: {} extends Params<M> ? (params?: Params<M>) => Promise<Result<M>> : (params: Params<M>) => Promise<Result<M>>;
};

export interface SubscribeOptions {
  /** The subscription failed or ended (connection lost, multicomputer stopped); no more pushes come. */
  onError?: (e: ControlError) => void;
  /** The subscription is active: anything that happens from now on will be pushed. */
  onReady?: () => void;
}

/** Subscriptions every console transport offers on top of the methods. */
export interface ConsoleSubscriptions {
  /** Pushes {status, nodes} at once, then on every change, at most every 250 ms and at least every second. */
  subscribeStatus(cb: (update: StatusUpdate) => void, options?: SubscribeOptions): Unsubscribe;
  /** Pushes rows appended from now on that match the filter, in batches. */
  subscribeLog(filter: LogFilter, cb: (rows: LogRow[]) => void, options?: SubscribeOptions): Unsubscribe;
}

/** A connected console: the API, its subscriptions, and close(). */
export type ControlClient = ConsoleApi & ConsoleSubscriptions & { close(): void };

type DebugMethodName = 'debugCommand' | 'debugEvents' | 'debugState';
type OptionalMethodName = 'waitGraph' | 'shutdown' | 'decodeSection' | DebugMethodName;
type BackendMethod<M extends MethodName> = (params: Params<M>) => Awaitable<Result<M>>;

/**
 * What the supervisor implements. Params arrive validated (never undefined; {} for
 * methods without params); results are validated before they leave the process.
 * Throw ControlError for expected failures.
 *
 * waitGraph and shutdown are optional: without waitGraph the wait graph is computed
 * from mutexes(); without shutdown the method answers 'unavailable'.
 */
export type ControlBackend = {
  [M in Exclude<MethodName, OptionalMethodName>]: BackendMethod<M>;
} & {
  waitGraph?: BackendMethod<'waitGraph'>;
  shutdown?: BackendMethod<'shutdown'>;
  /** Without it the method answers 'unavailable' (a backend with no applications to decode for). */
  decodeSection?: BackendMethod<'decodeSection'>;
} & {
  /** Without a debugger service these answer 'unavailable'. */
  [M in DebugMethodName]?: BackendMethod<M>;
} & {
  /**
   * Calls cb on every change of status or nodes (as often as it likes: transports
   * coalesce to at most one push per 250 ms, and poll status()/nodes() when quiet).
   */
  subscribeStatus(cb: (update: StatusUpdate) => void): Unsubscribe;
  /** Calls cb with each batch of newly appended rows that match the filter (see matchesLogFilter). */
  subscribeLog(filter: LogFilter, cb: (rows: LogRow[]) => void): Unsubscribe;
};
