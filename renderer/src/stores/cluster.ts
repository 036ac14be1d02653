// The live picture of the multicomputer: status and nodes as pushed by
// subscribeStatus (never polled), plus the short history the Overview charts
// draw. Object lists live in stores/objects.ts and are fetched per view.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ClusterStatus, ControlError, NodeInfo, StatusUpdate, Unsubscribe } from '../../../runtime/control/api';
import { connect } from '../api/connect';

/** Samples kept for the charts: at most one push per 250 ms, so about 5 minutes. */
export const HISTORY_SAMPLES = 1200;

export interface StatusSample {
  atMs: number;
  generation: number;
  memoryFailures: number;
  members: number;
  /** Heartbeat age per node id (null: no beat / not running). */
  heartbeatAgeMs: Map<number, number | null>;
  /** Requests counted per node id, with the incarnation that counted them (nodes whose apps count requests). */
  requests: Map<number, { incarnation: number; count: number }>;
}

/**
 * Requests per second per node between consecutive samples; a node that restarted
 * counts from its new incarnation's start, and a node not counting shows no value.
 */
export function requestRates(history: readonly StatusSample[], node: number): (number | null)[] {
  return history.map((s, i) => {
    const now = s.requests.get(node);
    const before = i > 0 ? history[i - 1]!.requests.get(node) : undefined;
    if (!now || !before) return null;
    const dt = (s.atMs - history[i - 1]!.atMs) / 1000;
    if (dt <= 0) return null;
    const delta = now.incarnation === before.incarnation ? now.count - before.count : now.count;
    return Math.max(0, delta) / dt;
  });
}

export type Health = 'ok' | 'degraded' | 'down' | 'unknown';

/** Health of the multicomputer as an operator reads it: every node up, some not, or none. */
export function clusterHealth(nodes: readonly NodeInfo[]): Health {
  if (nodes.length === 0) return 'unknown';
  const up = nodes.filter((n) => n.state === 'up').length;
  if (up === 0) return 'down';
  return up === nodes.length ? 'ok' : 'degraded';
}

/** A recovery has started: the component SDK logs recovery.start (recovery.begin is accepted too). */
export function isRecoveryStart(kind: string): boolean {
  return kind === 'recovery.start' || kind === 'recovery.begin';
}

export const useClusterStore = defineStore('cluster', () => {
  const status = shallowRef<ClusterStatus | null>(null);
  const nodes = shallowRef<NodeInfo[]>([]);
  const connected = ref(false);
  const error = ref<string | null>(null);
  const unauthorized = ref(false);
  /** Bumped on every push: object views refetch their own list when it moves. */
  const tick = ref(0);
  const history = shallowRef<StatusSample[]>([]);
  /** Wall time each push arrived: a kill's time to the UI is measured from here in the bench. */
  const lastPushAtMs = ref(0);
  let unsubscribe: Unsubscribe | null = null;
  /** Wall times of node failures and recovery starts seen by the live log, for the Overview chart. */
  const failureTimes = shallowRef<number[]>([]);
  const recoveryTimes = shallowRef<number[]>([]);
  let unsubscribeLog: Unsubscribe | null = null;

  function apply(update: StatusUpdate, atMs = Date.now()): void {
    status.value = update.status;
    nodes.value = update.nodes;
    connected.value = true;
    error.value = null;
    lastPushAtMs.value = atMs;
    tick.value++;
    const sample: StatusSample = {
      atMs,
      generation: update.status.generation,
      memoryFailures: update.status.gsm.memoryFailures,
      members: update.status.members.length,
      heartbeatAgeMs: new Map(update.nodes.map((n) => [n.id, n.heartbeatAgeMs])),
      requests: new Map(update.nodes.flatMap((n) => (n.requests === undefined ? [] : [[n.id, { incarnation: n.incarnation, count: n.requests }] as const]))),
    };
    const h = history.value.length >= HISTORY_SAMPLES ? history.value.slice(1) : history.value.slice();
    h.push(sample);
    history.value = h;
  }

  function start(): void {
    if (unsubscribe) return;
    const { api } = connect();
    startIncidents();
    unsubscribe = api.subscribeStatus((u) => apply(u), {
      onError: (e: ControlError) => {
        connected.value = false;
        error.value = e.message;
        unauthorized.value = e.code === 'unauthorized';
        unsubscribe = null;
        // A dropped connection (server restarted, laptop slept) is retried; a refused token is not.
        if (e.code !== 'unauthorized') setTimeout(start, 2000);
      },
    });
  }

  function startIncidents(): void {
    if (unsubscribeLog) return;
    unsubscribeLog = connect().api.subscribeLog(
      { kinds: ['node.failed', 'recovery.*'] },
      (rows) => {
        const failed = rows.filter((r) => r.kind === 'node.failed').map((r) => r.wallTimeMs);
        const recovered = rows.filter((r) => isRecoveryStart(r.kind)).map((r) => r.wallTimeMs);
        if (failed.length) failureTimes.value = [...failureTimes.value, ...failed].slice(-1000);
        if (recovered.length) recoveryTimes.value = [...recoveryTimes.value, ...recovered].slice(-1000);
      },
      { onError: () => (unsubscribeLog = null) },
    );
  }

  function stop(): void {
    unsubscribe?.();
    unsubscribe = null;
    unsubscribeLog?.();
    unsubscribeLog = null;
  }

  const health = computed(() => clusterHealth(nodes.value));
  const nodeById = computed(() => new Map(nodes.value.map((n) => [n.id, n])));

  return {
    status, nodes, connected, error, unauthorized, tick, history, lastPushAtMs, health, nodeById, failureTimes, recoveryTimes, apply, start, stop,
  };
});
