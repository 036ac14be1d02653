// The HPD command language (High Performance Debugging Forum, Version 1) over the
// debugger service. Every command may start with a set prefix (`[1.*] print x`);
// without one it applies to the session's focus set. Results are text for a
// terminal and structured data for tools (`mcs debug --json`, the console view).
import path from 'node:path';
import { aggregateOutput, frameLabel, groupBy, parallelStacks, renderGroups, renderStacks } from './aggregate';
import type { StackFrame } from './protocol';
import type { Action, DebuggerService, Session } from './service';
import { BUILTIN_SETS, SET_NAME_RE, SetSyntaxError, describeSet, formatSet, keyOf, parseSet, splitSetPrefix, type ThreadKey, type ThreadSet } from './sets';

export interface CommandResult {
  text: string;
  data: unknown;
}

export class CommandError extends Error {}

/** Every verb, for help and shell completion. */
export const VERBS: Record<string, string> = {
  threads: 'threads                      list the threads of the set: state and where',
  focus: 'focus SET                    make SET the default set of later commands',
  defset: 'defset NAME SET | @FRAME     name a set (dynamic; !SET or !NAME makes it static)',
  undefset: 'undefset NAME                forget a named set',
  viewset: 'viewset [NAME]               the members of a set (default: the focus)',
  whichsets: 'whichsets                    which named sets each thread of the set is in',
  break: 'break FILE:LINE|FUNCTION [-if COND] [-count N] [-stop SET]',
  barrier: 'barrier FILE:LINE|FUNCTION [-stop SET]  hold threads there until the whole set arrives',
  watch: 'watch EXPR [-stop SET]       stop when EXPR changes in a thread (sampled every 100 ms)',
  actions: 'actions                      breakpoints, barriers and watches',
  delete: 'delete ID|all                remove an action',
  disable: 'disable ID                   switch an action off',
  enable: 'enable ID                    switch it back on',
  go: 'go                           resume the stopped threads of the set',
  halt: 'halt                         stop the threads of the set (their nodes are frozen)',
  step: 'step                         step into, in every stopped thread of the set',
  next: 'next                         step over',
  finish: 'finish                       run to the caller',
  wait: 'wait [-any] [-timeout MS]    until every (or any) thread of the set has stopped',
  print: 'print EXPR                   evaluate in each thread; equal values merged',
  where: 'where                        each thread\'s stack; equal stacks merged',
  stacks: 'stacks                       parallel stacks: the merged call tree, frames numbered @N',
  output: 'output [-last N]             aggregated console output of the set',
  list: 'list [FILE[:LINE]] [-context N]  source around the current line of the set\'s first stopped thread',
  freeze: 'freeze                       halt every thread of the set\'s nodes (heartbeat-safe)',
  thaw: 'thaw                         resume every thread of the set\'s nodes',
  stopmodel: 'stopmodel [all|independent]  who stops when a breakpoint hits (default all)',
  status: 'status                       frozen nodes, stop model, counts',
  help: 'help                         this list',
  quit: 'quit                         end this session (the last one resumes everything)',
};

const ALL: ThreadSet = { items: [{ kind: 'all' }] };

function parseSetOrThrow(text: string): ThreadSet {
  try {
    return parseSet(text);
  } catch (e) {
    if (e instanceof SetSyntaxError) throw new CommandError(e.message);
    throw e;
  }
}

/** Splits `ARGS -if COND -count N -stop SET` into the head and its options. */
function options(args: string, allowed: string[]): { head: string; opts: Map<string, string> } {
  const re = new RegExp(`(?:^|\\s)-(${allowed.join('|')})(?=\\s|$)`, 'g');
  const marks = [...args.matchAll(re)];
  const opts = new Map<string, string>();
  const head = (marks.length ? args.slice(0, marks[0]!.index) : args).trim();
  marks.forEach((m, i) => {
    const start = m.index! + m[0].length;
    const end = i + 1 < marks.length ? marks[i + 1]!.index : args.length;
    opts.set(m[1]!, args.slice(start, end).trim());
  });
  const unknown = /(?:^|\s)-([a-z]+)(?=\s|$)/.exec(head);
  if (unknown) throw new CommandError(`unknown option -${unknown[1]} (options: ${allowed.map((a) => `-${a}`).join(', ') || 'none'})`);
  return { head, opts };
}

function location(spec: string): { file: string | null; line: number | null; fn: string | null } {
  const m = /^(.+):(\d+)$/.exec(spec);
  if (m) return { file: m[1]!, line: Number(m[2]), fn: null };
  if (/^[A-Za-z_$][\w$]*$/.test(spec)) return { file: null, line: null, fn: spec };
  throw new CommandError(`expected FILE:LINE or a function name, got "${spec}"`);
}

const whereText = (f: StackFrame | null) => (f ? `${f.fn || '(anonymous)'} (${path.basename(f.file)}:${f.line})` : '');

/** An action as the API shows it (debugState, actions). */
export function actionRow(a: Action) {
  return {
    id: a.id,
    kind: a.kind,
    location: a.location,
    condition: a.condition,
    count: a.count,
    target: a.targetText,
    stop: a.stopText,
    enabled: a.enabled,
    hits: [...a.hits.values()].reduce((s, n) => s + n, 0),
    arrived: [...a.arrived],
  };
}

/** Every thread as the API shows it (debugState, threads). */
export function threadRows(svc: DebuggerService) {
  const frozen = new Set(svc.frozenNodes());
  return svc.threads().map((t) => ({
    id: keyOf(t),
    node: t.node,
    thread: t.thread,
    name: t.name,
    state: t.state,
    where: t.where,
    reason: t.reason,
    frozen: frozen.has(t.node),
  }));
}

export async function runCommand(svc: DebuggerService, session: Session, line: string): Promise<CommandResult> {
  let prefix: string | null;
  let rest: string;
  try {
    ({ set: prefix, rest } = splitSetPrefix(line));
  } catch (e) {
    throw new CommandError((e as Error).message);
  }
  const targetSet = prefix ? parseSetOrThrow(prefix) : session.focus;
  const targetText = prefix ?? session.focusText;
  const sp = rest.search(/\s/);
  const verb = sp < 0 ? rest : rest.slice(0, sp);
  const args = sp < 0 ? '' : rest.slice(sp + 1).trim();
  const live = () => svc.threads();
  const target = (): ThreadKey[] => {
    try {
      return svc.evaluate(targetSet);
    } catch (e) {
      throw new CommandError((e as Error).message);
    }
  };
  const fmt = (keys: readonly ThreadKey[]) => formatSet(keys, live());

  switch (verb) {
    case '':
      return { text: '', data: null };
    case 'help':
      return { text: Object.values(VERBS).join('\n'), data: Object.keys(VERBS) };

    // ------------------------------------------------------------ sets
    case 'threads': {
      const keys = new Set(target().map(keyOf));
      const rows = live().filter((t) => keys.has(keyOf(t)));
      const frozen = new Set(svc.frozenNodes());
      const data = threadRows(svc).filter((r) => keys.has(r.id));
      const groups = groupBy(
        rows.map((t) => ({ thread: t, value: `${t.state}${frozen.has(t.node) ? ' (frozen)' : ''}${t.where ? ` at ${whereText(t.where)}` : ''}${t.reason ? ` [${t.reason}]` : ''}` })),
        live(),
        (v) => v,
      );
      return { text: rows.length ? renderGroups(groups) : `no threads in ${targetText}`, data };
    }
    case 'focus': {
      if (!args) return { text: `focus ${session.focusText}`, data: { focus: session.focusText } };
      const set = parseSetOrThrow(args);
      svc.evaluate(set);
      session.focus = set;
      session.focusText = args.startsWith('[') ? args : `[${args}]`;
      return { text: `focus ${session.focusText}: ${fmt(svc.evaluate(set))}`, data: { focus: session.focusText } };
    }
    case 'defset': {
      const m = /^(!?)([A-Za-z_][A-Za-z0-9_-]*)\s+(!?)(.+)$/.exec(args);
      if (!m) throw new CommandError('usage: defset NAME SET (a leading ! on NAME or SET makes it static), or defset NAME @FRAME');
      const name = m[2]!;
      if ((BUILTIN_SETS as readonly string[]).includes(name)) throw new CommandError(`"${name}" is a built-in set`);
      const body = m[4]!.trim();
      let set: ThreadSet;
      let isStatic = m[1] === '!' || m[3] === '!';
      const frame = /^@(\d+)$/.exec(body);
      if (frame) {
        const node = session.lastStacks.find((s) => s.id === Number(frame[1]));
        if (!node) throw new CommandError(`no frame @${frame[1]} in the last stacks output (run stacks first)`);
        set = { items: [{ kind: 'members', members: node.threads }] };
        isStatic = true;
      } else {
        set = parseSetOrThrow(body);
        if (isStatic) set = { items: [{ kind: 'members', members: svc.evaluate(set) }] };
      }
      svc.named.set(name, set);
      try {
        svc.evaluate({ items: [{ kind: 'name', name }] });
      } catch (e) {
        svc.named.delete(name);
        throw new CommandError((e as Error).message);
      }
      const members = svc.evaluate(set);
      return { text: `${name} = ${isStatic ? '!' : ''}${describeSet(set)}: ${fmt(members)}`, data: { name, static: isStatic, members: members.map(keyOf) } };
    }
    case 'undefset': {
      if (!svc.named.delete(args)) throw new CommandError(`no set named "${args}"`);
      return { text: `${args} removed`, data: { name: args } };
    }
    case 'viewset': {
      const name = args || null;
      const set = name ? parseSetOrThrow(SET_NAME_RE.test(name) ? name : name) : targetSet;
      const members = svc.evaluate(set);
      const label = name ?? targetText;
      const def = name && svc.named.get(name) ? describeSet(svc.named.get(name)!) : label;
      return { text: `${label} = ${def}: ${fmt(members)} (${members.length} threads)`, data: { set: label, members: members.map(keyOf) } };
    }
    case 'whichsets': {
      const keys = target();
      const names = ['all', 'running', 'stopped', 'held', ...svc.named.keys()];
      const answers = keys.map((k) => ({
        thread: k,
        value: names.filter((n) => svc.evaluate({ items: [{ kind: 'name', name: n }] }).some((m) => m.node === k.node && m.thread === k.thread)).join(' '),
      }));
      return { text: renderGroups(groupBy(answers, live(), (v) => v)), data: answers.map((a) => ({ thread: keyOf(a.thread), sets: a.value.split(' ') })) };
    }

    // ------------------------------------------------------------ actions
    case 'break':
    case 'barrier': {
      const { head, opts } = options(args, verb === 'break' ? ['if', 'count', 'stop'] : ['stop']);
      if (!head) throw new CommandError(`usage: ${VERBS[verb]}`);
      const loc = location(head);
      const count = opts.has('count') ? Number(opts.get('count')) : null;
      if (count !== null && !(Number.isInteger(count) && count >= 1)) throw new CommandError('-count takes a positive integer');
      const stopText = opts.get('stop') ?? null;
      const stop = stopText ? parseSetOrThrow(stopText) : null;
      if (stop) svc.evaluate(stop);
      const a = svc.addAction({
        kind: verb,
        location: head,
        ...loc,
        condition: opts.get('if') ?? null,
        count,
        target: targetSet,
        targetText,
        stop,
        stopText,
      });
      const t0 = performance.now();
      await svc.broadcastBreakpoints();
      const ms = performance.now() - t0;
      const n = target().length;
      return {
        text: `${verb} ${a.id} at ${head} on ${targetText} (${n} threads now, and threads that start later)${stopText ? `, stop set ${stopText}` : ''}`,
        data: { ...actionRow(a), threads: n, broadcastMs: ms },
      };
    }
    case 'watch': {
      const { head, opts } = options(args, ['stop']);
      if (!head) throw new CommandError(`usage: ${VERBS.watch}`);
      const stopText = opts.get('stop') ?? null;
      const a = svc.addAction({ kind: 'watch', location: head, file: null, line: null, fn: null, condition: null, count: null, target: targetSet, targetText, stop: stopText ? parseSetOrThrow(stopText) : null, stopText });
      await svc.broadcastBreakpoints();
      return { text: `watch ${a.id}: ${head} on ${targetText} (sampled every 100 ms)`, data: actionRow(a) };
    }
    case 'actions': {
      const rows = [...svc.actions.values()].map(actionRow);
      const text = rows.length
        ? rows
            .map((r) => `${String(r.id).padStart(3)} ${r.kind.padEnd(7)} ${r.enabled ? 'on ' : 'off'} ${r.location}${r.condition ? ` -if ${r.condition}` : ''}${r.count ? ` -count ${r.count}` : ''} on ${r.target}${r.stop ? ` -stop ${r.stop}` : ''}  hits ${r.hits}${r.arrived.length ? `  arrived ${r.arrived.join(' ')}` : ''}`)
            .join('\n')
        : 'no actions';
      return { text, data: rows };
    }
    case 'delete':
    case 'disable':
    case 'enable': {
      const ids = args === 'all' ? [...svc.actions.keys()] : args.split(/[\s,]+/).filter(Boolean).map(Number);
      if ((args !== 'all' && ids.length === 0) || ids.some((i) => !Number.isInteger(i))) throw new CommandError(`usage: ${VERBS[verb]}`);
      for (const id of ids) {
        const a = svc.actions.get(id);
        if (!a) throw new CommandError(`no action ${id} (see actions)`);
        if (verb === 'delete') svc.removeAction(id);
        else a.enabled = verb === 'enable';
      }
      await svc.broadcastBreakpoints();
      return { text: `${verb}d ${ids.join(', ') || 'nothing'}`, data: { ids } };
    }

    // ------------------------------------------------------------ execution
    case 'go': {
      const n = await svc.go(target());
      return { text: `resumed ${n} threads of ${targetText}`, data: { resumed: n } };
    }
    case 'halt':
    case 'freeze': {
      let keys = target();
      if (verb === 'freeze') {
        const nodes = new Set(keys.map((k) => k.node));
        keys = live().filter((t) => nodes.has(t.node));
      }
      await svc.halt(keys);
      const ok = await svc.waitUntil(() => keys.every((k) => svc.thread(k)?.state !== 'halting' && svc.thread(k)?.state !== 'running'), 2000);
      const nodes = [...new Set(keys.map((k) => k.node))];
      return {
        text: `${verb === 'freeze' ? `froze nodes ${nodes.join(', ')}: ` : ''}${ok ? 'stopped' : 'stopping'} ${fmt(keys)}${ok ? '' : ' (idle threads stop when they next run)'}`,
        data: { threads: keys.map(keyOf), nodes, allStopped: ok },
      };
    }
    case 'thaw': {
      const nodes = new Set(target().map((k) => k.node));
      const keys = live().filter((t) => nodes.has(t.node));
      const n = await svc.go(keys);
      return { text: `thawed nodes ${[...nodes].join(', ')} (resumed ${n} threads)`, data: { nodes: [...nodes], resumed: n } };
    }
    case 'step':
    case 'next':
    case 'finish': {
      const how = verb === 'step' ? 'into' : verb === 'next' ? 'over' : 'out';
      // Where each thread stood before: the step is done when it stands somewhere
      // new (a fresh pause report), or runs on; its old 'stopped' is not an answer.
      const before = new Map(target().map((k) => [keyOf(k), svc.thread(k)?.where]));
      const stepped = await svc.step(target(), how);
      if (stepped.length === 0) return { text: `no stopped threads in ${targetText}`, data: { threads: [] } };
      await svc.waitUntil(
        () =>
          stepped.every((k) => {
            const t = svc.thread(k);
            return !t || (t.state !== 'halting' && !(t.state === 'stopped' && t.where === before.get(keyOf(k))));
          }),
        5000,
      );
      const answers = stepped.map((k) => ({ thread: k, value: whereText(svc.thread(k)?.where ?? null) || svc.thread(k)?.state || 'gone' }));
      return { text: renderGroups(groupBy(answers, live(), (v) => v)), data: answers.map((a) => ({ thread: keyOf(a.thread), where: a.value })) };
    }
    case 'wait': {
      const { head, opts } = options(args, ['any', 'timeout']);
      if (head) throw new CommandError(`usage: ${VERBS.wait}`);
      const timeoutMs = opts.has('timeout') ? Number(opts.get('timeout')) : 10_000;
      if (!(timeoutMs >= 0 && timeoutMs <= 60_000)) throw new CommandError('-timeout is 0..60000 ms');
      const keys = target();
      const stopped = (k: ThreadKey) => {
        const s = svc.thread(k)?.state;
        return s === 'stopped' || s === 'held' || s === undefined;
      };
      const done = opts.has('any') ? () => keys.some(stopped) : () => keys.every(stopped);
      const ok = keys.length > 0 && (await svc.waitUntil(done, timeoutMs));
      const answers = keys.map((k) => ({ thread: k, value: svc.thread(k)?.state ?? 'gone' }));
      return {
        text: `${ok ? 'done' : 'timed out'}: ${renderGroups(groupBy(answers, live(), (v) => v))}`,
        data: { done: ok, states: answers.map((a) => ({ thread: keyOf(a.thread), state: a.value })) },
      };
    }
    case 'stopmodel': {
      if (args === 'all' || args === 'independent') svc.stopModel = args;
      else if (args) throw new CommandError('stopmodel all|independent');
      return { text: `stop model: ${svc.stopModel}`, data: { stopModel: svc.stopModel } };
    }

    // ------------------------------------------------------------ data
    case 'print': {
      if (!args) throw new CommandError('usage: print EXPR');
      const answers = await svc.evaluateIn(target(), args);
      const values = answers.map((a) => ({ thread: a.thread, value: a.error !== null ? `<error: ${a.error}>` : a.value ?? 'undefined' }));
      const groups = groupBy(values, live(), (v) => v);
      return { text: groups.length ? renderGroups(groups) : `no threads in ${targetText}`, data: groups.map((g) => ({ set: g.set, threads: g.threads.map(keyOf), value: g.value })) };
    }
    case 'where': {
      const stacks = await svc.stacks(target());
      const groups = groupBy(
        stacks.map((s) => ({ thread: s.thread, value: s.frames })),
        live(),
        (f) => JSON.stringify(f.map((x) => [x.fn, x.file, x.line])),
      );
      const text = groups
        .map((g) => `${g.set}\n${g.value.length ? g.value.map((f, i) => `  #${i} ${frameLabel({ ...f, file: path.basename(f.file) })}`).join('\n') : '  (running: stop it to see its stack)'}`)
        .join('\n');
      return { text: text || `no threads in ${targetText}`, data: groups.map((g) => ({ set: g.set, threads: g.threads.map(keyOf), frames: g.value })) };
    }
    case 'stacks': {
      const stacks = await svc.stacks(target());
      const tree = parallelStacks(
        stacks.filter((s) => s.frames.length).map((s) => ({ thread: s.thread, frames: s.frames.map((f) => ({ fn: f.fn, file: path.basename(f.file), line: f.line })) })),
        live(),
      );
      const flat: { id: number; threads: ThreadKey[] }[] = [];
      const walk = (n: (typeof tree)[number]) => {
        flat.push({ id: n.id, threads: n.threads });
        n.children.forEach(walk);
      };
      tree.forEach(walk);
      session.lastStacks = flat;
      const running = stacks.filter((s) => !s.frames.length).map((s) => s.thread);
      const text = [tree.length ? renderStacks(tree) : '', running.length ? `${fmt(running)} running` : ''].filter(Boolean).join('\n');
      return { text: text || `no threads in ${targetText}`, data: { tree, running: running.map(keyOf) } };
    }
    case 'list': {
      const { head, opts } = options(args, ['context']);
      const context = opts.has('context') ? Number(opts.get('context')) : 5;
      if (!(Number.isInteger(context) && context >= 0 && context <= 100_000)) throw new CommandError('-context takes a line count (0..100000)');
      const keys = target();
      // The focus thread: the first stopped one of the set (HPD's "current thread"), else the first.
      const thread = keys.find((k) => svc.thread(k)?.where) ?? keys[0];
      if (!thread) throw new CommandError(`no threads in ${targetText}`);
      const where = svc.thread(thread)?.where ?? null;
      const m = /^(.+?)(?::(\d+))?$/.exec(head);
      const file = m ? m[1]! : where?.file;
      if (!file) throw new CommandError(`no stopped thread in ${targetText}: give FILE[:LINE]`);
      const src = await svc.source(thread, file);
      if (!src) throw new CommandError(`${file} is not loaded in thread ${keyOf(thread)}`);
      const lines = src.text.split('\n').map((l) => l.replace(/\r$/, ''));
      const current = where && where.file === src.file ? where.line : null;
      const center = m?.[2] ? Number(m[2]) : current ?? 1;
      const first = Math.max(1, center - context);
      const last = Math.min(lines.length, center + context);
      const shown = lines.slice(first - 1, last);
      const width = String(last).length;
      const text = [`${keyOf(thread)} ${src.file}`, ...shown.map((l, i) => `${first + i === current ? '>' : ' '}${String(first + i).padStart(width)}  ${l}`)].join('\n');
      return { text, data: { thread: keyOf(thread), file: src.file, line: current, first, lines: shown, total: lines.length } };
    }
    case 'output': {
      const { head, opts } = options(args, ['last']);
      if (head) throw new CommandError(`usage: ${VERBS.output}`);
      const last = opts.has('last') ? Number(opts.get('last')) : 50;
      const keys = new Set(target().map(keyOf));
      const lines = svc.output.filter((l) => keys.has(keyOf(l.thread)));
      const groups = aggregateOutput(lines, live());
      const shown = groups.slice(-last);
      return { text: shown.length ? renderGroups(shown) : 'no output', data: shown.map((g) => ({ set: g.set, threads: g.threads.map(keyOf), text: g.value })) };
    }
    case 'status': {
      const threads = live();
      const count = (s: string) => threads.filter((t) => t.state === s).length;
      const data = {
        threads: threads.length,
        running: count('running'),
        stopped: count('stopped'),
        held: count('held'),
        halting: count('halting'),
        frozenNodes: svc.frozenNodes(),
        stopModel: svc.stopModel,
        actions: svc.actions.size,
        sessions: svc.sessions.size,
      };
      return {
        text: `${data.threads} threads: ${data.running} running, ${data.stopped} stopped, ${data.held} held, ${data.halting} stopping; frozen nodes: ${data.frozenNodes.join(', ') || 'none'}; stop model ${data.stopModel}; ${data.actions} actions`,
        data,
      };
    }
    default:
      throw new CommandError(`unknown command "${verb}" (help lists them)`);
  }
}

export { ALL as ALL_SET };
