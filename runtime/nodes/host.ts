// How a node process is started: the one seam between the runtime and whatever
// hosts it. Headless (CLI, tests, benchmarks) a node is a plain Node child
// process (host-node.ts); in the desktop app it is an Electron utility process
// (host-electron.ts, the only Electron-aware file in runtime/). Signals are sent
// with process.kill by pid either way: SIGKILL is an OS crash, SIGSTOP a hang.
export interface NodeProcess {
  readonly pid: number;
  /** Lines the node wrote to stderr (its own diagnostics), for the event log. */
  onStderr(listener: (line: string) => void): void;
  /** Exactly once, however the process ended. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

export interface NodeHost {
  readonly kind: 'node' | 'electron';
  spawn(args: string[]): NodeProcess;
}

/** The node entry point's arguments, shared by both hosts and node-main. */
export interface NodeArgs {
  gsm: string;
  node: number;
  incarnation: number;
  heartbeatMs: number;
  supervisorPid: number;
  apps: string[];
  /** The supervisor's debugger service (runtime/debugger/service.ts), if it runs one. */
  debugSocket?: string;
}

export function encodeNodeArgs(a: NodeArgs): string[] {
  return [
    `--gsm=${a.gsm}`,
    `--node=${a.node}`,
    `--incarnation=${a.incarnation}`,
    `--heartbeat-ms=${a.heartbeatMs}`,
    `--supervisor-pid=${a.supervisorPid}`,
    `--apps=${a.apps.join(',')}`,
    ...(a.debugSocket ? [`--debug-socket=${a.debugSocket}`] : []),
  ];
}

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
    debugSocket: argv.find((a) => a.startsWith('--debug-socket='))?.slice('--debug-socket='.length),
  };
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
