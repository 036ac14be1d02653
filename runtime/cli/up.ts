// `mcs up` runs a multicomputer in the foreground: the supervisor (runtime/cluster)
// with the control server in front of it, a live status line, and an orderly
// stop on SIGINT/SIGTERM or `mcs down`. `mcs down` asks a running one to stop and
// waits until it has.
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import type { Multicomputer, MulticomputerOptions } from '../cluster/types';
import { ControlError, methodNames, type ClusterStatus, type ControlBackend, type NodeInfo } from '../control/api';
import { controlFilePath, isProcessAlive, readConnectionFile } from '../control/connection-file';
import { startControlServer, type ControlServer, type ControlServerOptions } from '../control/server';
import { ensureStateDir } from '../control/state-dir';
import { integerFlag, listFlag, stringFlag, type FlagSpec, type ParsedArgs } from './args';
import type { Command, Context } from './context';
import { formatBytes, formatNodeSet, plural } from './format';
import { WEBCACHE_APP, webcacheConfig, webcacheFlags } from './webcache-options';

/** What `startMulticomputer` in runtime/cluster/supervisor.ts takes (declared by the cluster layer). */
export type { MulticomputerOptions };

/**
 * A stand-in supervisor (MCS_SUPERVISOR_MODULE, tests) may return a ready-made
 * backend and its stop instead of a Multicomputer.
 */
export interface RunningMulticomputer {
  backend: ControlBackend;
  stop(): Promise<void>;
}

type StartMulticomputer = (options: MulticomputerOptions) => Promise<Multicomputer | RunningMulticomputer>;

/**
 * The real supervisor's Multicomputer behind the control API, or a stand-in's own
 * backend. The adapter is loaded here, not at the top: it pulls in the GSM's native
 * module, which no other command needs.
 */
export async function controlledMulticomputer(
  started: Multicomputer | RunningMulticomputer,
): Promise<RunningMulticomputer & { mc: Multicomputer | null }> {
  if ('backend' in started && started.backend) return { backend: started.backend, stop: () => started.stop(), mc: null };
  const mc = started as Multicomputer;
  const { createControlBackend } = await import('../control/backend');
  return { backend: createControlBackend(mc), stop: () => mc.stop(), mc };
}

const SUPERVISOR = new URL('../cluster/supervisor.ts', import.meta.url);

/**
 * Loaded on demand so that every other command works without (and before) the
 * supervisor. MCS_SUPERVISOR_MODULE substitutes another implementation (tests).
 */
async function loadSupervisor(env: NodeJS.ProcessEnv): Promise<StartMulticomputer> {
  const override = env.MCS_SUPERVISOR_MODULE;
  const url = override ? pathToFileURL(path.resolve(override)) : SUPERVISOR;
  const shown = override ?? 'runtime/cluster/supervisor.ts';
  if (!existsSync(fileURLToPath(url))) {
    throw new ControlError('unavailable', `the supervisor is not available: ${shown} does not exist`);
  }
  let mod: { startMulticomputer?: unknown };
  try {
    mod = (await import(url.href)) as { startMulticomputer?: unknown };
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new ControlError('internal', `cannot load the supervisor (${shown}): ${message}`);
  }
  if (typeof mod.startMulticomputer !== 'function') {
    throw new ControlError('internal', `${shown} does not export startMulticomputer()`);
  }
  return mod.startMulticomputer as StartMulticomputer;
}

function missingMethods(backend: ControlBackend): string[] {
  const optional = new Set(['waitGraph', 'shutdown']);
  const b = backend as unknown as Record<string, unknown>;
  return [...methodNames.filter((m) => !optional.has(m)), 'subscribeStatus', 'subscribeLog'].filter((m) => typeof b[m] !== 'function');
}

/** The backend with `shutdown` answered by us: the supervisor does not own the control server or this process. */
function withShutdown(backend: ControlBackend, requestStop: () => void): ControlBackend {
  return new Proxy(backend, {
    get(target, prop) {
      if (prop === 'shutdown') {
        return () => {
          // After the answer has been sent: stopping closes the server that carries it.
          setImmediate(requestStop);
          return { stopping: true as const };
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function gsmSummary(options: MulticomputerOptions, mc: Multicomputer | null): string {
  const contribution = formatBytes(options.gsmMb * 1024 * 1024);
  if (!mc) return `${contribution} GSM`;
  return `${contribution} GSM contributed by each (${mc.gsm.name}, ${formatBytes(mc.gsm.layout.totalBytes)} mapped)`;
}

export function statusLine(s: ClusterStatus, nodes: readonly NodeInfo[]): string {
  const up = nodes.filter((n) => n.state === 'up').length;
  return `${s.name}: generation ${s.generation}, members ${formatNodeSet(s.members)}, ${up}/${plural(nodes.length, 'node')} up, ${plural(s.logRows, 'log row')}`;
}

/** The flags `mcs up` and `mcs console` share: what multicomputer to run. */
export const multicomputerFlags: FlagSpec[] = [
  { name: 'nodes', kind: 'string', value: 'N', help: 'how many nodes to start (default 4)' },
  { name: 'gsm-mb', kind: 'string', value: 'M', help: "each node's GSM contribution in MiB (default 64)" },
  { name: 'app', kind: 'list', value: 'NAME|PATH', help: 'a global application to run on every node: a bundled one by name or a module path (repeatable)' },
  { name: 'heartbeat-ms', kind: 'string', value: 'T', help: "heartbeat period in ms (default: the supervisor's)" },
  { name: 'restart', kind: 'string', value: 'POLICY', help: 'on-failure (default): failed nodes come back by themselves; never: they stay down' },
  ...webcacheFlags,
];

export const upCommand: Command = {
  name: 'up',
  group: 'lifecycle',
  usage: '[--nodes N] [--gsm-mb M] [--app NAME|PATH]... [--heartbeat-ms T] [--restart never|on-failure] [--static DIR] [--cache-mode MODE] [--site DIR] [--cache-mb N] [--http-port P]',
  summary: 'run a multicomputer in the foreground until interrupted or `mcs down`',
  flags: [
    ...multicomputerFlags,
    { name: 'static', kind: 'string', value: 'DIR', help: 'serve this directory (the built renderer) at / for a browser console' },
  ],
  async run(ctx, args) {
    const staticDir = stringFlag(args, 'static');
    if (staticDir !== undefined && !existsSync(path.join(staticDir, 'index.html'))) {
      throw new ControlError('bad-request', `--static: ${staticDir} has no index.html`);
    }
    await runInForeground(ctx, args, {
      server: { staticDir },
      announce: (server) => (staticDir ? `console: ${server.url}/\n` : ''),
    });
  },
};

export interface ForegroundOptions {
  /** What the control server serves besides the API (the renderer, the terminal). */
  server: Pick<ControlServerOptions, 'staticDir' | 'sockets'>;
  /** Lines printed after the control URL: where to point a browser. */
  announce(server: ControlServer): string;
  /** On a terminal, what pressing Enter prints (a fresh one-time login link). */
  onEnter?(server: ControlServer): string;
}

function onEnter(ctx: Context, listener: () => void): () => void {
  const rl = createInterface({ input: ctx.io.stdin, terminal: false });
  rl.on('line', listener);
  return () => rl.close();
}

/**
 * Runs a multicomputer with its control server in the foreground until Ctrl-C,
 * SIGTERM or `mcs down`, then stops it in order: the nodes first, the server last.
 */
export async function runInForeground(ctx: Context, args: ParsedArgs, run: ForegroundOptions): Promise<void> {
  const options: MulticomputerOptions = {
    name: ctx.state.name,
    stateDir: ctx.state.dir,
    nodes: integerFlag(args, 'nodes', { min: 1, max: 256 }) ?? 4,
    gsmMb: integerFlag(args, 'gsm-mb', { min: 1, max: 65536 }) ?? 64,
    // A bundled app by name, or the developer's own module by path (nodes load it by absolute path).
    apps: (listFlag(args, 'app') ?? []).map((a) => (a.includes('/') || a.endsWith('.ts') || a.endsWith('.js') ? path.resolve(a) : a)),
    heartbeatMs: integerFlag(args, 'heartbeat-ms', { min: 1, max: 60_000 }),
    restart: restartFlag(stringFlag(args, 'restart')),
  };
  ensureStateDir(ctx.state.dir);
  const existing = readRunning(ctx.state.dir);
  if (existing) {
    throw new ControlError('conflict', `multicomputer '${ctx.state.name}' is already running (pid ${existing.pid}, ${existing.url}); stop it with mcs down`);
  }
  const webcache = await webcacheConfig(args, {
    apps: options.apps,
    stateDir: ctx.state.dir,
    gsmMb: options.gsmMb,
    cwd: process.cwd(),
    note: (t) => ctx.note(t),
  });
  if (webcache) options.appConfig = { [WEBCACHE_APP]: webcache };
  // Listen for Ctrl-C before starting anything or printing the control URL (a
  // script may interrupt as soon as it reads it): an interrupt during start-up
  // becomes an orderly stop once the start has finished.
  const interrupted = ctx.untilInterrupted();
  const start = await loadSupervisor(ctx.io.env);
  const mc = await controlledMulticomputer(await start(options));
  const missing = missingMethods(mc.backend);
  if (missing.length) ctx.note(`warning: the supervisor's backend does not implement ${missing.join(', ')}`);

  let requestStop: (reason: string) => void = () => {};
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve));
  let server: ControlServer;
  try {
    server = await startControlServer(withShutdown(mc.backend, () => requestStop('mcs down')), {
      stateDir: ctx.state.dir,
      ...run.server,
    });
  } catch (e) {
    await mc.stop().catch(() => {});
    throw e;
  }
  await ctx.write(
    `multicomputer '${options.name}' is up: ${plural(options.nodes, 'node')}, ${gsmSummary(options, mc.mc)}\n` +
      `control: ${server.url} (token in ${controlFilePath(ctx.state.dir)})\n` +
      run.announce(server),
  );
  if (webcache) await printEndpoints(ctx, mc.backend, `web cache (${webcache.mode}, ${webcache.cacheMb} MiB per node)`);

  const stopTicker = startStatusTicker(ctx, mc.backend);
  const stopListening = run.onEnter && ctx.io.stdin.isTTY ? onEnter(ctx, () => ctx.io.stdout.write(`\n${run.onEnter!(server)}`)) : () => {};
  const reason = await Promise.race([interrupted, stopRequested]);
  stopTicker();
  stopListening();
  // A second interrupt while stopping means "now": the OS reclaims the nodes' processes and GSM.
  const force = () => {
    ctx.note('mcs: stopping forcibly');
    process.exit(130);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await ctx.write(`stopping (${reason})...\n`);
  let failure: unknown = null;
  // The multicomputer stops first and the server last, so consoles watch the nodes leave;
  // control.json disappears only when everything is down (`mcs down` waits for that).
  try {
    await mc.stop();
  } catch (e) {
    failure = e;
  }
  await server.close();
  process.off('SIGINT', force);
  process.off('SIGTERM', force);
  if (failure) throw failure;
  await ctx.write(`multicomputer '${options.name}' stopped\n`);
}

function restartFlag(v: string | undefined): MulticomputerOptions['restart'] {
  if (v === undefined || v === 'never' || v === 'on-failure') return v;
  throw new ControlError('bad-request', `--restart: expected never or on-failure, not "${v}"`);
}

/** Each node's published endpoints, once every running node has published (or after a few seconds). */
async function printEndpoints(ctx: Context, backend: ControlBackend, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let nodes = await backend.nodes({});
  // A backend without endpoints (one that predates them) has nothing to wait for.
  while (nodes.some((n) => n.state === 'up' && n.endpoints && !n.endpoints.length) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    nodes = await backend.nodes({});
  }
  const lines = nodes.flatMap((n) => (n.endpoints ?? []).map((e) => `  node ${n.id}: ${e.url}/`));
  await ctx.write(`${what}:\n${lines.length ? lines.join('\n') : '  no node published an endpoint (see mcs log --kind app.error)'}\n`);
}

/** One line, rewritten every second on a terminal; otherwise a plain line on change or every 10 s. */
function startStatusTicker(ctx: Context, backend: ControlBackend): () => void {
  const tty = !!ctx.io.stdout.isTTY;
  let lastKey = '';
  let lastPrint = 0;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const [status, nodes] = await Promise.all([backend.status({}), backend.nodes({})]);
      const line = statusLine(status, nodes);
      if (tty) {
        ctx.io.stdout.write(`\r\x1b[2K${line}`);
      } else {
        const key = `${status.generation}|${status.members.join(',')}|${nodes.map((n) => n.state).join(',')}`;
        if (key !== lastKey || Date.now() - lastPrint >= 10_000) {
          ctx.io.stdout.write(line + '\n');
          lastKey = key;
          lastPrint = Date.now();
        }
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      ctx.io.stdout.write(tty ? `\r\x1b[2Kstatus unavailable: ${message}` : `status unavailable: ${message}\n`);
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), 1000);
  return () => {
    clearInterval(timer);
    if (tty) ctx.io.stdout.write('\n');
  };
}

function readRunning(stateDir: string): { pid: number; url: string; token: string } | null {
  try {
    const info = readConnectionFile(stateDir);
    return info && isProcessAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

export const downCommand: Command = {
  name: 'down',
  group: 'lifecycle',
  usage: '',
  summary: 'stop the running multicomputer and wait until it is down',
  async run(ctx) {
    const running = readRunning(ctx.state.dir);
    await ctx.call('shutdown', {}, async (client) => {
      const s = await client.status();
      return `Shut down multicomputer '${s.name}' (${plural(s.nodeCount, 'node')}, supervisor pid ${s.supervisorPid})?`;
    });
    if (!ctx.json) await ctx.write(`stopping multicomputer '${ctx.state.name}'...\n`);
    if (running) await waitUntilDown(ctx.state.dir, running.token);
    await (ctx.json ? ctx.printJson({ stopped: true }) : ctx.write(`multicomputer '${ctx.state.name}' stopped\n`));
  },
};

/** Down means: control.json gone (or replaced by another supervisor's), or its process gone. */
async function waitUntilDown(stateDir: string, token: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let info;
    try {
      info = readConnectionFile(stateDir);
    } catch {
      info = null;
    }
    if (!info || info.token !== token || !isProcessAlive(info.pid)) return;
    if (Date.now() > deadline) {
      throw new ControlError('unavailable', `the supervisor (pid ${info.pid}) is still running ${timeoutMs / 1000}s after being asked to stop`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
