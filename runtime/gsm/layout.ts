// Where everything lives in Global Shared Memory. One mapped object per
// multicomputer, laid out as:
//
//   system area   header | node table | object table | name index | event-log rings |
//                 component table | thread table
//   contributions maxNodes x contributionBytes: the GSM each node houses (paper §2.1,
//                 Figure 1). Sections and other objects are carved from the
//                 contribution of the node that creates them, so when a node dies
//                 exactly its contribution becomes failed memory.
//
// The system area is housed by no node: it models the multicomputer's firmware
// tables and must survive any node's death (the event-log rings live here for the
// same reason: a dead node's last events must still be readable).
//
// Every offset below is a byte offset from the start of the mapping. The header
// starts with a magic and a layout version so an attach to a foreign or older
// object fails with a clear message instead of misreading it.
import { MUTEX_SIZE } from './native';

export const GSM_MAGIC = 0x4d435347; // 'MCSG'
export const GSM_LAYOUT_VERSION = 2;
export const PAGE = 4096;

/** Upper bound on nodes in one multicomputer; per-node reference counts use it. */
export const MAX_NODES = 16;

/** Header fields (all within the first page). */
export const H = {
  magic: 0, // u32
  version: 4, // u32
  state: 8, // u32: GsmState
  maxNodes: 12, // u32
  totalBytes: 16, // u64
  systemBytes: 24, // u64
  contributionBytes: 32, // u64
  contributionsOffset: 40, // u64
  nodeTableOffset: 48, // u64
  objectTableOffset: 56, // u64
  objectCapacity: 64, // u32
  nameIndexCapacity: 68, // u32
  nameIndexOffset: 72, // u64
  logRingsOffset: 80, // u64
  logRingBytes: 88, // u64
  creatorPid: 96, // u32
  createdAtMs: 104, // u64 wall clock
  /** Paper §7.2: memory failures detected since power-on, global across nodes. */
  memoryFailures: 112, // u64
  /** Bumped on every namespace change so status tools can skip unchanged rescans. */
  namespaceVersion: 120, // u32
  /** Membership: the installed generation and its member bitmap (see membership/). */
  generation: 128, // u32
  memberMask: 132, // u32
  /** Supervisor liveness: its pid and a heartbeat (monotonic ns) nodes watch. */
  supervisorPid: 136, // u32
  supervisorBeatNs: 144, // u64
  /** Recoverable components' records (runtime/sdk) and every node's thread table. */
  componentTableOffset: 152, // u64
  threadTableOffset: 160, // u64
  /**
   * The debugger's freeze clock (runtime/gsm/freeze-clock.ts): which nodes are
   * frozen, when the current freeze began (0: none), and the total time some node
   * has been frozen, so waits elsewhere can leave that time out of their timeouts.
   */
  frozenNodeMask: 200, // u32
  freezeEpoch: 204, // u32, bumped on every freeze and thaw
  frozenSinceNs: 208, // u64 monotonic
  frozenTotalNs: 216, // u64
  /** The failed-region map consulted by the native access layer on every access. */
  failedMap: 256,
  /** Guards the object table, name index and every contribution's allocator. */
  namespaceMutex: 1536,
  /**
   * The last GENERATION_HISTORY generations as { u32 generation, u32 memberMask,
   * u64 wall ms }, so a node that wakes late still installs every generation in
   * order instead of jumping to the newest.
   */
  generationHistory: 2048,
} as const;

export const GENERATION_HISTORY = 64;
export const GENERATION_ENTRY_BYTES = 16;

export const FAILED_MAP_CAPACITY = 64;
export const FAILED_MAP_BYTES = 16 + 16 * FAILED_MAP_CAPACITY;
export const DUMMY_BYTE = 0xff; // failed PCIe/SCI reads classically return all-ones

export enum GsmState {
  Initializing = 0,
  Ready = 1,
}

/** One record per node slot in the node table. */
export const NODE_RECORD_BYTES = 512;
export const N = {
  state: 0, // u32: NodeSlotState
  incarnation: 4, // u32
  pid: 8, // u32
  joinedGeneration: 12, // u32
  heartbeatCount: 16, // u64, bumped by the node's application thread
  heartbeatNs: 24, // u64, monotonic time of the last beat
  usedBytes: 32, // u64, bytes allocated from this node's contribution
  blockCount: 40, // u32
  /** Set while the debugger holds the node frozen: membership must not eject it. */
  frozenUntilNs: 48, // u64
  /** Failure-detector fencing: the incarnation the supervisor revoked. */
  revokedIncarnation: 56, // u32
  /** The membership generation this node has installed, and when (monotonic ns). */
  installedGeneration: 60, // u32
  installedAtNs: 64, // u64
  /**
   * The operator's kill-thread request (supervisor → node): the supervisor writes
   * the tid and how, bumps the sequence, then sends the node SIGUSR2.
   */
  threadKillSeq: 72, // u32
  threadKillTid: 76, // u32
  /** 1: the thread ends right after it next acquires a global mutex; 0: at once. */
  threadKillHolding: 80, // u32
  /**
   * Bumped (under the namespace lock) before every change to this contribution's
   * block chain: a process that remembers the chain knows from it whether it may.
   */
  heapVersion: 84, // u32
} as const;

export enum NodeSlotState {
  Empty = 0,
  Joining = 1,
  Up = 2,
  Failed = 3,
  Left = 4,
}

/** One record per global object in the object table. */
export const OBJECT_RECORD_BYTES = 192;
export const NAME_MAX_BYTES = 47;
export const O = {
  /** Bumped whenever the slot is freed; an id names (slot, generation). */
  generation: 0, // u32
  state: 4, // u32: ObjectState
  type: 8, // u32: ObjectType
  ownerNode: 12, // u32 contributor
  ownerIncarnation: 16, // u32
  flags: 20, // u32 type-specific (event mode, mailbox target...)
  dataOffset: 24, // u64 absolute offset of the object's block data
  dataBytes: 32, // u64 size the creator asked for
  createdAtMs: 40, // u64 wall clock
  creatorPid: 48, // u32
  nameLength: 52, // u32
  name: 56, // NAME_MAX_BYTES + 1
  /** Per-node open references (paper §3.4: reclaim needs to know who still refers). */
  refs: 128, // MAX_NODES x u32
} as const;

export enum ObjectState {
  Free = 0,
  Creating = 1,
  Live = 2,
}

export enum ObjectType {
  Section = 1,
  Mutex = 2,
  Event = 3,
  HwLock = 4,
  Mailbox = 5,
}

export const OBJECT_TYPE_NAMES: Record<ObjectType, string> = {
  [ObjectType.Section]: 'section',
  [ObjectType.Mutex]: 'mutex',
  [ObjectType.Event]: 'event',
  [ObjectType.HwLock]: 'hwlock',
  [ObjectType.Mailbox]: 'mailbox',
};

/** Name index entries: 0 empty, TOMBSTONE deleted, else object slot + 1. */
export const NAME_INDEX_TOMBSTONE = 0xffffffff;

/**
 * Block header at the start of every allocation in a contribution. The chain of
 * blocks (each header's size leads to the next) is always walkable: a split
 * writes the new tail's header before shrinking the block it came from.
 */
export const BLOCK_HEADER_BYTES = 64;
export const BLOCK_ALIGN = 64;
export const B = {
  size: 0, // u64 including header
  state: 8, // u32: BlockState
  objectSlot: 12, // u32
  objectGeneration: 16, // u32
  magic: 20, // u32
} as const;
export const BLOCK_MAGIC = 0xb10cb10c;
export enum BlockState {
  Free = 0,
  Used = 1,
}

/**
 * Recoverable components (paper §3.5, runtime/sdk): one record per component in
 * the system area, so a component's recovery generation, membership and master
 * survive the death of any node (a record in a contribution would fail with its
 * housing node, exactly when it is needed). The table starts with one robust
 * mutex that guards registration; the record layout is runtime/sdk's.
 */
export const COMPONENT_CAPACITY = 16;
export const COMPONENT_RECORD_BYTES = 1024;
export const COMPONENT_TABLE_HEADER_BYTES = 512;

/**
 * Threads of every node (name, kernel tid, state), written by the node that runs
 * them, read by the supervisor and status tools without asking the node. The
 * record layout is runtime/nodes/threads.ts's.
 */
export const THREADS_PER_NODE = 32;
export const THREAD_RECORD_BYTES = 64;

export interface GsmGeometry {
  maxNodes: number;
  contributionBytes: number;
  objectCapacity: number;
  logRingBytes: number;
}

export interface GsmLayout extends GsmGeometry {
  totalBytes: number;
  systemBytes: number;
  nodeTableOffset: number;
  objectTableOffset: number;
  nameIndexOffset: number;
  nameIndexCapacity: number;
  logRingsOffset: number;
  componentTableOffset: number;
  threadTableOffset: number;
  contributionsOffset: number;
}

export const DEFAULT_GEOMETRY: GsmGeometry = {
  maxNodes: MAX_NODES,
  contributionBytes: 16 * 1024 * 1024,
  objectCapacity: 4096,
  logRingBytes: 1024 * 1024,
};

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

export function computeLayout(g: GsmGeometry): GsmLayout {
  if (!Number.isInteger(g.maxNodes) || g.maxNodes < 1 || g.maxNodes > MAX_NODES)
    throw new RangeError(`maxNodes must be 1..${MAX_NODES}`);
  if (!Number.isInteger(g.objectCapacity) || g.objectCapacity < 16 || g.objectCapacity > 1 << 20)
    throw new RangeError('objectCapacity must be 16..1048576');
  if (!Number.isInteger(g.contributionBytes) || g.contributionBytes < 64 * 1024 || g.contributionBytes > 2 ** 36)
    throw new RangeError('contributionBytes must be 64 KiB..64 GiB');
  if (!Number.isInteger(g.logRingBytes) || g.logRingBytes < PAGE) throw new RangeError('logRingBytes too small');
  const nodeTableOffset = PAGE;
  const objectTableOffset = alignUp(nodeTableOffset + g.maxNodes * NODE_RECORD_BYTES, PAGE);
  const nameIndexOffset = alignUp(objectTableOffset + g.objectCapacity * OBJECT_RECORD_BYTES, PAGE);
  // A load factor of at most 1/2 keeps linear probing short.
  const nameIndexCapacity = 2 ** Math.ceil(Math.log2(g.objectCapacity * 2));
  const logRingsOffset = alignUp(nameIndexOffset + nameIndexCapacity * 4, PAGE);
  const logRingBytes = alignUp(g.logRingBytes, PAGE);
  const componentTableOffset = alignUp(logRingsOffset + g.maxNodes * logRingBytes, PAGE);
  const threadTableOffset = alignUp(componentTableOffset + COMPONENT_TABLE_HEADER_BYTES + COMPONENT_CAPACITY * COMPONENT_RECORD_BYTES, PAGE);
  const contributionsOffset = alignUp(threadTableOffset + g.maxNodes * THREADS_PER_NODE * THREAD_RECORD_BYTES, PAGE);
  const contributionBytes = alignUp(g.contributionBytes, PAGE);
  return {
    ...g,
    contributionBytes,
    logRingBytes,
    nodeTableOffset,
    objectTableOffset,
    nameIndexOffset,
    nameIndexCapacity,
    logRingsOffset,
    componentTableOffset,
    threadTableOffset,
    contributionsOffset,
    systemBytes: contributionsOffset,
    totalBytes: contributionsOffset + g.maxNodes * contributionBytes,
  };
}

export const nodeRecord = (l: GsmLayout, node: number) => l.nodeTableOffset + node * NODE_RECORD_BYTES;
export const objectRecord = (l: GsmLayout, slot: number) => l.objectTableOffset + slot * OBJECT_RECORD_BYTES;
export const contribution = (l: GsmLayout, node: number) => l.contributionsOffset + node * l.contributionBytes;
export const logRing = (l: GsmLayout, node: number) => l.logRingsOffset + node * l.logRingBytes;
export const componentRecord = (l: GsmLayout, index: number) =>
  l.componentTableOffset + COMPONENT_TABLE_HEADER_BYTES + index * COMPONENT_RECORD_BYTES;
export const threadRecord = (l: GsmLayout, node: number, index: number) =>
  l.threadTableOffset + (node * THREADS_PER_NODE + index) * THREAD_RECORD_BYTES;

/** Which node houses the GSM at `offset`, or null for the system area. */
export function housingNode(l: GsmLayout, offset: number): number | null {
  if (offset < l.contributionsOffset || offset >= l.totalBytes) return null;
  return Math.floor((offset - l.contributionsOffset) / l.contributionBytes);
}

export { MUTEX_SIZE };
