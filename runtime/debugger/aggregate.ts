// Aggregation: the answers of many threads shown as few lines. Threads that
// give the same value (print), the same stack (where) or the same output line
// are merged under one set header, as in STAT's and DDT's parallel views:
//
//   [0.*, 2.1]  42
//   [1.3]       17
import { compareThreads, formatSet, keyOf, type ThreadKey } from './sets';

export interface Group<T> {
  set: string;
  threads: ThreadKey[];
  value: T;
}

/** Threads with equal `key(value)` merged, groups ordered by their first thread. */
export function groupBy<T>(answers: readonly { thread: ThreadKey; value: T }[], live: readonly ThreadKey[], key: (v: T) => string): Group<T>[] {
  const groups = new Map<string, { threads: ThreadKey[]; value: T }>();
  for (const a of answers) {
    const k = key(a.value);
    const g = groups.get(k);
    if (g) g.threads.push(a.thread);
    else groups.set(k, { threads: [a.thread], value: a.value });
  }
  return [...groups.values()]
    .map((g) => ({ set: formatSet(g.threads, live), threads: g.threads.sort(compareThreads), value: g.value }))
    .sort((a, b) => compareThreads(a.threads[0]!, b.threads[0]!));
}

/** Set headers padded to one column, then the value: the HPD aggregated form. */
export function renderGroups(groups: readonly Group<string>[]): string {
  const width = Math.max(0, ...groups.map((g) => g.set.length));
  return groups.map((g) => `${g.set.padEnd(width)}  ${g.value}`).join('\n');
}

export interface Frame {
  fn: string;
  file: string;
  line: number;
}

export const frameLabel = (f: Frame) => `${f.fn || '(anonymous)'} (${f.file}:${f.line})`;

/** One node of the parallel-stacks tree: a frame shared by `threads`. */
export interface StackNode {
  /** Numbered depth-first from 1 so a shell user can name it (`defset NAME @3`). */
  id: number;
  label: string;
  threads: ThreadKey[];
  set: string;
  children: StackNode[];
}

/**
 * The merged call tree of a set's stacks (outermost frame at the root): each
 * tree node is a frame position with the threads whose stacks pass through it.
 * Frames merge on function and file (as STAT's trees do), so threads at
 * different lines of one function share a node; its label shows the line when
 * they all agree.
 */
export function parallelStacks(stacks: readonly { thread: ThreadKey; frames: Frame[] }[], live: readonly ThreadKey[]): StackNode[] {
  interface Build {
    fn: string;
    file: string;
    lines: Set<number>;
    threads: ThreadKey[];
    children: Map<string, Build>;
  }
  const roots = new Map<string, Build>();
  for (const s of stacks) {
    // frames arrive innermost first (as V8 reports them)
    let level = roots;
    for (const f of [...s.frames].reverse()) {
      const key = `${f.fn}|${f.file}`;
      let node = level.get(key);
      if (!node) {
        node = { fn: f.fn, file: f.file, lines: new Set(), threads: [], children: new Map() };
        level.set(key, node);
      }
      node.lines.add(f.line);
      node.threads.push(s.thread);
      level = node.children;
    }
  }
  let next = 1;
  const finish = (b: Build): StackNode => {
    const id = next++;
    const threads = b.threads.sort(compareThreads);
    // One line when every thread here is at the same one; else the function alone.
    const label = b.lines.size === 1 ? frameLabel({ fn: b.fn, file: b.file, line: [...b.lines][0]! }) : `${b.fn || '(anonymous)'} (${b.file})`;
    return { id, label, threads, set: formatSet(threads, live), children: [...b.children.values()].map(finish) };
  };
  return [...roots.values()].map(finish);
}

export function renderStacks(roots: readonly StackNode[]): string {
  const lines: string[] = [];
  const walk = (n: StackNode, depth: number) => {
    lines.push(`${'  '.repeat(depth)}@${n.id} ${n.set} (${n.threads.length}) ${n.label}`);
    for (const c of n.children) walk(c, depth + 1);
  };
  roots.forEach((r) => walk(r, 0));
  return lines.join('\n');
}

export function findStackNode(roots: readonly StackNode[], id: number): StackNode | null {
  for (const r of roots) {
    if (r.id === id) return r;
    const hit = findStackNode(r.children, id);
    if (hit) return hit;
  }
  return null;
}

export interface OutputLine {
  seq: number;
  thread: ThreadKey;
  text: string;
}

/**
 * Aggregated output: the k-th occurrence of a line in each thread is merged with
 * the k-th occurrence of the same line in every other thread (so a loop that
 * prints "tick" three times on 8 threads shows three lines, each under the set of
 * 8), in order of first appearance. Different lines keep their own headers.
 */
export function aggregateOutput(lines: readonly OutputLine[], live: readonly ThreadKey[]): Group<string>[] {
  const occurrences = new Map<string, number>();
  const groups = new Map<string, { first: number; threads: ThreadKey[]; text: string }>();
  for (const l of lines) {
    const perThread = `${keyOf(l.thread)}\u0000${l.text}`;
    const k = occurrences.get(perThread) ?? 0;
    occurrences.set(perThread, k + 1);
    const key = `${k}\u0000${l.text}`;
    const g = groups.get(key);
    if (g) g.threads.push(l.thread);
    else groups.set(key, { first: l.seq, threads: [l.thread], text: l.text });
  }
  return [...groups.values()]
    .sort((a, b) => a.first - b.first)
    .map((g) => {
      const threads = g.threads.sort(compareThreads);
      return { set: formatSet(threads, live), threads, value: g.text };
    });
}
