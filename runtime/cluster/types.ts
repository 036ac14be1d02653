// What a running multicomputer offers the layers above it (the control API, the
// CLI, tests and benchmarks). The supervisor owns the GSM, the node processes,
// membership and the event log; everything here is a view or an operator action.
import type { DebuggerService } from '../debugger/service';
import type { Gsm } from '../gsm/gsm';
import type { EventQuery } from '../log/query';
import type { EventStore } from '../log/store';
import type { Namespace } from '../objects/namespace';
import type { RestartMode } from './restart-policy';
import type { ThreadView } from '../nodes/threads';

export type NodeState = 'starting' | 'up' | 'suspect' | 'stopped' | 'failed' | 'left';

export interface NodeView {
  id: number;
  state: NodeState;
  pid: number | null;
  incarnation: number;
  /** Time since the node's application thread last beat (null before the first beat or once failed). */
  heartbeatAgeMs: number | null;
  joinedGeneration: number | null;
  gsmHousedBytes: number;
  gsmUsedBytes: number;
  contributionFailed: boolean;
  apps: string[];
  /**
   * The failure detector's suspicion of a running node (phi: 0 beating on time,
   * failed at 8), null when it is not watched; and the evidence behind it.
   */
  suspicion: number | null;
  /** The heartbeat interval the detector has learned for this node. */
  expectedIntervalMs: number | null;
  /** The silence after which it would be failed now (grows with irregular beats and a starved observer). */
  deadlineMs: number | null;
  /** How late the detector's own last check was (a starved or paused observer). */
  detectorLagMs: number;
  /** Restarts the restart policy made of this slot, and whether it gave up (a crash loop). */
  restarts: number;
  restartGaveUp: boolean;
  /** Its threads, read from its thread table in GSM (running nodes only). */
  threads?: ThreadView[];
  /** URLs the node's apps published (e.g. the Web cache's HTTP server), latest per app. */
  endpoints: { app: string; url: string }[];
}

export interface GenerationRecord {
  generation: number;
  members: number[];
  /** Why it was installed: "start", "join 2", "fail 1 (SIGKILL)", "fail 3 (hung 312 ms)", "leave 0". */
  cause: string;
  atMs: number;
}

export interface MulticomputerOptions {
  /** Names the multicomputer, its GSM object (/mcs-<name>) and its state directory. */
  name: string;
  /** Where the event log lives ($MCS_HOME/<name>). */
  stateDir: string;
  nodes: number;
  /** Each node's GSM contribution in MiB. */
  gsmMb: number;
  apps: string[];
  /** Per-app configuration by app name, passed to every node as JSON (each app validates its own). */
  appConfig?: Record<string, unknown>;
  heartbeatMs?: number;
  /** Heartbeat timeout; default 2.5 heartbeat periods. */
  heartbeatTimeoutMs?: number;
  /** Whether failed nodes come back by themselves (default on-failure). */
  restart?: RestartMode;
  /** Run the debugger service and a debug agent in every node (default true). */
  debugger?: boolean;
  /** A debugger client that has not polled for this long has gone away (default 5000 ms). */
  debugSessionLeaseMs?: number;
}

export type ChangeListener = () => void;

export interface Multicomputer {
  readonly name: string;
  readonly gsm: Gsm;
  /** An observer's view of the namespace (no node identity: it opens nothing). */
  readonly namespace: Namespace;
  readonly store: EventStore;
  readonly query: EventQuery;
  readonly startedAtMs: number;
  /** CLOCK_MONOTONIC ns at start: cluster time is measured from here. */
  readonly startedAtNs: number;
  readonly heartbeatPeriodMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly restartPolicy: RestartMode;
  /** The distributed debugger's service (paper §5.3), when it runs. */
  readonly debugger?: DebuggerService;

  nodes(): NodeView[];
  generation(): number;
  members(): number[];
  generations(): GenerationRecord[];

  /** SIGKILL: an OS crash of the node. Resolves once the failure has been handled. */
  killNode(node: number): Promise<void>;
  /**
   * Ends worker thread `name` of the node abruptly, at once or (holding) right after
   * it next acquires a global mutex; resolves with its tid once it has ended.
   */
  killThread(node: number, name: string, holding: boolean): Promise<{ tid: number }>;
  /** SIGSTOP: a hang. The membership service will fence it after the heartbeat timeout. */
  stopNode(node: number): void;
  /** SIGCONT: only useful before the node has been declared failed. */
  contNode(node: number): void;
  /** Kills the node if it runs and starts a new incarnation in its slot. */
  restartNode(node: number): Promise<void>;
  /** Starts a node in the first free slot; resolves with its id once it is up. */
  addNode(): Promise<number>;
  /** Marks a node's whole contribution, or a GSM range, failed memory. */
  failMemory(target: { node: number } | { offset: number; length: number }): Promise<void>;
  /** Operator force-release: the mutex becomes ABANDONED for its next locker. */
  releaseMutex(target: string): Promise<void>;
  signalEvent(target: string): Promise<void>;
  resetEvent(target: string): Promise<void>;

  /** Sets whether failed nodes come back by themselves. */
  setRestartPolicy(mode: RestartMode): void;
  /** The failure detector's view of itself: how late its last check was, its health multiplier, checks and stalls seen. */
  detectorHealth(): { detectorLagMs: number; localHealth: number; checks: number; stalls: number };

  /** Called (coalesced) whenever node or membership state changes. */
  onChange(listener: ChangeListener): () => void;
  stop(): Promise<void>;
}
