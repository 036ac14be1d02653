// Starts the debug agent (agent-thread.ts) in a helper worker thread of this
// node process. A thread of its own, so the agent answers the supervisor while
// the node's application threads are paused; unref'd, so it never keeps a
// leaving node alive.
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { AGENT_THREAD_NAME } from './agent-names';

export interface DebugAgentOptions {
  /** The debugger service's Unix socket; its token is in `${socketPath}.token`. */
  socketPath: string;
  node: number;
  incarnation: number;
}

/**
 * `ready` settles once the agent has received the breakpoints in force (so code
 * the node runs next can hit them), or after `readyTimeoutMs` if the service is
 * slow: a debugger must never keep a node from starting.
 */
export function startDebugAgent(opts: DebugAgentOptions, readyTimeoutMs = 2000): { worker: Worker; ready: Promise<void> } {
  // The service bundles the agent into one plain-JS file (bundle.ts): loading it costs
  // a node a fraction of what the TypeScript loader would in every node's thread.
  const bundle = agentBundlePathFor(opts.socketPath);
  // Bundled itself (the desktop app), the node has the agent prebuilt beside it.
  const entry = existsSync(bundle) ? bundle : new URL(import.meta.url.endsWith('.ts') ? './agent-entry.mjs' : './debug-agent.js', import.meta.url);
  const worker = new Worker(entry, {
    name: AGENT_THREAD_NAME,
    workerData: { socketPath: opts.socketPath, tokenPath: tokenPathFor(opts.socketPath), node: opts.node, incarnation: opts.incarnation },
    // Its console would otherwise be relayed through the main thread, which may be paused.
    stdout: false,
    stderr: false,
  });
  worker.unref();
  worker.on('error', (err) => process.stderr.write(`debug agent stopped: ${err.message}\n`));
  const ready = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, readyTimeoutMs);
    worker.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { worker, ready };
}

export const tokenPathFor = (socketPath: string) => `${socketPath}.token`;
export const agentBundlePathFor = (socketPath: string) => `${socketPath}.agent.mjs`;
/** Present while the debugger has breakpoints: a starting node then waits for its agent before running apps. */
export const armedPathFor = (socketPath: string) => `${socketPath}.armed`;
