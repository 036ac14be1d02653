// The mcs status and modification commands: each one is a console API method,
// printed as a table (or as JSON with --json). The same methods back the
// console's views, so what a script sees is what the operator sees.
import type {
  ClusterStatus,
  ComponentInfo,
  ControlClient,
  EventObjectInfo,
  GenerationInfo,
  HwLockInfo,
  MailboxInfo,
  MutexInfo,
  NodeInfo,
  SectionInfo,
} from '../control/api';
import { boolFlag, integerFlag, parseNode, parseObjectArg, UsageError } from './args';
import { notFound, type Command } from './context';
import { formatAge, formatBytes, formatDuration, formatNodeSet, formatTime, hex, keyValues, plural, table, type Column } from './format';
import { waitsReport } from './waits-report';

// ---------------------------------------------------------------------------
// Renderers (exported for tests and for the `up` status line)

export function renderStatus(s: ClusterStatus, nodes?: readonly NodeInfo[], now = Date.now()): string {
  const up = nodes ? nodes.filter((n) => n.state === 'up').length : s.members.length;
  return keyValues([
    ['multicomputer', `${s.name} (supervisor pid ${s.supervisorPid}, up ${formatDuration(now - s.startedAtMs)})`],
    ['generation', String(s.generation)],
    ['members', `${formatNodeSet(s.members)} (${up} of ${plural(s.nodeCount, 'node')} up)`],
    ['heartbeat', `every ${formatDuration(s.heartbeatPeriodMs)}, timeout ${formatDuration(s.heartbeatTimeoutMs)}`],
    ['detector', `last check ${formatDuration(s.detectorLagMs)} late; restart policy ${s.restartPolicy}`],
    [
      'gsm',
      `${s.gsm.name}: ${formatBytes(s.gsm.totalBytes)} total, ${formatBytes(s.gsm.systemBytes)} system, ` +
        `${formatBytes(s.gsm.contributionBytes)} per node, ${formatBytes(s.gsm.usedBytes)} used`,
    ],
    ['memory failures', String(s.gsm.memoryFailures)],
    [
      'objects',
      [
        plural(s.objects.sections, 'section'),
        plural(s.objects.mutexes, 'mutex', 'mutexes'),
        plural(s.objects.events, 'event'),
        plural(s.objects.hwlocks, 'hwlock'),
        plural(s.objects.mailboxes, 'mailbox', 'mailboxes'),
      ].join(', '),
    ],
    ['log', plural(s.logRows, 'row')],
    ...(nodes ?? []).flatMap((n) => (n.endpoints ?? []).map((e): [string, string] => [`node ${n.id} ${e.app}`, e.url])),
  ]);
}

const right = 'right' as const;

/** name:tid for each thread; an exited one is marked, so a thread that died is still seen. */
function formatThreads(threads: NodeInfo['threads']): string {
  return threads.length ? threads.map((t) => `${t.name}:${t.tid}${t.state === 'exited' ? '(exited)' : ''}`).join(' ') : '-';
}

export function renderNodes(nodes: readonly NodeInfo[]): string {
  const cols: Column<NodeInfo>[] = [
    { header: 'NODE', align: right, value: (n) => String(n.id) },
    { header: 'STATE', value: (n) => n.state },
    { header: 'PID', align: right, value: (n) => (n.pid === null ? '-' : String(n.pid)) },
    { header: 'INC', align: right, value: (n) => String(n.incarnation) },
    { header: 'HEARTBEAT', align: right, value: (n) => formatDuration(n.heartbeatAgeMs) },
    { header: 'SUSPICION', align: right, value: (n) => (n.suspicion === null ? '-' : n.suspicion.toFixed(1)) },
    { header: 'EXPECTED', align: right, value: (n) => formatDuration(n.expectedIntervalMs) },
    { header: 'DEADLINE', align: right, value: (n) => formatDuration(n.deadlineMs) },
    { header: 'JOINED', align: right, value: (n) => (n.joinedGeneration === null ? '-' : `gen ${n.joinedGeneration}`) },
    { header: 'GSM HOUSED', align: right, value: (n) => formatBytes(n.gsmHousedBytes) + (n.contributionFailed ? ' (failed)' : '') },
    { header: 'GSM USED', align: right, value: (n) => formatBytes(n.gsmUsedBytes) },
    { header: 'RESTARTS', align: right, value: (n) => `${n.restarts}${n.restartGaveUp ? ' (gave up)' : ''}` },
    { header: 'APPS', value: (n) => (n.apps.length ? n.apps.join(',') : '-') },
    { header: 'THREADS', value: (n) => formatThreads(n.threads) },
  ];
  if (nodes.some((n) => n.endpoints?.length))
    cols.push({ header: 'ENDPOINTS', value: (n) => (n.endpoints?.length ? n.endpoints.map((e) => e.url).join(' ') : '-') });
  return nodes.length ? table(nodes, cols) : 'no nodes\n';
}

export function renderGenerations(gens: readonly GenerationInfo[]): string {
  return gens.length
    ? table(gens, [
        { header: 'GEN', align: right, value: (g) => String(g.generation) },
        { header: 'MEMBERS', value: (g) => formatNodeSet(g.members) },
        { header: 'CAUSE', value: (g) => g.cause },
        { header: 'AT', value: (g) => formatTime(g.atMs) },
      ])
    : 'no generations\n';
}

export function renderSections(sections: readonly SectionInfo[], now = Date.now()): string {
  return sections.length
    ? table(sections, [
        { header: 'ID', value: (s) => s.id },
        { header: 'NAME', value: (s) => s.name },
        { header: 'OWNER', align: right, value: (s) => String(s.ownerNode) },
        { header: 'INC', align: right, value: (s) => String(s.ownerIncarnation) },
        { header: 'SIZE', align: right, value: (s) => formatBytes(s.size) },
        { header: 'OPEN BY (NODE:REFS)', value: (s) => (s.openBy.length ? s.openBy.map((o) => `${o.node}:${o.refs}`).join(',') : '-') },
        { header: 'ACCESSIBLE', value: (s) => (s.accessible ? 'yes' : 'NO (failed memory)') },
        { header: 'CREATED', value: (s) => formatAge(s.createdAtMs, now) },
      ])
    : 'no sections\n';
}

export function renderMutexes(mutexes: readonly MutexInfo[]): string {
  return mutexes.length
    ? table(mutexes, [
        { header: 'ID', value: (m) => m.id },
        { header: 'NAME', value: (m) => m.name },
        { header: 'OWNER', align: right, value: (m) => String(m.ownerNode) },
        { header: 'STATE', value: (m) => m.state },
        { header: 'HOLDER (NODE/PID/TID)', value: (m) => (m.holder ? `${m.holder.node}/${m.holder.pid}/${m.holder.tid}` : '-') },
        { header: 'HELD', align: right, value: (m) => (m.holder ? formatDuration(m.holder.heldMs) : '-') },
        { header: 'WAITERS', align: right, value: (m) => String(m.waiterCount) },
        { header: 'ABANDONED', align: right, value: (m) => String(m.abandonCount) },
        { header: 'LOCKS', align: right, value: (m) => String(m.lockCount) },
        { header: 'MAX HOLD', align: right, value: (m) => formatDuration(m.maxHoldMs) },
        { header: 'AVG HOLD', align: right, value: (m) => (m.lockCount ? formatDuration(m.totalHoldMs / m.lockCount) : '-') },
      ])
    : 'no mutexes\n';
}

export function renderEvents(events: readonly EventObjectInfo[]): string {
  return events.length
    ? table(events, [
        { header: 'ID', value: (e) => e.id },
        { header: 'NAME', value: (e) => e.name },
        { header: 'OWNER', align: right, value: (e) => String(e.ownerNode) },
        { header: 'MODE', value: (e) => e.mode },
        { header: 'SIGNALED', value: (e) => (e.signaled ? 'yes' : 'no') },
        { header: 'WAITERS', align: right, value: (e) => String(e.waiterCount) },
      ])
    : 'no events\n';
}

export function renderHwLocks(locks: readonly HwLockInfo[]): string {
  return locks.length
    ? table(locks, [
        { header: 'ID', value: (l) => l.id },
        { header: 'NAME', value: (l) => l.name },
        { header: 'OWNER', align: right, value: (l) => String(l.ownerNode) },
        { header: 'VALUE', align: right, value: (l) => l.value },
        { header: 'HELD', value: (l) => (l.held ? 'yes' : 'no') },
      ])
    : 'no hwlocks\n';
}

export function renderMailboxes(boxes: readonly MailboxInfo[]): string {
  return boxes.length
    ? table(boxes, [
        { header: 'ID', value: (b) => b.id },
        { header: 'NAME', value: (b) => b.name },
        { header: 'OWNER', align: right, value: (b) => String(b.ownerNode) },
        { header: 'TARGET', align: right, value: (b) => String(b.targetNode) },
        { header: 'QUEUED', align: right, value: (b) => String(b.queued) },
        { header: 'CAPACITY', align: right, value: (b) => String(b.capacity) },
        { header: 'DROPPED', align: right, value: (b) => String(b.dropped) },
      ])
    : 'no mailboxes\n';
}

export function renderComponents(components: readonly ComponentInfo[]): string {
  return components.length
    ? table(components, [
        { header: 'NAME', value: (c) => c.name },
        { header: 'MEMBERS', value: (c) => formatNodeSet(c.members) },
        { header: 'MASTER', align: right, value: (c) => (c.master === null ? '-' : String(c.master)) },
        { header: 'MASTER AREA', value: (c) => c.masterArea ?? '-' },
        { header: 'RECOVERY GEN', align: right, value: (c) => String(c.recoveryGeneration) },
        { header: 'STATE', value: (c) => c.recoveryState },
        { header: 'RECOVERIES', align: right, value: (c) => String(c.recoveries) },
        { header: 'LAST RECOVERY', align: right, value: (c) => formatDuration(c.lastRecoveryMs) },
        { header: 'CAUSE', value: (c) => c.cause || '-' },
      ])
    : 'no components\n';
}

// ---------------------------------------------------------------------------
// Status commands

type ListMethod = 'nodes' | 'generations' | 'sections' | 'events' | 'hwlocks' | 'mailboxes' | 'components';

function listCommand<M extends ListMethod>(
  name: string,
  method: M,
  summary: string,
  render: (rows: Awaited<ReturnType<ControlClient[M]>>) => string,
): Command {
  return {
    name,
    group: 'status',
    usage: '',
    summary,
    async run(ctx) {
      const client = await ctx.client();
      const rows = (await (client[method] as () => Promise<unknown>)()) as Awaited<ReturnType<ControlClient[M]>>;
      await (ctx.json ? ctx.printJson(rows) : ctx.write(render(rows)));
    },
  };
}

const statusCommands: Command[] = [
  {
    name: 'status',
    group: 'status',
    usage: '',
    summary: 'generation, members, heartbeat, GSM usage, object counts',
    async run(ctx) {
      const client = await ctx.client();
      const [status, nodes] = await Promise.all([client.status(), client.nodes()]);
      await (ctx.json ? ctx.printJson(status) : ctx.write(renderStatus(status, nodes)));
    },
  },
  listCommand(
    'nodes',
    'nodes',
    "every node: state, pid, incarnation, heartbeat age, the detector's suspicion (phi) and its evidence, GSM housed and used, restarts, threads",
    renderNodes,
  ),
  listCommand('generations', 'generations', 'membership history: generation, members, cause', renderGenerations),
  listCommand('sections', 'sections', 'global sections: owner, size, who has them open, accessible', renderSections),
  {
    name: 'mutexes',
    group: 'status',
    usage: '[--waits]',
    summary: 'global mutexes: state, holder, waiters, hold times; --waits adds who waits for whom and deadlocks',
    flags: [{ name: 'waits', kind: 'boolean', help: 'print the wait-for graph and deadlock cycles' }],
    async run(ctx, args) {
      const client = await ctx.client();
      if (!boolFlag(args, 'waits')) {
        const mutexes = await client.mutexes();
        return void (await (ctx.json ? ctx.printJson(mutexes) : ctx.write(renderMutexes(mutexes))));
      }
      const [mutexes, waitGraph] = await Promise.all([client.mutexes(), client.waitGraph()]);
      if (ctx.json) return void (await ctx.printJson({ mutexes, waitGraph }));
      await ctx.write(renderMutexes(mutexes) + '\n' + waitsReport(waitGraph));
    },
  },
  listCommand('events', 'events', 'global events: mode, signaled, waiters', renderEvents),
  listCommand('hwlocks', 'hwlocks', 'hardware locks: value, held', renderHwLocks),
  listCommand('mailboxes', 'mailboxes', 'mailboxes: target node, queued, capacity, dropped', renderMailboxes),
  listCommand('components', 'components', 'recoverable components: members, master, recovery', renderComponents),
];

// ---------------------------------------------------------------------------
// Modification commands

async function findNode(client: ControlClient, id: number): Promise<NodeInfo> {
  const nodes = await client.nodes();
  const node = nodes.find((n) => n.id === id);
  if (!node) throw notFound(`no node ${id} (nodes: ${formatNodeSet(nodes.map((n) => n.id))})`);
  return node;
}

const pidText = (n: NodeInfo) => (n.pid === null ? 'no process' : `pid ${n.pid}`);

function nodeCommand(
  name: string,
  method: 'killNode' | 'stopNode' | 'contNode' | 'restartNode',
  summary: string,
  verb: string,
  done: (before: number, after: NodeInfo) => string,
): Command {
  return {
    name,
    group: 'modify',
    usage: 'N',
    summary,
    required: ['N'],
    async run(ctx, _args, [nodeArg]) {
      const node = parseNode(nodeArg!, 'N');
      const after = await ctx.call(method, { node }, async (client) => {
        const n = await findNode(client, node);
        return `${verb} node ${node} (${pidText(n)})?`;
      });
      await (ctx.json ? ctx.printJson(after) : ctx.write(done(node, after) + '\n'));
    },
  };
}

async function describeObject(
  client: ControlClient,
  kind: 'mutex' | 'event',
  target: string,
): Promise<{ label: string; info: MutexInfo | EventObjectInfo }> {
  const list: (MutexInfo | EventObjectInfo)[] = kind === 'mutex' ? await client.mutexes() : await client.events();
  const info = list.find((o) => o.id === target || o.name === target);
  if (!info) throw notFound(`no ${kind} ${target}`);
  return { label: `${kind} ${info.id} (${info.name})`, info };
}

const objectLabel = (kind: string, o: { id: string; name: string }) => `${kind} ${o.id} (${o.name})`;

const modifyCommands: Command[] = [
  nodeCommand('kill-node', 'killNode', 'SIGKILL a node: an OS crash of that node', 'Kill', (n, a) => `killed node ${n}; it is now ${a.state}`),
  nodeCommand('stop-node', 'stopNode', 'SIGSTOP a node: a hung node', 'Stop', (n, a) => `stopped node ${n}; it is now ${a.state}`),
  nodeCommand('cont-node', 'contNode', 'SIGCONT a stopped node', 'Continue', (n, a) => `continued node ${n}; it is now ${a.state}`),
  nodeCommand(
    'restart-node',
    'restartNode',
    'kill a node and start a new incarnation of it',
    'Restart',
    (n, a) => `restarted node ${n}: ${pidText(a)}, incarnation ${a.incarnation}, ${a.state}`,
  ),
  {
    name: 'restart-policy',
    group: 'modify',
    usage: '[never|on-failure]',
    optional: ['policy'],
    summary: 'show or set whether failed nodes come back by themselves (on-failure: with backoff, giving up on a crash loop)',
    async run(ctx, _args, [policy]) {
      if (policy === undefined) {
        const s = await (await ctx.client()).status();
        return void (await (ctx.json ? ctx.printJson({ policy: s.restartPolicy }) : ctx.write(`restart policy: ${s.restartPolicy}\n`)));
      }
      if (policy !== 'never' && policy !== 'on-failure') throw new UsageError(`restart-policy: expected never or on-failure, not "${policy}"`);
      const r = await ctx.call('setRestartPolicy', { policy });
      await (ctx.json ? ctx.printJson(r) : ctx.write(`restart policy: ${r.policy}\n`));
    },
  },
  {
    name: 'add-node',
    group: 'modify',
    usage: '',
    summary: 'start a new node; it joins the next generation',
    async run(ctx) {
      const r = await ctx.call('addNode', {});
      await (ctx.json ? ctx.printJson(r) : ctx.write(`added node ${r.node}\n`));
    },
  },
  {
    name: 'kill-thread',
    group: 'modify',
    usage: 'N NAME [--holding]',
    summary: "end a node's worker thread abruptly: its mutexes are abandoned and the node restarts it",
    required: ['N', 'NAME'],
    flags: [{ name: 'holding', kind: 'boolean', help: 'end it right after it next takes a global mutex (it dies holding it)' }],
    async run(ctx, args, [nodeArg, name]) {
      const node = parseNode(nodeArg!, 'N');
      const holding = boolFlag(args, 'holding');
      const r = await ctx.call('killThread', { node, name: name!, ...(holding ? { holding } : {}) }, async (client) => {
        const n = await findNode(client, node);
        const t = n.threads.find((x) => x.name === name && x.state === 'running');
        return `Kill thread ${name}${t ? ` (tid ${t.tid})` : ''} of node ${node}${holding ? ' while it holds a global mutex' : ''}?`;
      });
      await (ctx.json ? ctx.printJson(r) : ctx.write(`killed thread ${r.name} (tid ${r.tid}) of node ${r.node}${r.holding ? ' holding a global mutex' : ''}\n`));
    },
  },
  {
    name: 'fail-memory',
    group: 'modify',
    usage: '(--node N | --offset X --length L)',
    summary: "fail the GSM housed by a node, or a GSM byte range (reads return the dummy value)",
    flags: [
      { name: 'node', kind: 'string', value: 'N', help: 'fail the contribution housed by node N' },
      { name: 'offset', kind: 'string', value: 'X', help: 'first GSM byte to fail (decimal or 0x hex)' },
      { name: 'length', kind: 'string', value: 'L', help: 'how many bytes to fail' },
    ],
    async run(ctx, args) {
      const nodeText = args.flags.get('node');
      const offset = integerFlag(args, 'offset', { hex: true });
      const length = integerFlag(args, 'length', { hex: true, min: 1 });
      let params: { node: number } | { offset: number; length: number };
      if (typeof nodeText === 'string') {
        if (offset !== undefined || length !== undefined) throw new UsageError('fail-memory: give --node N, or --offset X --length L, not both');
        params = { node: parseNode(nodeText, '--node') };
      } else {
        if (offset === undefined || length === undefined) throw new UsageError('fail-memory needs --node N, or --offset X and --length L');
        params = { offset, length };
      }
      const r = await ctx.call('failMemory', params, async (client) => {
        if ('node' in params) {
          const n = await findNode(client, params.node);
          return `Fail the ${formatBytes(n.gsmHousedBytes)} of GSM housed by node ${n.id}?`;
        }
        return `Fail GSM bytes ${hex(params.offset)}..${hex(params.offset + params.length - 1)} (${formatBytes(params.length)})?`;
      });
      await (ctx.json
        ? ctx.printJson(r)
        : ctx.write(`failed GSM bytes ${hex(r.offset)}..${hex(r.offset + r.length - 1)} (${formatBytes(r.length)})\n`));
    },
  },
  {
    name: 'release-mutex',
    group: 'modify',
    usage: 'NAME|ID',
    summary: 'force-release a global mutex (its holder loses it)',
    required: ['NAME|ID'],
    async run(ctx, _args, [targetArg]) {
      const target = parseObjectArg(targetArg!);
      const r = await ctx.call('releaseMutex', { target }, async (client) => {
        const { label, info } = await describeObject(client, 'mutex', target);
        const m = info as MutexInfo;
        const holder = m.holder ? `held by node ${m.holder.node} pid ${m.holder.pid} tid ${m.holder.tid}` : m.state;
        return `Force-release ${label}, ${holder}?`;
      });
      await (ctx.json ? ctx.printJson(r) : ctx.write(`released ${objectLabel('mutex', r)}; it is now ${r.state}\n`));
    },
  },
  {
    name: 'signal-event',
    group: 'modify',
    usage: 'NAME|ID',
    summary: 'signal a global event',
    required: ['NAME|ID'],
    async run(ctx, _args, [targetArg]) {
      const target = parseObjectArg(targetArg!);
      const r = await ctx.call('signalEvent', { target }, async (client) => {
        const { label, info } = await describeObject(client, 'event', target);
        return `Signal ${label} (${plural((info as EventObjectInfo).waiterCount, 'waiter')})?`;
      });
      await (ctx.json ? ctx.printJson(r) : ctx.write(`signaled ${objectLabel('event', r)}\n`));
    },
  },
  {
    name: 'reset-event',
    group: 'modify',
    usage: 'NAME|ID',
    summary: 'reset a global event',
    required: ['NAME|ID'],
    async run(ctx, _args, [targetArg]) {
      const target = parseObjectArg(targetArg!);
      const r = await ctx.call('resetEvent', { target }, async (client) => {
        const { label } = await describeObject(client, 'event', target);
        return `Reset ${label}?`;
      });
      await (ctx.json ? ctx.printJson(r) : ctx.write(`reset ${objectLabel('event', r)}\n`));
    },
  },
  {
    name: 'trigger-recovery',
    group: 'modify',
    usage: '[COMPONENT]',
    summary: 'start recovery of one component, or of all',
    optional: ['COMPONENT'],
    async run(ctx, _args, [component]) {
      const params = component === undefined ? {} : { component };
      const r = await ctx.call('triggerRecovery', params, () =>
        component === undefined ? 'Trigger recovery of every component?' : `Trigger recovery of component ${component}?`,
      );
      await (ctx.json
        ? ctx.printJson(r)
        : ctx.write(r.components.length ? `recovery started: ${r.components.join(', ')}\n` : 'no component to recover\n'));
    },
  },
];

export const tableCommands: Command[] = [...statusCommands, ...modifyCommands];
