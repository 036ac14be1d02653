// `mcs load`: bounded loopback traffic on the running Web cache, so a newcomer
// sees hits, misses and recoveries. Every node's published endpoint gets a share
// of the connections; paths follow a Zipf distribution over the site's files.
// It reports what the clients saw, plus the failures and recoveries the event
// log recorded meanwhile.
import { existsSync } from 'node:fs';
import type { ControlClient, LogRow } from '../control/api';
import { runLoad, siteFiles, type LoadResult } from '../apps/webcache/load';
import { integerFlag, stringFlag, UsageError, type ParsedArgs } from './args';
import type { Command } from './context';
import { WEBCACHE_APP } from './webcache-options';

const MAX_DURATION_S = 3600;

function durationFlag(args: ParsedArgs): number {
  const text = stringFlag(args, 'duration') ?? '30s';
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new UsageError(`--duration: expected a duration like 30s, 500ms or 2m, got '${text}'`);
  const s = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 } as Record<string, number>)[m[2] ?? 's']!;
  if (!(s >= 0.1 && s <= MAX_DURATION_S)) throw new UsageError(`--duration: between 100ms and ${MAX_DURATION_S / 60}m`);
  return s;
}

function zipfFlag(args: ParsedArgs): number {
  const text = stringFlag(args, 'zipf') ?? '0.9';
  const v = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(v >= 0 && v <= 5)) throw new UsageError(`--zipf: expected an exponent between 0 and 5, got '${text}'`);
  return v;
}

/** Every row matching `kinds` logged since `sinceMs`, paged. */
async function rowsSince(client: ControlClient, kinds: string[], sinceMs: number): Promise<LogRow[]> {
  const out: LogRow[] = [];
  let page = await client.log({ filter: { kinds, sinceMs }, fromStart: true, limit: 1000 });
  out.push(...page.rows);
  while (page.next && out.length < 100_000) {
    page = await client.log({ filter: { kinds, sinceMs }, after: page.next, limit: 1000 });
    out.push(...page.rows);
  }
  return out;
}

/** The site the running Web cache serves, from its nodes' `webcache.start` events. */
async function servedSite(client: ControlClient): Promise<string> {
  const page = await client.log({ filter: { kinds: ['webcache.start'] }, limit: 1 });
  const site = (page.rows[0]?.details as { site?: unknown } | undefined)?.site;
  if (typeof site !== 'string') throw new UsageError('no node has started the Web cache (run mcs up --app webcache)');
  return site;
}

export interface LoadReport extends LoadResult {
  nodes: number;
  zipf: number;
  connections: number;
  hitRatio: number | null;
  /** Component recoveries (recovery.end) and node failures logged during the load. */
  recoveries: number;
  nodeFailures: number;
}

export function renderLoad(r: LoadReport): string {
  const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
  return [
    `load: ${r.durationS.toFixed(1)} s over ${r.nodes} node${r.nodes === 1 ? '' : 's'}, zipf ${r.zipf}, ${r.connections} connections`,
    `requests  ${r.requests} (${Math.round(r.requestsPerS)}/s), ${r.ok} ok, ${r.errors} errors (${r.timeouts} timeouts, ${r.non2xx} non-2xx)`,
    `cache     ${r.hits} hits, ${r.misses} misses, ${r.bypass} streamed from disk (hit ratio ${pct(r.hitRatio)})`,
    `latency   p50 ${r.latencyMs.p50} ms, p90 ${r.latencyMs.p90} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms`,
    `failures  ${r.nodeFailures} node failures, ${r.recoveries} recoveries (mcs log --kind recovery.end)`,
  ].join('\n') + '\n';
}

export const loadCommand: Command = {
  name: 'load',
  group: 'status',
  usage: '[--zipf S] [--rps N] [--duration 30s] [--concurrency C] [--site DIR]',
  summary: "drive bounded HTTP load on every node's Web cache and report hits, misses, latencies and recoveries",
  flags: [
    { name: 'zipf', kind: 'string', value: 'S', help: 'Zipf exponent of file popularity (default 0.9)' },
    { name: 'rps', kind: 'string', value: 'N', help: 'requests per second over all nodes (default: as fast as they answer)' },
    { name: 'duration', kind: 'string', value: 'T', help: 'how long (default 30s; at most 60m)' },
    { name: 'concurrency', kind: 'string', value: 'C', help: 'open connections in all (default 16)' },
    { name: 'site', kind: 'string', value: 'DIR', help: "the site's directory, for its file list (default: the one the nodes serve)" },
  ],
  async run(ctx, args) {
    const zipf = zipfFlag(args);
    const durationS = durationFlag(args);
    const rps = integerFlag(args, 'rps', { min: 1, max: 1_000_000 });
    const connections = integerFlag(args, 'concurrency', { min: 1, max: 1024 }) ?? 16;
    const client = await ctx.client();
    const nodes = await client.nodes();
    const urls = nodes.flatMap((n) => (n.state === 'up' ? (n.endpoints ?? []) : []).filter((e) => e.app === WEBCACHE_APP).map((e) => e.url));
    if (!urls.length) throw new UsageError('no node publishes a Web cache endpoint (run mcs up --app webcache)');
    const site = stringFlag(args, 'site') ?? (await servedSite(client));
    if (!existsSync(site)) throw new UsageError(`--site: ${site} does not exist`);
    const files = siteFiles(site);
    if (!ctx.json) ctx.note(`loading ${urls.length} Web servers for ${durationS} s (Ctrl-C stops early)...`);
    const startedMs = Date.now();
    const stop = new AbortController();
    void ctx.untilInterrupted().then(() => stop.abort());
    const result = await runLoad({ urls, files, zipf, durationS, connections, rps, signal: stop.signal });
    const [recoveries, failures] = await Promise.all([rowsSince(client, ['recovery.end'], startedMs), rowsSince(client, ['node.failed'], startedMs)]);
    const served = result.hits + result.misses;
    const report: LoadReport = {
      ...result,
      nodes: urls.length,
      zipf,
      connections: Math.max(connections, urls.length),
      hitRatio: served ? result.hits / served : null,
      recoveries: recoveries.length,
      nodeFailures: failures.length,
    };
    await (ctx.json ? ctx.printJson(report) : ctx.write(renderLoad(report)));
  },
};
