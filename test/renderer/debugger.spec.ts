// The Debugger view's store and components: the session is opened once and kept
// alive by the event poll, a stop redraws threads, stacks, source and values, a
// lapsed session is replaced, commands and replies go to the transcript and the
// history; the thread list edits the focus set, the parallel stacks tree is drawn
// and navigated by keyboard, and the source marks the current line and toggles
// breakpoints from its gutter.
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { nextTick } from 'vue';
import { ControlError, type ClusterStatus, type ControlClient, type DebugEvent, type DebugStackNode, type DebugState, type DebugThreadInfo } from '../../runtime/control/api';
import { setClient } from '../../renderer/src/api/connect';
import DebugThreadList from '../../renderer/src/components/DebugThreadList.vue';
import ParallelStacks from '../../renderer/src/components/ParallelStacks.vue';
import SourceView from '../../renderer/src/components/SourceView.vue';
import { useClusterStore } from '../../renderer/src/stores/cluster';
import { frameLocation, setOfThreads, useDebuggerStore } from '../../renderer/src/stores/debugger';

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!ok()) throw new Error(`never: ${what}`);
};

function thread(id: string, state: DebugThreadInfo['state'] = 'running', line?: number): DebugThreadInfo {
  const [node, t] = id.split('.').map(Number) as [number, number];
  return { id, node, thread: t, name: t === 1 ? 'main' : `spinner-${t - 1}`, state, where: line ? { fn: 'work', file: '/app/debuggee.ts', line, column: 3 } : null, reason: line ? 'breakpoint 1' : null, frozen: state !== 'running' };
}

/**
 * A debugger back end in miniature: a thread table the test changes, the command
 * lines it was sent, and an event queue the long poll drains (and otherwise waits
 * on briefly, as the server does).
 */
function fakeDebugger() {
  const lines: { session: string | undefined; line: string }[] = [];
  let threads = ['0.1', '0.2', '1.1', '1.2'].map((id) => thread(id));
  let sessions = 0;
  let live = new Set<string>();
  const focusOf = new Map<string, string>();
  const queue: DebugEvent[] = [];
  let seq = 0;
  const session = () => `${String(++sessions).padStart(16, '0')}`;
  const tree: DebugStackNode[] = [
    { id: 1, label: 'processTimers (timers)', threads: [{ node: 0, thread: 1 }, { node: 1, thread: 1 }], set: '[0.1, 1.1]', children: [{ id: 2, label: 'work (debuggee.ts:12)', threads: [{ node: 0, thread: 1 }, { node: 1, thread: 1 }], set: '[0.1, 1.1]', children: [] }] },
  ];
  const api = {
    async debugCommand(p: { session?: string; line: string }) {
      lines.push({ session: p.session, line: p.line });
      if (p.session && !live.has(p.session)) throw new ControlError('not-found', `no debug session ${p.session}`);
      const id = p.session ?? session();
      live.add(id);
      const verb = p.line.replace(/^\[[^\]]*\]\s*/, '').split(' ')[0];
      const focus = /^focus (.+)$/.exec(p.line);
      if (focus) focusOf.set(id, focus[1]!);
      const reply = (text: string, data: unknown = null) => ({ session: id, focus: focusOf.get(id) ?? '[all]', text, data });
      switch (verb) {
        case 'help':
          return reply('help', ['break', 'focus', 'go', 'stacks']);
        case 'threads':
          return reply('threads', threads);
        case 'stacks':
          return reply('stacks', { tree, running: ['0.2', '1.2'] });
        case 'list':
          return reply('list', { thread: '0.1', file: '/app/debuggee.ts', line: 12, first: 10, lines: ['', 'export function work(n: number): number {', '  const doubled = n * 2;', '  return doubled;', '}'], total: 40 });
        case 'print':
          return reply('[0.1, 1.1]  "main"', [{ set: '[0.1, 1.1]', threads: ['0.1', '1.1'], value: '"main"' }, { set: '[0.2, 1.2]', threads: ['0.2', '1.2'], value: '"worker"' }]);
        case 'output':
          return reply('', []);
        case 'bogus':
          throw new ControlError('bad-request', 'unknown command "bogus" (help lists them)');
        default:
          return reply(`${p.line}: ok`);
      }
    },
    async debugEvents(p: { session: string; after?: number }) {
      if (!live.has(p.session)) throw new ControlError('not-found', 'gone');
      if (!queue.length) await new Promise((r) => setTimeout(r, 5));
      const events = queue.splice(0);
      return { events, next: seq };
    },
    async debugState(): Promise<DebugState> {
      return { threads, frozenNodes: [], leases: [], sessionLeaseMs: 5000, stopModel: 'all', sets: [], actions: [] };
    },
  };
  return {
    client: api as unknown as ControlClient,
    lines,
    stop(ids: string[]) {
      threads = threads.map((t) => (ids.includes(t.id) ? thread(t.id, 'stopped', 12) : t));
      for (const id of ids) queue.push({ seq: ++seq, atMs: Date.now(), kind: 'stopped', thread: id, text: `${id} stopped at work (debuggee.ts:12): breakpoint 1` });
    },
    expireSessions() {
      live = new Set();
    },
  };
}

describe('debugger store', () => {
  let f: ReturnType<typeof fakeDebugger>;
  const status = (debuggerOn: boolean) =>
    ({ name: 't', generation: 1, members: [0, 1], debugger: debuggerOn }) as unknown as ClusterStatus;
  beforeEach(() => {
    setActivePinia(createPinia());
    window.localStorage.clear();
    f = fakeDebugger();
    setClient(f.client);
    useClusterStore().status = status(true);
  });

  it('does not ask a multicomputer whose status says it runs no debugger service', async () => {
    useClusterStore().status = status(false);
    const dbg = useDebuggerStore();
    await dbg.start();
    expect(dbg.unavailable).toBe(true);
    expect(dbg.attached).toBe(false);
    expect(f.lines).toEqual([]);
  });

  it('opens one session and keeps it; a stop redraws threads, stacks and the source of the focus\'s first stopped thread', async () => {
    const dbg = useDebuggerStore();
    await dbg.start();
    await dbg.start();
    expect(f.lines.filter((l) => l.line === 'help')).toHaveLength(1);
    expect(dbg.verbs).toEqual(['break', 'focus', 'go', 'stacks']);
    await until('the first refresh', () => dbg.threads.length === 4);
    expect(dbg.stacks?.tree).toEqual([]);
    f.stop(['0.1', '1.1']);
    await until('the stop is drawn', () => dbg.source !== null && (dbg.stacks?.tree.length ?? 0) > 0);
    expect(dbg.current?.id).toBe('0.1');
    expect(f.lines.some((l) => l.line === '[0.1] list -context 400')).toBe(true);
    expect(dbg.source?.line).toBe(12);
    expect(dbg.transcript.map((e) => e.text)).toContain('0.1 stopped at work (debuggee.ts:12): breakpoint 1');
    const sessions = new Set(f.lines.map((l) => l.session).filter(Boolean));
    expect(sessions.size).toBe(1);
    await dbg.detach();
    expect(f.lines.at(-1)!.line).toBe('quit');
  });

  it('leaving the view ends a session that holds nothing, after its poll returns; one with a stopped thread stays', async () => {
    const dbg = useDebuggerStore();
    await dbg.start();
    await until('the first refresh', () => dbg.threads.length === 4);
    await dbg.run('focus [0.*]');
    dbg.leave();
    await until('quit sent', () => f.lines.some((l) => l.line === 'quit'));
    expect(dbg.attached).toBe(false);
    // Back on the view: a new session, with the focus the old one had.
    await dbg.start();
    expect(f.lines.some((l, i) => i > f.lines.findIndex((x) => x.line === 'quit') && l.line === 'focus [0.*]')).toBe(true);
    expect(dbg.focus).toBe('[0.*]');
    f.stop(['0.1']);
    await until('the stop is seen', () => dbg.threads.some((t) => t.state === 'stopped'));
    const quits = f.lines.filter((l) => l.line === 'quit').length;
    dbg.leave();
    await new Promise((r) => setTimeout(r, 30));
    expect(f.lines.filter((l) => l.line === 'quit')).toHaveLength(quits);
    expect(dbg.attached).toBe(true);
    await dbg.detach();
  });

  it('records commands, replies and errors in the transcript, and commands in the history', async () => {
    const dbg = useDebuggerStore();
    await dbg.start();
    await dbg.run('focus [0.*]', { remember: true });
    await dbg.run('bogus', { remember: true });
    await dbg.run('focus [0.*]', { remember: true });
    const texts = dbg.transcript.map((e) => `${e.kind}: ${e.text}`);
    expect(texts).toContain('command: [0.*]> bogus');
    expect(texts).toContain('error: unknown command "bogus" (help lists them)');
    expect(dbg.history).toEqual(['bogus', 'focus [0.*]']);
    expect(JSON.parse(window.localStorage.getItem('mcs.debug.history')!)).toEqual(['bogus', 'focus [0.*]']);
    await dbg.detach();
  });

  it('a lapsed session is replaced by a new one, and the transcript says so', async () => {
    const dbg = useDebuggerStore();
    await dbg.start();
    const first = dbg.session;
    f.expireSessions();
    await until('a new session', () => dbg.session !== null && dbg.session !== first);
    await dbg.run('go');
    expect(dbg.transcript.some((e) => e.text === 'go: ok')).toBe(true);
    await dbg.detach();
  });

  it('values added are printed across the focus and printed again at the next stop', async () => {
    const dbg = useDebuggerStore();
    await dbg.start();
    await dbg.addWatch('debuggeeRole');
    expect(dbg.watches[0]!.groups.map((g) => `${g.set} ${g.value}`)).toEqual(['[0.1, 1.1] "main"', '[0.2, 1.2] "worker"']);
    const before = f.lines.filter((l) => l.line === 'print debuggeeRole').length;
    f.stop(['0.1']);
    await until('printed again', () => f.lines.filter((l) => l.line === 'print debuggeeRole').length > before);
    await dbg.detach();
  });
});

describe('debugger helpers', () => {
  const all = ['0.1', '0.2', '1.1', '1.2', '2.1'].map((id) => ({ id, node: Number(id[0]) }));
  it('setOfThreads writes whole nodes as n.*, everything as all, else the threads', () => {
    expect(setOfThreads(['0.1', '0.2', '1.1', '1.2', '2.1'], all)).toBe('[all]');
    expect(setOfThreads(['0.1', '0.2', '2.1'], all)).toBe('[0.*, 2.1]');
    expect(setOfThreads(['1.2'], all)).toBe('[1.2]');
    expect(setOfThreads([], all)).toBe('[]');
  });
  it('frameLocation reads the file and line a frame label shows, or none when its threads disagree', () => {
    expect(frameLocation('work (debuggee.ts:12)')).toEqual({ file: 'debuggee.ts', line: 12 });
    expect(frameLocation('processTimers (timers)')).toBeNull();
  });
});

describe('debugger components', () => {
  const tree: DebugStackNode[] = [
    {
      id: 1, label: 'main (app.ts:3)', set: '[all]', threads: [{ node: 0, thread: 1 }, { node: 1, thread: 1 }, { node: 1, thread: 2 }],
      children: [
        { id: 2, label: 'rebuildChain (cache.ts:40)', set: '[0.1, 1.1]', threads: [{ node: 0, thread: 1 }, { node: 1, thread: 1 }], children: [] },
        { id: 3, label: 'serve (cache.ts:90)', set: '[1.2]', threads: [{ node: 1, thread: 2 }], children: [] },
      ],
    },
  ];

  it('ParallelStacks draws each frame with its thread count, an edge per call, and moves by keyboard', async () => {
    const w = mount(ParallelStacks, { props: { tree, selected: null }, attachTo: document.body });
    const frames = w.findAll('[data-frame]');
    expect(frames.map((b) => b.find('.fn').text())).toEqual(['main', 'rebuildChain', 'serve']);
    expect(frames.map((b) => b.find('.count').text())).toEqual(['3', '2', '1']);
    expect(w.findAll('path.edge')).toHaveLength(2);
    // The parent is centred over its children.
    const left = (i: number) => parseFloat((frames[i]!.element as HTMLElement).style.left);
    expect(left(0)).toBeCloseTo((left(1) + left(2)) / 2);
    await frames[0]!.trigger('keydown', { key: 'ArrowDown' });
    await frames[1]!.trigger('keydown', { key: 'ArrowRight' });
    await frames[2]!.trigger('keydown', { key: 'ArrowUp' });
    expect(w.emitted('select')!.map((e) => (e[0] as DebugStackNode).id)).toEqual([2, 3, 1]);
    await frames[1]!.trigger('keydown', { key: 'Enter' });
    expect((w.emitted('activate')![0]![0] as DebugStackNode).set).toBe('[0.1, 1.1]');
    w.unmount();
  });

  it('SourceView marks the current line and toggles a breakpoint from the gutter', async () => {
    const source = { thread: '0.1', file: '/app/debuggee.ts', line: 12, first: 11, lines: ['a', 'b', 'c'], total: 3 };
    const w = mount(SourceView, { props: { source, mark: null, breakpoints: new Map([[13, { id: 4, enabled: false }]]) } });
    expect(w.find('tr[aria-current="step"]').attributes('data-line')).toBe('12');
    expect(w.find('tr[data-line="13"] .dot').classes()).toEqual(expect.arrayContaining(['on', 'off']));
    await w.find('tr[data-line="11"] button').trigger('click');
    expect(w.emitted('toggle')).toEqual([[11]]);
  });

  it('DebugThreadList: a node checkbox puts all its threads in the focus, a thread checkbox one', async () => {
    const threads = [thread('0.1', 'stopped', 12), thread('0.2'), thread('1.1'), thread('1.2')];
    const w = mount(DebugThreadList, { props: { threads, focus: new Set(['1.1']), current: '0.1', leases: [{ node: 0, state: 'frozen', reason: 'stopped', frozenMs: 1200, leaseMs: 5800 }] } });
    expect(w.find('[data-node="0"] [data-testid="node-lease"]').text()).toBe('frozen · lease 5.8 s');
    await w.find('[data-node="0"] .node-head input').setValue(true);
    expect(w.emitted('focus')![0]).toEqual([['0.1', '0.2', '1.1']]);
    await w.find('[data-thread="1.1"] input').setValue(false);
    expect(w.emitted('focus')![1]).toEqual([[]]);
    await w.find('[data-thread="1.2"] .pick').trigger('click');
    expect(w.emitted('pick')).toEqual([['1.2']]);
    await nextTick();
  });
});
