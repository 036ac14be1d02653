// The waits-for graph of global mutexes (what a Java thread dump prints as
// "Found one deadlock"): an edge waiter thread → mutex → holder thread for every
// waiter of a held mutex, and every elementary cycle of that graph, which is a
// deadlock no timeout-free locker will ever leave.
//
// Pure and deterministic (the same snapshot always gives the same cycles, each
// starting at its lowest thread), so the console, the CLI and tests agree.
import type { MutexInfo, ThreadRef, WaitEdge, WaitGraph } from './api';

/** Bounds the enumeration: a snapshot with more deadlocks than this has bigger problems. */
const MAX_CYCLES = 100;

export function threadKey(t: ThreadRef): string {
  return `${t.node}/${t.pid}/${t.tid}`;
}

export function compareThreads(a: ThreadRef, b: ThreadRef): number {
  return a.node - b.node || a.pid - b.pid || a.tid - b.tid;
}

export function waitEdges(mutexes: readonly MutexInfo[]): WaitEdge[] {
  const edges: WaitEdge[] = [];
  const seen = new Set<string>();
  for (const m of mutexes) {
    if (!m.holder) continue;
    const holder: ThreadRef = { node: m.holder.node, pid: m.holder.pid, tid: m.holder.tid };
    for (const w of m.waiters) {
      const waiter: ThreadRef = { node: w.node, pid: w.pid, tid: w.tid };
      // A snapshot taken while a waiter re-queues can list it twice; one edge is enough.
      const key = `${threadKey(waiter)}>${m.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      edges.push({ waiter, mutex: m.id, mutexName: m.name, holder });
    }
  }
  return edges;
}

/**
 * Elementary cycles of the thread graph. A blocked thread waits on one mutex, so
 * normally every thread has at most one outgoing edge and the cycles fall out of
 * a linear walk. Snapshots are taken without a global stop, though, so a thread
 * may appear to wait twice; then the search falls back to strongly connected
 * components and a bounded enumeration inside each.
 */
export function findCycles(edges: readonly WaitEdge[]): WaitEdge[][] {
  const threads = new Map<string, ThreadRef>();
  for (const e of edges) {
    threads.set(threadKey(e.waiter), e.waiter);
    threads.set(threadKey(e.holder), e.holder);
  }
  const order = [...threads.values()].sort(compareThreads).map(threadKey);
  const rank = new Map(order.map((k, i) => [k, i]));
  const out = new Map<string, WaitEdge[]>();
  for (const e of edges) {
    const k = threadKey(e.waiter);
    (out.get(k) ?? out.set(k, []).get(k)!).push(e);
  }
  const single = [...out.values()].every((list) => list.length === 1);
  const cycles = single ? functionalCycles(order, out) : enumerateCycles(order, rank, out);
  // Each cycle starts at its lowest thread; cycles are ordered by that thread.
  return cycles
    .map((c) => {
      let lowest = 0;
      for (let i = 1; i < c.length; i++) if (rank.get(threadKey(c[i]!.waiter))! < rank.get(threadKey(c[lowest]!.waiter))!) lowest = i;
      return [...c.slice(lowest), ...c.slice(0, lowest)];
    })
    .sort((a, b) => rank.get(threadKey(a[0]!.waiter))! - rank.get(threadKey(b[0]!.waiter))!)
    .slice(0, MAX_CYCLES);
}

/** Out-degree ≤ 1: follow each thread's one edge; a walk that meets itself has found a cycle. O(threads). */
function functionalCycles(order: readonly string[], out: ReadonlyMap<string, WaitEdge[]>): WaitEdge[][] {
  const walkOf = new Map<string, number>();
  const cycles: WaitEdge[][] = [];
  order.forEach((start, walk) => {
    let k: string | undefined = start;
    while (k !== undefined && !walkOf.has(k)) {
      walkOf.set(k, walk);
      const e: WaitEdge | undefined = out.get(k)?.[0];
      k = e ? threadKey(e.holder) : undefined;
    }
    if (k === undefined || walkOf.get(k) !== walk) return; // ended at a running thread, or joined an earlier walk
    const cycle: WaitEdge[] = [];
    let at = k;
    do {
      const e: WaitEdge = out.get(at)![0]!;
      cycle.push(e);
      at = threadKey(e.holder);
    } while (at !== k);
    cycles.push(cycle);
  });
  return cycles;
}

/** Steps allowed to the general enumeration: an inconsistent snapshot must not stall the console. */
const MAX_STEPS = 1_000_000;

function enumerateCycles(order: readonly string[], rank: ReadonlyMap<string, number>, out: ReadonlyMap<string, WaitEdge[]>): WaitEdge[][] {
  const component = stronglyConnected(order, (k) => (out.get(k) ?? []).map((e) => threadKey(e.holder)));
  const cycles: WaitEdge[][] = [];
  let steps = 0;
  for (const start of order) {
    const s = rank.get(start)!;
    const comp = component.get(start)!;
    // Only threads ranked above the start, in its component: each cycle is found once, from its lowest thread.
    const path: WaitEdge[] = [];
    const onPath = new Set<string>([start]);
    const stack: { k: string; i: number }[] = [{ k: start, i: 0 }];
    while (stack.length > 0) {
      if (cycles.length >= MAX_CYCLES || ++steps > MAX_STEPS) return cycles;
      const top = stack[stack.length - 1]!;
      const e = (out.get(top.k) ?? [])[top.i++];
      if (!e) {
        stack.pop();
        onPath.delete(top.k);
        path.pop();
        continue;
      }
      const next = threadKey(e.holder);
      if (next === start) cycles.push([...path, e]);
      else if (component.get(next) === comp && rank.get(next)! > s && !onPath.has(next)) {
        path.push(e);
        onPath.add(next);
        stack.push({ k: next, i: 0 });
      }
    }
  }
  return cycles;
}

export function buildWaitGraph(mutexes: readonly MutexInfo[]): WaitGraph {
  const edges = waitEdges(mutexes);
  return { edges, cycles: findCycles(edges) };
}

/** Tarjan's algorithm (iterative: a long wait chain must not overflow the stack). Returns vertex → component index. */
function stronglyConnected(vertices: readonly string[], next: (v: string) => string[]): Map<string, number> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const comp = new Map<string, number>();
  let counter = 0;
  let comps = 0;
  for (const root of vertices) {
    if (index.has(root)) continue;
    const work: { v: string; succ: string[]; i: number }[] = [];
    const open = (v: string) => {
      index.set(v, counter);
      low.set(v, counter);
      counter++;
      stack.push(v);
      onStack.add(v);
      work.push({ v, succ: next(v), i: 0 });
    };
    open(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      if (top.i < top.succ.length) {
        const w = top.succ[top.i++]!;
        if (!index.has(w)) open(w);
        else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!;
        low.set(parent.v, Math.min(low.get(parent.v)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.set(w, comps);
        } while (w !== top.v);
        comps++;
      }
    }
  }
  return comp;
}
