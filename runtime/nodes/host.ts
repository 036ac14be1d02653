// How a node process is started: the one seam between the runtime and whatever
// hosts it. Headless (CLI, tests, benchmarks) a node is a plain Node child
// process (host-node.ts); in the desktop app it is an Electron utility process
// (host-electron.ts, the only Electron-aware file in runtime/). Signals are sent
// with process.kill by pid either way: SIGKILL is an OS crash, SIGSTOP a hang.
import { z } from 'zod';

export interface NodeProcess {
  readonly pid: number;
  /** Lines the node wrote to stderr (its own diagnostics), for the event log. */
  onStderr(listener: (line: string) => void): void;
  /** Exactly once, however the process ended. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

export interface NodeHost {
  readonly kind: 'node' | 'electron';
  /** A promise where the pid is known only once the process has started (Electron's utility processes). */
  spawn(args: string[]): NodeProcess | Promise<NodeProcess>;
}

/** The node entry point's arguments, shared by both hosts and node-main. */
export interface NodeArgs {
  gsm: string;
  node: number;
  incarnation: number;
  heartbeatMs: number;
  supervisorPid: number;
  apps: string[];
  /** Per-app configuration by app name (JSON). */
  appConfig?: Record<string, unknown>;
  /** The supervisor's debugger service (runtime/debugger/service.ts), if it runs one. */
  debugSocket?: string;
}

/** Event kind a node logs to publish an app's endpoint; the supervisor keeps the latest per app. */
export const APP_ENDPOINT_EVENT = 'app.endpoint';

export function encodeNodeArgs(a: NodeArgs): string[] {
  return [
    `--gsm=${a.gsm}`,
    `--node=${a.node}`,
    `--incarnation=${a.incarnation}`,
    `--heartbeat-ms=${a.heartbeatMs}`,
    `--supervisor-pid=${a.supervisorPid}`,
    `--apps=${a.apps.join(',')}`,
    ...(a.appConfig && Object.keys(a.appConfig).length ? [`--app-config=${JSON.stringify(a.appConfig)}`] : []),
    ...(a.debugSocket ? [`--debug-socket=${a.debugSocket}`] : []),
  ];
}

const AppConfigArg = z.record(z.string(), z.unknown());

export function decodeNodeArgs(argv: string[]): NodeArgs {
  const get = (k: string) => {
    const hit = argv.find((a) => a.startsWith(`--${k}=`));
    if (hit === undefined) throw new Error(`node: missing --${k}`);
    return hit.slice(k.length + 3);
  };
  const num = (k: string) => {
    const v = Number(get(k));
    if (!Number.isInteger(v) || v < 0) throw new Error(`node: --${k} must be a non-negative integer`);
    return v;
  };
  return {
    gsm: get('gsm'),
    node: num('node'),
    incarnation: num('incarnation'),
    heartbeatMs: num('heartbeat-ms'),
    supervisorPid: num('supervisor-pid'),
    apps: get('apps').split(',').filter(Boolean),
    appConfig: appConfigArg(argv.find((a) => a.startsWith('--app-config='))),
    debugSocket: argv.find((a) => a.startsWith('--debug-socket='))?.slice('--debug-socket='.length),
  };
}

function appConfigArg(arg: string | undefined): Record<string, unknown> {
  if (arg === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(arg.slice('--app-config='.length));
  } catch {
    throw new Error('node: --app-config is not JSON');
  }
  const parsed = AppConfigArg.safeParse(json);
  if (!parsed.success) throw new Error('node: --app-config must be an object keyed by app name');
  return parsed.data;
}

export function lineSplitter(listener: (line: string) => void): (chunk: Buffer | string) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString();
    const lines = rest.split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) listener(l);
  };
}
