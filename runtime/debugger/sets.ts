// Thread sets in the notation of the High Performance Debugging Forum standard
// (HPD Version 1, paper §5.3): a thread is `node.thread`, and a set is a
// bracketed, comma-separated list of members:
//
//   [0.1]        thread 1 of node 0            [0.*]       every thread of node 0
//   [1:3.*]      every thread of nodes 1..3    [1:3.2]     thread 2 of nodes 1..3
//   [1.2:1.5]    threads 2..5 of node 1 (a range runs in node.thread order)
//   [*.1]        thread 1 (the main thread) of every node
//   [1.1, 2.1]   a union                       [all]       every thread
//   [NAME]       a named set: all, running, stopped, held, or one made by defset
//
// A set is a formula, not a list: it is evaluated against the live thread table
// each time it is used, so `[1.*]` follows node 1 through restarts and `all`
// includes nodes that join later. `defset NAME !SET` (or `defset !NAME SET`)
// snapshots the members instead: a static set.
//
// Threads are numbered per node incarnation: 1 is the node's main thread, 2, 3...
// its worker threads in the order they start; numbers are never reused within an
// incarnation (a restarted node numbers from 1 again).

export interface ThreadKey {
  node: number;
  thread: number;
}

export type SetItem =
  | { kind: 'all' }
  | { kind: 'name'; name: string }
  /** Nodes from..to (inclusive), thread `thread` or every thread (null). */
  | { kind: 'nodes'; from: number; to: number; thread: number | null }
  /** Every thread from `from` to `to` inclusive, in (node, thread) order. */
  | { kind: 'range'; from: ThreadKey; to: ThreadKey }
  /** `*.t`: thread t of every node. */
  | { kind: 'every-node'; thread: number }
  /** The frozen membership of a static set. */
  | { kind: 'members'; members: ThreadKey[] };

export interface ThreadSet {
  items: SetItem[];
}

export class SetSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetSyntaxError';
  }
}

export const SET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Names the debugger defines; defset cannot redefine them. */
export const BUILTIN_SETS = ['all', 'running', 'stopped', 'held'] as const;

const NUM = /^\d{1,5}$/;

function num(s: string, what: string): number {
  if (!NUM.test(s)) throw new SetSyntaxError(`expected a ${what} number, got "${s}"`);
  return Number(s);
}

function parseItem(raw: string): SetItem {
  const s = raw.trim();
  if (s === '') throw new SetSyntaxError('empty set member');
  if (s === 'all' || s === '*' || s === '*.*') return { kind: 'all' };
  if (SET_NAME_RE.test(s) && !s.includes('.')) return { kind: 'name', name: s };
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const left = s.slice(0, colon);
    const right = s.slice(colon + 1);
    if (!left.includes('.')) {
      // a:b.t or a:b.*
      const dot = right.indexOf('.');
      if (dot < 0) throw new SetSyntaxError(`"${s}": a node range needs a thread part, as in 1:3.* or 1:3.2`);
      const from = num(left, 'node');
      const to = num(right.slice(0, dot), 'node');
      const t = right.slice(dot + 1);
      if (to < from) throw new SetSyntaxError(`"${s}": the range runs backwards`);
      return { kind: 'nodes', from, to, thread: t === '*' ? null : num(t, 'thread') };
    }
    const a = parseThread(left, s);
    const b = parseThread(right, s);
    if (b.node < a.node || (b.node === a.node && b.thread < a.thread)) throw new SetSyntaxError(`"${s}": the range runs backwards`);
    return { kind: 'range', from: a, to: b };
  }
  const dot = s.indexOf('.');
  if (dot < 0) throw new SetSyntaxError(`"${s}" is neither node.thread nor a set name`);
  const n = s.slice(0, dot);
  const t = s.slice(dot + 1);
  if (n === '*') return { kind: 'every-node', thread: num(t, 'thread') };
  const node = num(n, 'node');
  if (t === '*') return { kind: 'nodes', from: node, to: node, thread: null };
  return { kind: 'nodes', from: node, to: node, thread: num(t, 'thread') };
}

function parseThread(s: string, whole: string): ThreadKey {
  const dot = s.indexOf('.');
  if (dot < 0) throw new SetSyntaxError(`"${whole}": each end of a thread range is node.thread`);
  return { node: num(s.slice(0, dot), 'node'), thread: num(s.slice(dot + 1), 'thread') };
}

/** Parses `[...]`, or a bare set name (`running`, a defset name). */
export function parseSet(text: string): ThreadSet {
  const s = text.trim();
  if (SET_NAME_RE.test(s)) return { items: [s === 'all' ? { kind: 'all' } : { kind: 'name', name: s }] };
  if (!s.startsWith('[') || !s.endsWith(']')) throw new SetSyntaxError(`expected a set like [0.*] or a set name, got "${s}"`);
  const body = s.slice(1, -1);
  if (body.trim() === '') throw new SetSyntaxError('a set needs at least one member: [0.1], [0.*], [all]');
  return { items: body.split(',').map(parseItem) };
}

/**
 * Splits a command line into its optional leading set prefix and the rest:
 * `[1.*] print x` → { set: '[1.*]', rest: 'print x' }.
 */
export function splitSetPrefix(line: string): { set: string | null; rest: string } {
  const s = line.trimStart();
  if (!s.startsWith('[')) return { set: null, rest: s.trim() };
  const end = s.indexOf(']');
  if (end < 0) throw new SetSyntaxError('unclosed [ in the set prefix');
  return { set: s.slice(0, end + 1), rest: s.slice(end + 1).trim() };
}

export const keyOf = (t: ThreadKey) => `${t.node}.${t.thread}`;

export function parseKey(s: string): ThreadKey {
  const [n, t] = s.split('.');
  return { node: Number(n), thread: Number(t) };
}

export const compareThreads = (a: ThreadKey, b: ThreadKey) => a.node - b.node || a.thread - b.thread;

/** What evaluation looks at: the live threads, their states, and the user's named sets. */
export interface SetScope {
  threads: readonly (ThreadKey & { state: 'running' | 'stopped' | 'held' })[];
  named: ReadonlyMap<string, ThreadSet>;
}

/** The live threads a set denotes, sorted, without duplicates. */
export function evaluateSet(set: ThreadSet, scope: SetScope, seen: Set<string> = new Set()): ThreadKey[] {
  const out = new Map<string, ThreadKey>();
  const live = scope.threads;
  const add = (t: ThreadKey) => out.set(keyOf(t), { node: t.node, thread: t.thread });
  for (const item of set.items) {
    switch (item.kind) {
      case 'all':
        live.forEach(add);
        break;
      case 'nodes':
        for (const t of live) if (t.node >= item.from && t.node <= item.to && (item.thread === null || t.thread === item.thread)) add(t);
        break;
      case 'every-node':
        for (const t of live) if (t.thread === item.thread) add(t);
        break;
      case 'range':
        for (const t of live) if (compareThreads(t, item.from) >= 0 && compareThreads(t, item.to) <= 0) add(t);
        break;
      case 'members': {
        const liveKeys = new Set(live.map(keyOf));
        for (const m of item.members) if (liveKeys.has(keyOf(m))) add(m);
        break;
      }
      case 'name': {
        if (item.name === 'all') {
          live.forEach(add);
          break;
        }
        if (item.name === 'running' || item.name === 'stopped' || item.name === 'held') {
          // held threads wait at a barrier: stopped, but not released by go.
          for (const t of live) if (t.state === item.name || (item.name === 'stopped' && t.state === 'held')) add(t);
          break;
        }
        const def = scope.named.get(item.name);
        if (!def) throw new SetSyntaxError(`no set named "${item.name}" (see whichsets; define one with defset)`);
        if (seen.has(item.name)) throw new SetSyntaxError(`set "${item.name}" is defined in terms of itself`);
        seen.add(item.name);
        evaluateSet(def, scope, seen).forEach(add);
        seen.delete(item.name);
        break;
      }
    }
  }
  return [...out.values()].sort(compareThreads);
}

/**
 * The shortest set notation for a list of threads given every live thread:
 * whole nodes become `n.*` (runs of them `a:b.*`), runs of threads in one node
 * `n.a:n.b`, and every thread `all`.
 */
export function formatSet(members: readonly ThreadKey[], live: readonly ThreadKey[]): string {
  if (members.length === 0) return '[]';
  const sorted = [...members].sort(compareThreads);
  const perNode = new Map<number, number>();
  for (const t of live) perNode.set(t.node, (perNode.get(t.node) ?? 0) + 1);
  if (sorted.length === live.length && live.length > 1) return '[all]';
  const byNode = new Map<number, number[]>();
  for (const t of sorted) {
    const list = byNode.get(t.node) ?? [];
    list.push(t.thread);
    byNode.set(t.node, list);
  }
  const parts: string[] = [];
  let wholeRun: [number, number] | null = null;
  const flushWhole = () => {
    if (!wholeRun) return;
    parts.push(wholeRun[0] === wholeRun[1] ? `${wholeRun[0]}.*` : `${wholeRun[0]}:${wholeRun[1]}.*`);
    wholeRun = null;
  };
  for (const [node, threads] of byNode) {
    const whole = threads.length === (perNode.get(node) ?? -1) && threads.length > 1;
    if (whole) {
      if (wholeRun && wholeRun[1] === node - 1) wholeRun[1] = node;
      else {
        flushWhole();
        wholeRun = [node, node];
      }
      continue;
    }
    flushWhole();
    let i = 0;
    while (i < threads.length) {
      let j = i;
      while (j + 1 < threads.length && threads[j + 1] === threads[j]! + 1) j++;
      parts.push(j - i >= 2 ? `${node}.${threads[i]}:${node}.${threads[j]}` : threads.slice(i, j + 1).map((t) => `${node}.${t}`).join(', '));
      i = j + 1;
    }
  }
  flushWhole();
  return `[${parts.join(', ')}]`;
}

/** The text of a set as the user typed it, for viewset. */
export function describeSet(set: ThreadSet): string {
  const item = (i: SetItem): string => {
    switch (i.kind) {
      case 'all':
        return 'all';
      case 'name':
        return i.name;
      case 'nodes':
        return `${i.from === i.to ? i.from : `${i.from}:${i.to}`}.${i.thread ?? '*'}`;
      case 'every-node':
        return `*.${i.thread}`;
      case 'range':
        return `${keyOf(i.from)}:${keyOf(i.to)}`;
      case 'members':
        return i.members.map(keyOf).join(', ');
    }
  };
  return `[${set.items.map(item).join(', ')}]`;
}
