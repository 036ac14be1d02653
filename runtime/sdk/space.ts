// Where a component instance lives: the memory, mutexes, areas, membership and
// failure counters it is built from. `globalSpace` is the multicomputer (GSM,
// global mutexes, sections in this node's contribution, the cluster's
// membership); `localSpace` is the same verbs over process-local resources, so
// a component runs unchanged over either (paper §4.4, Figure 7's "local" bar).
import { freezeAwareDeadline } from '../gsm/freeze-clock';
import type { Gsm } from '../gsm/gsm';
import { H, O, contribution, objectRecord } from '../gsm/layout';
import type { AppContext } from '../nodes/app-context';
import type { Section } from '../objects/section';
import { ComponentRecord, liveInstances, registerComponent, I, InstanceState } from './component-record';
import { LocalMutex, type Lockable } from './local-mutex';
import { LocalMemory, type Memory } from './memory';

/** A byte range of the space's memory; accesses are checked against `guard` (the owning object's generation). */
export interface Region {
  readonly offset: number;
  readonly bytes: number;
  readonly guard: { offset: number; value: number } | null;
}

/** A region this instance allocated or opened (a section in global use). */
export interface Area extends Region {
  readonly id: string;
  readonly valid: boolean;
  /** Node that houses it (its contributor). */
  readonly owner: number;
  close(): Promise<void>;
}

export interface ComponentSpace {
  readonly kind: 'global' | 'local';
  readonly node: number;
  readonly incarnation: number;
  readonly mem: Memory;
  register(name: string, masterAreaBytes: number): Promise<ComponentRecord>;
  /** Nodes whose instance of the component is live (joined, current incarnation, in the membership). */
  members(rec: ComponentRecord): number[];
  clusterGeneration(): number;
  /** Paper §7.2: is this region's memory still accessible? */
  accessible(r: Region): boolean;
  /** Can `node` still house shared state (its contribution is not failed memory)? */
  canHouse(node: number): boolean;
  /** Paper §7.2: memory failures since power-on. */
  memoryFailures(): number;
  /** Changes when memory fails anew (or is repaired); not when failed memory is read again. */
  failedRegionsVersion(): number;
  createArea(name: string, bytes: number): Promise<Area>;
  openArea(id: string): Promise<Area>;
  createMutex(name: string): Promise<Lockable>;
  openMutex(id: string): Promise<Lockable>;
  /** Releases a mutex handle (drops this node's reference). */
  closeMutex(m: Lockable): Promise<void>;
  log(kind: string, object: string | null, details?: unknown): void;
  onGeneration(listener: () => void): void;
  /**
   * A timeout for waits on other nodes (recovery phases, mutex waits). In global
   * use it stands still while the debugger holds any node frozen (paper §5.3): a
   * member stopped at a breakpoint in recovery is not dropped for being slow.
   */
  deadline(timeoutMs: number): Deadline;
}

export interface Deadline {
  remainingMs(): number;
}

function sectionArea(gsm: Gsm, s: Section): Area {
  const guard = { offset: objectRecord(gsm.layout, s.record.slot) + O.generation, value: s.record.generation };
  return {
    id: s.id,
    offset: s.gsmOffset,
    bytes: s.size,
    guard,
    owner: s.record.ownerNode,
    get valid() {
      return s.valid;
    },
    close: () => (s.closed ? Promise.resolve() : s.close().catch(() => undefined)),
  };
}

export function globalSpace(ctx: AppContext): ComponentSpace {
  const gsm = ctx.objects.gsm;
  return {
    kind: 'global',
    node: ctx.node,
    incarnation: ctx.incarnation,
    mem: gsm.map,
    register: (name, bytes) => registerComponent(gsm.map, gsm.layout, name, bytes),
    members: (rec) => liveInstances(rec, gsm.map, gsm.layout),
    clusterGeneration: () => gsm.map.load32(H.generation),
    accessible: (r) => gsm.isAccessible(r.offset, r.bytes),
    canHouse: (n) => gsm.isAccessible(contribution(gsm.layout, n), gsm.layout.contributionBytes),
    memoryFailures: () => gsm.memoryFailures(),
    failedRegionsVersion: () => gsm.failedRegionsVersion(),
    createArea: async (name, bytes) => sectionArea(gsm, await ctx.objects.createSection(name, bytes)),
    openArea: async (id) => sectionArea(gsm, await ctx.objects.openSection(id)),
    createMutex: (name) => ctx.objects.createMutex(name),
    openMutex: (id) => ctx.objects.openMutex(id),
    closeMutex: async (m) => {
      const h = m as unknown as { closed?: boolean; close?: () => Promise<void> };
      if (h.close && !h.closed) await h.close().catch(() => undefined);
    },
    log: ctx.log,
    onGeneration: (l) => ctx.onGeneration(() => l()),
    deadline: (ms) => freezeAwareDeadline(gsm.map, ms),
  };
}

/**
 * Process-private resources: one block of local memory (record, master area and
 * cache areas carved from it by a bump allocator: local areas are never freed
 * while the process runs) and local mutexes.
 */
export function localSpace(opts: { node: number; bytes: number; log?: AppContext['log'] }): ComponentSpace {
  const RECORD_BYTES = 1024;
  const mem = new LocalMemory(RECORD_BYTES + opts.bytes);
  let next = RECORD_BYTES;
  let mutexes = 0;
  const areas = new Map<string, Area>();
  const mutexById = new Map<string, LocalMutex>();
  return {
    kind: 'local',
    node: opts.node,
    incarnation: 1,
    mem,
    register: async (name, bytes) => {
      const rec = new ComponentRecord(mem, 0);
      if (rec.u32(0) === 0) rec.init(name, bytes);
      return rec;
    },
    members: (rec) => (rec.inst(opts.node, I.state) === InstanceState.Joined ? [opts.node] : []),
    clusterGeneration: () => 0,
    accessible: () => true,
    canHouse: () => true,
    memoryFailures: () => 0,
    failedRegionsVersion: () => 0,
    createArea: async (name, bytes) => {
      const offset = Math.ceil(next / 64) * 64;
      if (offset + bytes > mem.size) throw new RangeError(`local space has no room for ${name} (${bytes} bytes)`);
      next = offset + bytes;
      const area: Area = { id: `${areas.size + 1}.1`, offset, bytes, guard: null, owner: opts.node, valid: true, close: async () => undefined };
      areas.set(area.id, area);
      return area;
    },
    openArea: async (id) => {
      const a = areas.get(id);
      if (!a) throw new RangeError(`no local area ${id}`);
      return a;
    },
    createMutex: async () => {
      const m = new LocalMutex(`${++mutexes}.1`);
      mutexById.set(m.id, m);
      return m;
    },
    openMutex: async (id) => {
      const m = mutexById.get(id);
      if (!m) throw new RangeError(`no local mutex ${id}`);
      return m;
    },
    closeMutex: async () => undefined,
    log: opts.log ?? (() => undefined),
    onGeneration: () => undefined,
    // One process, no other node to wait for: wall time.
    deadline: (ms) => {
      const end = performance.now() + ms;
      return { remainingMs: () => end - performance.now() };
    },
  };
}
