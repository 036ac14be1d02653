// Bounded loopback load on the Web cache: autocannon (keep-alive connections,
// optional overall rate, HdrHistogram latencies) spread over every node's URL,
// each request's path drawn from a Zipf distribution over the site's files in
// rank order. Responses are classified by the server's X-Cache header.
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import autocannon from 'autocannon';
import { siteManifest } from './sample-site';
import { zipfSampler } from './zipf';

// autocannon 9 appends every response body to a string, whether or not anything
// reads it (mcollina/autocannon#485). This load reads no body (the X-Cache header
// says what it needs) and the site has files of 65 MB: in a profile of the
// recovery benchmark that string building was 6.6 s of the 16 s of CPU its main
// thread used (supervisor included), more than any one node used, on a 2-core
// machine it shares with the nodes. The queue keeps byte counts and timing either way.
const bodyQueue = createRequire(import.meta.url)('autocannon/lib/pipelinedRequestsQueue.js') as { prototype: { addBody(data: unknown): void } };
bodyQueue.prototype.addBody = () => undefined;

export interface LoadOptions {
  /** Base URLs, one per node (http://127.0.0.1:port). */
  urls: string[];
  /** Site-relative paths, most popular first. */
  files: string[];
  zipf: number;
  durationS: number;
  connections: number;
  /** Requests per second over all connections; undefined: as fast as the servers answer. */
  rps?: number;
  seed?: number;
  /** A request unanswered this long counts as a timeout (autocannon then reconnects). */
  timeoutS?: number;
  /** Stops early (the load is bounded by duration either way). */
  signal?: AbortSignal;
}

export interface LoadResult {
  requests: number;
  ok: number;
  hits: number;
  misses: number;
  /** Served from disk without the cache (larger than it). */
  bypass: number;
  /** Non-2xx answers, connection errors and timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  requestsPerS: number;
  bytes: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  durationS: number;
}

/** A site's files in rank order: the generated manifest's order, else sorted paths. */
export function siteFiles(site: string): string[] {
  const m = siteManifest(site);
  if (m) return m.files.map((f) => f.path);
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(full);
      if (st.isDirectory()) walk(full, r);
      else if (st.isFile()) out.push(r);
    }
  };
  walk(site, '');
  return out;
}

export const encodePath = (rel: string) => '/' + rel.split('/').map(encodeURIComponent).join('/');

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (!o.urls.length) throw new Error('no Web cache endpoints to load');
  if (!o.files.length) throw new Error('the site has no files');
  const pick = zipfSampler(o.files.length, o.zipf, o.seed ?? 1);
  const paths = o.files.map(encodePath);
  const counts = { hits: 0, misses: 0, bypass: 0 };
  // Without a callback autocannon returns its tracker made thenable (stop() included); the typings show only the promise.
  const instance = autocannon({
    // autocannon spreads its connections over several URLs; its typings only know one.
    url: o.urls as unknown as string,
    connections: Math.max(o.connections, o.urls.length),
    duration: o.durationS,
    overallRate: o.rps,
    timeout: o.timeoutS ?? 10,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: paths[pick()]! }),
        onResponse: (_status, _body, _ctx, headers) => {
          // autocannon keeps the server's spelling of header names (X-Cache).
          const h = (headers ?? {}) as Record<string, string>;
          const x = h['X-Cache'] ?? h['x-cache'];
          if (x === 'hit') counts.hits++;
          else if (x === 'miss') counts.misses++;
          else if (x === 'bypass') counts.bypass++;
        },
      },
    ],
  }) as unknown as Promise<autocannon.Result> & { stop(): void };
  const stop = () => instance.stop();
  o.signal?.addEventListener('abort', stop, { once: true });
  const r = await instance;
  o.signal?.removeEventListener('abort', stop);
  const ok = r['2xx'];
  return {
    requests: r.requests.total,
    ok,
    ...counts,
    errors: r.errors + r.timeouts + r.non2xx,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    requestsPerS: r.duration > 0 ? r.requests.total / r.duration : 0,
    bytes: r.throughput.total,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    durationS: r.duration,
  };
}
