// When a failed node comes back by itself (paper §3.1: "failure and reintegration
// of components"). `on-failure` restarts a failed or fenced node as a new
// incarnation after an exponential backoff, and gives up on a node that keeps
// failing (a crash loop would otherwise churn membership and recovery forever);
// `never` leaves failed nodes down, for tests and debugging. Pure bookkeeping:
// the supervisor asks and acts.

export type RestartMode = 'never' | 'on-failure';
export const RESTART_MODES: readonly RestartMode[] = ['never', 'on-failure'];

export interface RestartPolicyOptions {
  mode: RestartMode;
  /** First delay; doubled on each failure in a row. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** More than `maxRestarts` failures within `windowMs` is a crash loop. */
  maxRestarts?: number;
  windowMs?: number;
  /** A node up this long is healthy again: its backoff starts over. */
  stableAfterMs?: number;
}

export type RestartDecision =
  | { action: 'none' }
  | { action: 'restart'; attempt: number; delayMs: number }
  | { action: 'give-up'; failures: number; windowMs: number };

interface History {
  /** Failure times (ms) within the crash-loop window. */
  failures: number[];
  /** Failures in a row since the node was last stable (sets the backoff). */
  streak: number;
  restarts: number;
  gaveUp: boolean;
  upSinceMs: number | null;
}

export class RestartPolicy {
  mode: RestartMode;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRestarts: number;
  readonly windowMs: number;
  readonly stableAfterMs: number;
  private readonly nodes = new Map<number, History>();

  constructor(o: RestartPolicyOptions) {
    this.mode = o.mode;
    this.initialDelayMs = o.initialDelayMs ?? 200;
    this.maxDelayMs = o.maxDelayMs ?? 10_000;
    this.maxRestarts = o.maxRestarts ?? 5;
    this.windowMs = o.windowMs ?? 60_000;
    this.stableAfterMs = o.stableAfterMs ?? 10_000;
  }

  private of(node: number): History {
    let h = this.nodes.get(node);
    if (!h) this.nodes.set(node, (h = { failures: [], streak: 0, restarts: 0, gaveUp: false, upSinceMs: null }));
    return h;
  }

  /** The node (a new incarnation) is up. */
  up(node: number, nowMs: number): void {
    this.of(node).upSinceMs = nowMs;
  }

  /** An operator restarted or added the node: whatever it did before is forgiven. */
  reset(node: number): void {
    this.nodes.delete(node);
  }

  /** The node failed (crash, hang, or did not start): what to do about it. */
  failed(node: number, nowMs: number): RestartDecision {
    const h = this.of(node);
    if (h.upSinceMs !== null && nowMs - h.upSinceMs >= this.stableAfterMs) h.streak = 0;
    h.upSinceMs = null;
    h.failures = h.failures.filter((t) => nowMs - t < this.windowMs);
    h.failures.push(nowMs);
    h.streak++;
    if (this.mode === 'never' || h.gaveUp) return { action: 'none' };
    if (h.failures.length > this.maxRestarts) {
      h.gaveUp = true;
      return { action: 'give-up', failures: h.failures.length, windowMs: this.windowMs };
    }
    h.restarts++;
    const delayMs = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** (h.streak - 1));
    return { action: 'restart', attempt: h.restarts, delayMs };
  }

  restarts(node: number): number {
    return this.nodes.get(node)?.restarts ?? 0;
  }

  gaveUp(node: number): boolean {
    return this.nodes.get(node)?.gaveUp ?? false;
  }
}
