// `mcs log`: a filtered page of the event log, newest rows last; --follow then
// tails it live; --export json|csv writes every matching row, paging through the
// control API from the oldest so the whole log is never held at once. The live subscription is made (and acknowledged) before the page
// is read, so no row appended in between is lost; rows seen twice are dropped by id.
import { MAX_LOG_LIMIT, type LogFilter, type LogRow } from '../control/api';
import { boolFlag, integerFlag, listFlag, parseNode, parseObjectArg, parseTimeArg, stringFlag, UsageError, type ParsedArgs } from './args';
import type { Command, Context } from './context';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { LOG_CSV_HEADER, csvLogLine } from '../log/csv';
import { formatTime } from './format';

/** The node number the event log gives the supervisor's own rows. */
const SUPERVISOR_NODE = -1;

export function formatLogRow(row: LogRow): string {
  const details = row.details === undefined || row.details === null ? '' : JSON.stringify(row.details);
  return [
    formatTime(row.wallTimeMs),
    (row.node === SUPERVISOR_NODE ? `sup #${row.seq}` : `n${row.node}.${row.incarnation} #${row.seq}`).padEnd(12),
    row.kind.padEnd(20),
    (row.object ?? '-').padEnd(8),
    details,
  ]
    .join('  ')
    .trimEnd();
}

function buildFilter(args: ParsedArgs, now = Date.now()): LogFilter {
  const filter: LogFilter = {};
  const since = stringFlag(args, 'since');
  const until = stringFlag(args, 'until');
  if (since !== undefined) filter.sinceMs = parseTimeArg(since, '--since', now);
  if (until !== undefined) filter.untilMs = parseTimeArg(until, '--until', now);
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.untilMs <= filter.sinceMs) {
    throw new UsageError('--until must be later than --since');
  }
  const nodes = listFlag(args, 'node');
  // 'sup' selects the supervisor's own rows (node -1 in the log).
  if (nodes) filter.nodes = nodes.map((n) => (n === 'sup' ? SUPERVISOR_NODE : parseNode(n, '--node')));
  const kinds = listFlag(args, 'kind');
  if (kinds) {
    for (const k of kinds) {
      if (!/^(?:[A-Za-z0-9_.:/-]+\*?|\*)$/.test(k)) throw new UsageError(`--kind: expected a kind like node.failed or a prefix like node.*, got '${k}'`);
    }
    filter.kinds = kinds;
  }
  const object = stringFlag(args, 'object');
  if (object !== undefined) filter.object = parseObjectArg(object, '--object');
  const text = stringFlag(args, 'text');
  if (text !== undefined) filter.text = text;
  return filter;
}

export const logCommand: Command = {
  name: 'log',
  group: 'status',
  usage: '[--since 10m|ISO] [--until ..] [--node N[,N]] [--kind K] [--object O] [--text T] [--limit N] [--follow | --export json|csv [--output FILE]]',
  summary: 'the event log, filtered; --follow tails it live',
  flags: [
    { name: 'since', kind: 'string', value: '10m|ISO', help: 'rows at or after this time (a duration ago, or an ISO time)' },
    { name: 'until', kind: 'string', value: '10m|ISO', help: 'rows before this time' },
    { name: 'node', kind: 'list', value: 'N[,N]', help: "rows from these nodes ('sup': the supervisor's own)" },
    { name: 'kind', kind: 'list', value: 'K', help: 'rows of this kind, or kind prefix ending in * (repeatable)' },
    { name: 'object', kind: 'string', value: 'NAME|ID', help: 'rows about this object' },
    { name: 'text', kind: 'string', value: 'T', help: 'rows containing this text' },
    { name: 'limit', kind: 'string', value: 'N', help: `how many of the newest matching rows (default 100, at most ${MAX_LOG_LIMIT})` },
    { name: 'follow', short: 'f', kind: 'boolean', help: 'keep printing new rows until interrupted' },
    { name: 'export', kind: 'string', value: 'json|csv', help: 'write every matching row (oldest first) as a JSON array or CSV' },
    { name: 'output', kind: 'string', value: 'FILE', help: 'with --export: write to FILE instead of standard output' },
  ],
  async run(ctx, args) {
    const filter = buildFilter(args);
    const limit = integerFlag(args, 'limit', { min: 1, max: MAX_LOG_LIMIT }) ?? 100;
    const format = stringFlag(args, 'export');
    const output = stringFlag(args, 'output');
    if (format !== undefined) {
      if (format !== 'json' && format !== 'csv') throw new UsageError(`--export: expected json or csv, got '${format}'`);
      if (boolFlag(args, 'follow')) throw new UsageError('--export and --follow do not go together');
      return exportLog(ctx, filter, format, output);
    }
    if (output !== undefined) throw new UsageError('--output goes with --export');
    const client = await ctx.client();
    if (!boolFlag(args, 'follow')) {
      const page = await client.log({ filter, limit });
      const rows = [...page.rows].sort((a, b) => a.id - b.id);
      if (ctx.json) return void (await ctx.printJson({ ...page, rows }));
      await ctx.write(rows.length ? rows.map((r) => formatLogRow(r) + '\n').join('') : 'no matching log rows\n');
      return;
    }
    return follow(ctx, filter, limit);
  },
};

async function follow(ctx: Context, filter: LogFilter, limit: number): Promise<number> {
  // Listen for Ctrl-C before anything is printed: whoever reads our output may
  // interrupt us the moment a row appears, and must get an orderly exit.
  const interrupted = ctx.untilInterrupted();
  const client = await ctx.client();
  let lastId = -1;
  let live = false;
  const early: LogRow[] = [];
  const emit = (rows: readonly LogRow[]) => {
    const fresh = [...rows].sort((a, b) => a.id - b.id).filter((r) => r.id > lastId);
    if (fresh.length === 0) return;
    lastId = fresh[fresh.length - 1]!.id;
    // --json --follow prints one JSON row per line (NDJSON), so it can be piped to jq -c.
    void ctx.write(fresh.map((r) => (ctx.json ? JSON.stringify(r) : formatLogRow(r)) + '\n').join(''));
  };
  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});
  let ready: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => (ready = resolve));
  const unsubscribe = client.subscribeLog(
    filter,
    (rows) => (live ? emit(rows) : early.push(...rows)),
    { onError: (e) => fail(e), onReady: () => ready() },
  );
  try {
    await Promise.race([subscribed, failed]);
    const page = await client.log({ filter, limit });
    emit(page.rows);
    live = true;
    emit(early);
    await Promise.race([interrupted, failed]);
    return 0;
  } finally {
    unsubscribe();
  }
}

async function exportLog(ctx: Context, filter: LogFilter, format: 'json' | 'csv', output: string | undefined): Promise<void> {
  const client = await ctx.client();
  const out = (output === undefined ? ctx.io.stdout : createWriteStream(output, { flags: 'w', mode: 0o600 })) as Writable;
  if (output !== undefined) await Promise.race([once(out, 'open'), once(out, 'error').then(([e]) => Promise.reject(e))]).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`--output: cannot write ${output}: ${e.code ?? e.message}`);
  });
  const put = async (chunk: string) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };
  let n = 0;
  await put(format === 'json' ? '[' : LOG_CSV_HEADER);
  let page = await client.log({ filter, fromStart: true, limit: MAX_LOG_LIMIT });
  for (;;) {
    for (const r of page.rows) {
      if (format === 'json') await put(`${n ? ',' : ''}\n${JSON.stringify(r)}`);
      else await put(csvLogLine({ ...r, detailsJson: JSON.stringify(r.details ?? null) }));
      n++;
    }
    if (!page.next) break;
    page = await client.log({ filter, after: page.next, limit: MAX_LOG_LIMIT });
  }
  if (format === 'json') await put(n ? '\n]\n' : ']\n');
  if (output !== undefined) {
    out.end();
    await once(out, 'finish');
    ctx.io.stderr.write(`exported ${n} rows to ${output}\n`);
  }
}
