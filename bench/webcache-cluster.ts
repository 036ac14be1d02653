// A multicomputer running the Web cache, for the webcache and recovery benchmarks
// and the fault campaign: the site, the mode and the cache memory are chosen by
// the caller; endpoints are read from the supervisor's node views.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Supervisor, startMulticomputer } from '../runtime/cluster/supervisor';
import type { CacheMode } from '../runtime/apps/webcache/cache-api';
import { availableModes } from '../runtime/apps/webcache/modes';
import { generateSampleSite, type SampleSiteOptions, type SiteManifest } from '../runtime/apps/webcache/sample-site';

export interface WebcacheCluster {
  mc: Supervisor;
  site: string;
  manifest: SiteManifest;
  /** node id → base URL of every running node that has published its server. */
  endpoints(): Map<number, string>;
  /** Resolves once every running node (or these) has published its server. */
  waitServing(nodes?: number[], timeoutMs?: number): Promise<Map<number, string>>;
  stop(): Promise<void>;
}

/** The benchmark site: generated once per options in the temp dir and reused by later runs. */
export async function benchSite(o: SampleSiteOptions = {}): Promise<{ site: string; manifest: SiteManifest }> {
  const site = path.join(tmpdir(), `mcs-bench-site-${o.seed ?? 1}-${o.files ?? 1500}-${o.largeBytes ?? 'd'}-${o.largeFiles ?? 2}`);
  return { site, manifest: await generateSampleSite(site, o) };
}

export const modeAvailable = (mode: CacheMode) => availableModes().includes(mode);

export async function startWebcacheCluster(o: {
  name: string;
  nodes: number;
  mode: CacheMode;
  cacheMb: number;
  gsmMb: number;
  site: string;
  manifest: SiteManifest;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  /** Extra apps (absolute paths) and their config. */
  extraApps?: { app: string; config?: unknown }[];
  /** false: no debugger service and no debug agents (the detached baseline). */
  debugger?: boolean;
}): Promise<WebcacheCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), `mcs-${o.name}-`));
  const appConfig: Record<string, unknown> = { webcache: { mode: o.mode, site: o.site, cacheMb: o.cacheMb } };
  for (const e of o.extraApps ?? []) if (e.config !== undefined) appConfig[e.app] = e.config;
  const mc = await startMulticomputer({
    name: `${o.name}-${process.pid}`.slice(0, 32),
    stateDir: dir,
    nodes: o.nodes,
    gsmMb: o.gsmMb,
    apps: ['webcache', ...(o.extraApps ?? []).map((e) => e.app)],
    appConfig,
    heartbeatMs: o.heartbeatMs ?? 100,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    // The benchmarks and the campaign restart killed nodes themselves, when they choose.
    restart: 'never',
    debugger: o.debugger,
  });
  const endpoints = () => {
    const out = new Map<number, string>();
    for (const n of mc.nodes()) {
      const url = n.state === 'up' || n.state === 'suspect' ? n.endpoints.find((e) => e.app === 'webcache')?.url : undefined;
      if (url) out.set(n.id, url);
    }
    return out;
  };
  return {
    mc,
    site: o.site,
    manifest: o.manifest,
    endpoints,
    async waitServing(nodes, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const want = nodes ?? mc.nodes().filter((n) => n.state === 'up' || n.state === 'suspect' || n.state === 'starting').map((n) => n.id);
        const eps = endpoints();
        if (want.length && want.every((id) => eps.has(id))) return eps;
        if (Date.now() > deadline) throw new Error(`nodes ${want.filter((id) => !eps.has(id)).join(', ')} did not publish a Web server within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      await mc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
