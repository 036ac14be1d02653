// Desktop host: each node is an Electron utility process (its own OS process,
// sandboxed from the renderer, started by the main process) running the bundled
// node entry (out/main/node-entry.js, built from main/node-entry.ts). Electron's
// utilityProcess is handed in rather than imported, so this adapter runs
// unchanged under test/main's stand-in, where fork() starts a real Node child.
import { lineSplitter, type NodeHost, type NodeProcess } from './host';

/** The part of Electron's UtilityProcess a node host uses. */
export interface UtilityProcessLike {
  /** Undefined until the 'spawn' event. */
  readonly pid: number | undefined;
  readonly stderr: NodeJS.ReadableStream | null;
  once(event: 'spawn', listener: () => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
}

/** The part of Electron's `utilityProcess` module a node host uses. */
export interface UtilityProcessModule {
  fork(
    modulePath: string,
    args: string[],
    options: { stdio: ['ignore', 'ignore', 'pipe']; serviceName: string; env?: NodeJS.ProcessEnv },
  ): UtilityProcessLike;
}

export function electronNodeHost(utilityProcess: UtilityProcessModule, entryJs: string, env?: NodeJS.ProcessEnv): NodeHost {
  return {
    kind: 'electron',
    spawn(args) {
      const child = utilityProcess.fork(entryJs, args, { stdio: ['ignore', 'ignore', 'pipe'], serviceName: 'MCS node', env });
      // Subscribed at once: a node that dies young must still be reported, and
      // stderr must not fill its pipe while we wait for 'spawn'.
      let exitCode: number | null = null;
      const exitListeners: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = [];
      const early: string[] = [];
      let stderrListener: ((line: string) => void) | null = null;
      child.stderr?.on('data', lineSplitter((line) => (stderrListener ? stderrListener(line) : early.push(line))));
      return new Promise<NodeProcess>((resolve, reject) => {
        let spawned = false;
        child.once('exit', (code) => {
          exitCode = code;
          // Utility processes report an exit code only; a signal death shows as a
          // non-zero code, which the supervisor treats as a crash either way.
          for (const l of exitListeners) l(code, null);
          if (!spawned) reject(new Error(`a node utility process exited with code ${code} before it started`));
        });
        child.once('spawn', () => {
          spawned = true;
          if (child.pid === undefined) return reject(new Error('a node utility process started without a pid'));
          resolve({
            pid: child.pid,
            onStderr(listener) {
              stderrListener = listener;
              for (const line of early.splice(0)) listener(line);
            },
            onExit(listener) {
              if (exitCode !== null) listener(exitCode, null);
              else exitListeners.push(listener);
            },
          });
        });
      });
    },
  };
}
