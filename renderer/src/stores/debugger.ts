// The Debugger view's data: one debug session (its focus set, command history and
// transcript), kept attached by a long poll of debugEvents for as long as the
// console runs — the server ends a session that stops polling, and with the last
// one every breakpoint is dropped and every thread resumed (docs/debugger.md). So
// the session lives here, not in the view: switching views does not detach.
//
// Every button of the view is an HPD command line sent through run(), so the
// transcript shows what `mcs debug` would have taken. What the view draws
// (threads, stacks, values, output, source) is fetched again when an event says
// the threads moved, at most a few times a second.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import {
  ControlError,
  DebugGroups,
  DebugSource,
  DebugStacks,
  DebugThreadInfo,
  type DebugEvent,
  type DebugReply,
  type DebugState,
} from '../../../runtime/control/api';
import { z } from 'zod';
import { connect } from '../api/connect';
import { useClusterStore } from './cluster';

const HISTORY_KEY = 'mcs.debug.history';
export const HISTORY_MAX = 200;
export const TRANSCRIPT_MAX = 500;
/** Lines of source fetched either side of the current line. */
export const SOURCE_CONTEXT = 400;
/** Long-poll length: the server keeps a session for 5 s without a call. */
const POLL_MS = 3000;
const REFRESH_DEBOUNCE_MS = 120;

export interface TranscriptEntry {
  id: number;
  kind: 'command' | 'reply' | 'error' | 'event';
  text: string;
}

export interface Watch {
  expr: string;
  groups: DebugGroups;
  error: string | null;
}

const ThreadRows = z.array(DebugThreadInfo);

function loadHistory(): string[] {
  try {
    const raw = JSON.parse(window.localStorage.getItem(HISTORY_KEY) ?? '[]') as unknown;
    return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string').slice(-HISTORY_MAX) : [];
  } catch {
    return [];
  }
}

/**
 * A set in HPD notation for checked threads: whole nodes as `n.*`, every thread as
 * `all`, else the threads themselves. The server holds the formula; this is only
 * what a click in the thread list sends.
 */
export function setOfThreads(ids: readonly string[], all: readonly { id: string; node: number }[]): string {
  if (ids.length === 0) return '[]';
  const chosen = new Set(ids);
  if (all.length > 0 && all.every((t) => chosen.has(t.id))) return '[all]';
  const parts: string[] = [];
  for (const node of [...new Set(all.map((t) => t.node))].sort((a, b) => a - b)) {
    const mine = all.filter((t) => t.node === node);
    const picked = mine.filter((t) => chosen.has(t.id));
    if (picked.length === 0) continue;
    if (picked.length === mine.length && mine.length > 1) parts.push(`${node}.*`);
    else parts.push(...picked.map((t) => t.id));
  }
  return `[${parts.join(', ')}]`;
}

/** `fn (file.ts:12)` → its file and line; null for a frame whose threads stand at different lines. */
export function frameLocation(label: string): { file: string; line: number } | null {
  const m = /\(([^()]+):(\d+)\)$/.exec(label);
  return m ? { file: m[1]!, line: Number(m[2]) } : null;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const useDebuggerStore = defineStore('debugger', () => {
  const session = ref<string | null>(null);
  const focus = ref('[all]');
  const state = shallowRef<DebugState | null>(null);
  /** The focus set's threads, as `threads` lists them. */
  const focusThreads = shallowRef<DebugThreadInfo[]>([]);
  const stacks = shallowRef<DebugStacks | null>(null);
  const source = shallowRef<DebugSource | null>(null);
  /** A line shown in the source that is not the thread's own (a stack frame picked in the tree). */
  const sourceMark = ref<number | null>(null);
  const sourceProblem = ref<string | null>(null);
  const output = shallowRef<DebugGroups>([]);
  const outputSet = ref('[all]');
  const outputProblem = ref<string | null>(null);
  const watches = ref<Watch[]>([]);
  /** The thread picked in the thread list; else the focus's first stopped thread is current. */
  const picked = ref<string | null>(null);
  const transcript = ref<TranscriptEntry[]>([]);
  const history = ref<string[]>(loadHistory());
  const verbs = ref<string[]>([]);
  const error = ref<string | null>(null);
  /** The supervisor runs no debugger service (its status says so): nothing to attach to. */
  const unavailable = ref(false);
  const busy = ref(0);
  const polling = ref(false);
  let entryId = 0;
  let after: number | undefined;
  let alive = false;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let leaseTimer: ReturnType<typeof setInterval> | null = null;
  let outputDirty = true;
  let pollDone: Promise<void> = Promise.resolve();
  /** The focus of a session ended by leave(), given to the next one. */
  let lastFocus: string | null = null;

  const api = () => connect().api;

  function note(kind: TranscriptEntry['kind'], text: string): void {
    if (!text) return;
    const next = [...transcript.value, { id: ++entryId, kind, text }];
    transcript.value = next.length > TRANSCRIPT_MAX ? next.slice(-TRANSCRIPT_MAX) : next;
  }

  /** One command line in the session (a new one if there is none or it lapsed). */
  async function call(line: string): Promise<DebugReply> {
    const send = () => api().debugCommand({ session: session.value ?? undefined, line });
    let r: DebugReply;
    try {
      r = await send();
    } catch (e) {
      // A lapsed session (the machine slept, the server restarted): open another, as `mcs debug` does.
      if (!(e instanceof ControlError && e.code === 'not-found' && session.value)) throw e;
      session.value = null;
      after = undefined;
      note('event', 'debug session lapsed: a new one was opened');
      r = await send();
    }
    const fresh = session.value !== r.session;
    session.value = r.session;
    focus.value = r.focus;
    if (fresh && alive) void poll();
    return r;
  }

  /** A command the user (or a button) gives: recorded in the transcript, then the view is brought up to date. */
  async function run(line: string, opts: { remember?: boolean } = {}): Promise<DebugReply | null> {
    const trimmed = line.trim();
    if (!trimmed) return null;
    if (opts.remember) {
      history.value = [...history.value.filter((h) => h !== trimmed), trimmed].slice(-HISTORY_MAX);
      window.localStorage.setItem(HISTORY_KEY, JSON.stringify(history.value));
    }
    note('command', `${focus.value}> ${trimmed}`);
    busy.value++;
    try {
      const r = await call(trimmed);
      note('reply', r.text);
      error.value = null;
      return r;
    } catch (e) {
      note('error', message(e));
      return null;
    } finally {
      busy.value--;
      scheduleRefresh(0);
    }
  }

  /** Attaches (opens the session and starts following its events); idempotent. */
  async function start(): Promise<void> {
    if (alive) return;
    // The status says whether there is a debugger to attach to: asking one that is
    // not there would only be a failed request. Wait briefly for the first push.
    const cluster = useClusterStore();
    if (!cluster.status) await new Promise<void>((resolve) => {
      const stop = watch(() => cluster.status, () => (stop(), resolve()));
      setTimeout(() => (stop(), resolve()), 3000);
    });
    unavailable.value = cluster.status?.debugger === false;
    if (unavailable.value || alive) return;
    alive = true;
    try {
      const r = await call('help');
      verbs.value = z.array(z.string()).catch([]).parse(r.data);
      if (lastFocus && lastFocus !== focus.value) await call(`focus ${lastFocus}`).catch(() => undefined);
      error.value = null;
    } catch (e) {
      error.value = message(e);
    }
    leaseTimer = setInterval(() => {
      // A freeze lease counts down on screen: redraw it while one is held.
      if ((state.value?.leases.length ?? 0) > 0) void refreshState();
    }, 1000);
    scheduleRefresh(0);
  }

  /**
   * Ends the session: with the last one, the server resumes every thread and drops
   * every breakpoint. The poll in flight is let finish first (at most one poll
   * period): cut short, or answered for a session already gone, it would be a
   * failed request in the page for nothing.
   */
  async function detach(why = 'detached'): Promise<void> {
    alive = false;
    if (leaseTimer) clearInterval(leaseTimer);
    leaseTimer = null;
    const id = session.value;
    if (id) lastFocus = focus.value;
    session.value = null;
    after = undefined;
    await pollDone;
    if (id) await api().debugCommand({ session: id, line: 'quit' }).catch(() => undefined);
    note('event', why);
  }

  /**
   * The view is going off screen. A session that holds nothing (no breakpoint, no
   * stopped or frozen thread) is ended, so console capture stops and no poll stays
   * in flight; one that holds something stays attached, or its threads would be
   * resumed behind the developer's back.
   */
  function leave(): void {
    const s = state.value;
    const holds = !!s && (s.actions.length > 0 || s.frozenNodes.length > 0 || s.threads.some((t) => t.state !== 'running'));
    if (alive && !holds) void detach('detached (the Debugger view was left with nothing held)');
  }

  function poll(): Promise<void> {
    if (polling.value) return pollDone;
    pollDone = pollLoop();
    return pollDone;
  }

  async function pollLoop(): Promise<void> {
    polling.value = true;
    try {
      while (alive && session.value) {
        const id = session.value;
        try {
          const r = await api().debugEvents({ session: id, after, waitMs: POLL_MS });
          if (id !== session.value) continue;
          after = r.next;
          onEvents(r.events);
          error.value = null;
        } catch (e) {
          if (e instanceof ControlError && e.code === 'not-found') {
            // Lapsed: the next command opens a new session; open one now to stay attached.
            session.value = null;
            after = undefined;
            await call('status').catch((err: unknown) => (error.value = message(err)));
            continue;
          }
          error.value = message(e);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    } finally {
      polling.value = false;
    }
  }

  function onEvents(events: readonly DebugEvent[]): void {
    let moved = false;
    for (const e of events) {
      if (e.kind === 'output') {
        outputDirty = true;
        continue;
      }
      moved = true;
      note('event', e.text);
    }
    if (moved || outputDirty) scheduleRefresh(REFRESH_DEBOUNCE_MS);
  }

  function scheduleRefresh(ms: number): void {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      void refresh();
    }, ms);
  }

  async function refreshState(): Promise<void> {
    try {
      state.value = await api().debugState();
    } catch (e) {
      error.value = message(e);
    }
  }

  /** The thread whose source is shown: the one picked in the list if it is stopped, else the focus's first stopped one. */
  const current = computed<DebugThreadInfo | null>(() => {
    const all = state.value?.threads ?? [];
    const p = picked.value ? all.find((t) => t.id === picked.value) : undefined;
    if (p?.where) return p;
    return focusThreads.value.find((t) => t.where) ?? p ?? null;
  });

  async function refresh(): Promise<void> {
    if (!session.value) return;
    await refreshState();
    try {
      focusThreads.value = ThreadRows.parse((await call('threads')).data);
    } catch {
      focusThreads.value = [];
    }
    const work: Promise<void>[] = [refreshStacks(), refreshSource(), refreshWatches()];
    if (outputDirty) work.push(refreshOutput());
    await Promise.all(work);
  }

  async function refreshStacks(): Promise<void> {
    if (!focusThreads.value.some((t) => t.where)) {
      stacks.value = { tree: [], running: focusThreads.value.map((t) => t.id) };
      return;
    }
    try {
      stacks.value = DebugStacks.parse((await call('stacks')).data);
    } catch (e) {
      error.value = message(e);
    }
  }

  async function refreshSource(): Promise<void> {
    const t = current.value;
    if (!t?.where) {
      // Every thread runs on: the file stays, its current-line mark does not.
      if (source.value?.line) source.value = { ...source.value, line: null };
      sourceMark.value = null;
      return;
    }
    try {
      source.value = DebugSource.parse((await call(`[${t.id}] list -context ${SOURCE_CONTEXT}`)).data);
      sourceMark.value = null;
      sourceProblem.value = null;
    } catch (e) {
      // Not the old file with its old line marked: that would say the thread stands there.
      source.value = null;
      sourceProblem.value = message(e);
    }
  }

  /** Shows FILE around LINE as thread `id` has it loaded (a frame picked in the stacks). */
  async function showSource(id: string, file: string, line: number): Promise<void> {
    try {
      source.value = DebugSource.parse((await call(`[${id}] list ${file}:${line} -context ${SOURCE_CONTEXT}`)).data);
      sourceMark.value = line;
      sourceProblem.value = null;
    } catch (e) {
      sourceProblem.value = message(e);
    }
  }

  async function refreshWatches(): Promise<void> {
    if (watches.value.length === 0) return;
    watches.value = await Promise.all(
      watches.value.map(async (w): Promise<Watch> => {
        try {
          return { expr: w.expr, groups: DebugGroups.parse((await call(`print ${w.expr}`)).data), error: null };
        } catch (e) {
          return { expr: w.expr, groups: [], error: message(e) };
        }
      }),
    );
  }

  /** `print EXPR` on the focus, kept and evaluated again at every stop (VS Code's watch list, across threads). */
  async function addWatch(expr: string): Promise<void> {
    const e = expr.trim();
    if (!e) return;
    const r = await run(`print ${e}`);
    const groups = r ? DebugGroups.catch([]).parse(r.data) : [];
    watches.value = [...watches.value.filter((w) => w.expr !== e), { expr: e, groups, error: r ? null : 'failed (see the console)' }];
  }

  function removeWatch(expr: string): void {
    watches.value = watches.value.filter((w) => w.expr !== expr);
  }

  async function refreshOutput(): Promise<void> {
    outputDirty = false;
    try {
      output.value = DebugGroups.parse((await call(`${outputSet.value} output -last 200`)).data);
      outputProblem.value = null;
    } catch (e) {
      outputProblem.value = message(e);
    }
  }

  function filterOutput(set: string): Promise<void> {
    const s = set.trim() || '[all]';
    outputSet.value = s.startsWith('[') ? s : `[${s}]`;
    return refreshOutput();
  }

  function pick(id: string | null): void {
    picked.value = id;
    void refreshSource();
  }

  const attached = computed(() => session.value !== null);
  const threads = computed(() => state.value?.threads ?? []);
  const focusIds = computed(() => new Set(focusThreads.value.map((t) => t.id)));
  const stoppedInFocus = computed(() => focusThreads.value.filter((t) => t.state === 'stopped' || t.state === 'held').length);

  return {
    session, focus, state, focusThreads, stacks, source, sourceMark, sourceProblem, output, outputSet, outputProblem, watches, picked,
    transcript, history, verbs, error, unavailable, busy, attached, threads, focusIds, stoppedInFocus, current,
    run, start, detach, leave, refresh, showSource, addWatch, removeWatch, filterOutput, pick,
  };
});
