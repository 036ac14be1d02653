// What a global application running on a node gets (paper §2.3: a global
// application is a set of processes, one or more per node, cooperating through
// global resources). Apps live in runtime/apps/ and export `start(ctx)`.
import type { GlobalObjects } from '../objects/global-objects';
import type { AppThread } from './app-threads';
import type { ThreadView } from './threads';

export interface AppContext {
  node: number;
  incarnation: number;
  objects: GlobalObjects;
  /** Appends to this node's event log ring (never lost if the node dies). */
  log(kind: string, object: string | null, details?: unknown): void;
  /** The members of the installed membership generation. */
  members(): number[];
  /** Called after each membership generation this node installs. */
  onGeneration(listener: (generation: number, members: number[]) => void): void;
  /**
   * This app's configuration as given to the multicomputer (MulticomputerOptions.appConfig[name]),
   * undefined if none: JSON that crossed a process boundary, so the app validates it.
   */
  config?: unknown;
  /**
   * Publishes a URL this app serves on this node (shown by `mcs status` and the API as
   * the node's endpoint). Absent where nothing collects endpoints (worker threads).
   */
  publishEndpoint?(url: string): void;
  /** Aborted when the node is leaving: stop timers, finish in-flight work. */
  signal: AbortSignal;
  /**
   * Starts a named worker thread running `module`'s `run(ctx: ThreadContext)`:
   * its own GSM mapping bound to this node and incarnation, this node's event
   * log, members and generation events. Listed by `mcs nodes` (name, tid, state);
   * mutexes it still holds when it ends are ABANDONED to their next locker.
   */
  startThread(name: string, module: string | URL, data?: unknown): AppThread;
  /** This node's threads (main and workers) as the thread table records them. */
  threads(): ThreadView[];
}

/**
 * The hardware lock (an atomic register in GSM) in which an application that serves
 * requests counts them on a node, one fetch-add each: the console reads every
 * node's register and charts requests/s (Overview). In GSM rather than in the log,
 * because a count per request would flood the log, and a register costs one atomic.
 */
export const requestCounterName = (app: string, node: number) => `${app}.requests.${node}`;

export interface RunningApp {
  stop?(): Promise<void> | void;
}

export type AppStart = (ctx: AppContext) => Promise<RunningApp> | RunningApp;
