// The failure detector's judgement, kept free of threads, clocks and GSM so it can
// be read and tested on its own (the detector thread, detector-worker.ts, feeds it).
//
// It answers one question per check: which node has been silent for longer than
// its own arrival pattern makes believable, judged only on evidence gathered while
// the detector itself was watching on time. Four rules, after Akka's phi-accrual
// detector, HashiCorp's Lifeguard and Cassandra's gossip:
//
//  1. Arrival pattern (phi accrual). Each node's heartbeat inter-arrival times are
//     kept in a window; suspicion is phi = -log10(P(a heartbeat still comes)),
//     under a normal law of the learned mean + an acceptable pause and the learned
//     spread. A node whose beats are irregular (a loaded machine) earns a later
//     deadline than one that beats like a clock.
//  2. The observer's stall. A check that comes much later than scheduled means
//     the detector was not watching (the whole machine paused, its process was
//     stopped, the host swapped): every node gets a fresh grace period from now,
//     and the interval that spans the stall is not learned.
//  3. The observer's health (Lifeguard's local health multiplier). Checks that come
//     late but not late enough to be a stall mean the observer is starved: the
//     acceptable pause is stretched until it has been on time for a while again.
//  4. A verdict against everyone. If every watched member (two or more) would be
//     failed by the same check, the observer is suspected first: one more grace
//     period, observed on time, before they are failed together.
//
// Crashes (a process exit) are not judged here: an exit is definitive.

export interface SuspicionConfig {
  heartbeatPeriodMs: number;
  /** The silence a node beating like a clock on a quiet machine is allowed: 2.5 periods by default. */
  heartbeatTimeoutMs: number;
  /** How often the detector checks. */
  checkEveryMs: number;
  /** phi at which a node is failed (Akka's default is 8: a 1 in 10^8 chance it was only late). */
  phiThreshold?: number;
  /** phi at which a node is reported suspect. */
  suspectPhi?: number;
  /** Inter-arrival times remembered per node. */
  windowSize?: number;
}

export interface Evidence {
  /** phi: 0 for a node beating on time, >= the threshold when it is failed. */
  suspicion: number;
  /** Time since its last heartbeat arrived (or since its grace began, if later). */
  silentMs: number;
  /** The learned mean heartbeat interval. */
  expectedIntervalMs: number;
  /** The silence at which it would be failed now. */
  deadlineMs: number;
  /** How late the detector's own last check was. */
  detectorLagMs: number;
  /** The observer's health multiplier (1 = healthy). */
  localHealth: number;
}

export type Verdict =
  | { kind: 'suspect'; node: number; evidence: Evidence }
  | { kind: 'trusted'; node: number; evidence: Evidence }
  | { kind: 'failed'; node: number; evidence: Evidence };

export type ObserverNote =
  | { kind: 'stall'; lagMs: number; graceMs: number }
  | { kind: 'self-suspect'; nodes: number[]; graceMs: number };

/** Inter-arrival statistics over a bounded window (running sums, O(1) per sample). */
export class ArrivalWindow {
  private readonly samples: number[] = [];
  private sum = 0;
  private sumSq = 0;

  constructor(private readonly size: number) {}

  add(intervalMs: number): void {
    this.samples.push(intervalMs);
    this.sum += intervalMs;
    this.sumSq += intervalMs * intervalMs;
    if (this.samples.length > this.size) {
      const old = this.samples.shift()!;
      this.sum -= old;
      this.sumSq -= old * old;
    }
  }

  get count(): number {
    return this.samples.length;
  }

  mean(fallback: number): number {
    return this.samples.length ? this.sum / this.samples.length : fallback;
  }

  stdDev(): number {
    const n = this.samples.length;
    if (n < 2) return 0;
    const m = this.sum / n;
    return Math.sqrt(Math.max(0, this.sumSq / n - m * m));
  }
}

/**
 * phi for a silence of `silentMs` when arrivals follow N(mean, std): Akka's
 * logistic approximation of the normal tail, accurate to ~1e-4.
 */
export function phi(silentMs: number, mean: number, std: number): number {
  const y = (silentMs - mean) / std;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  const p = silentMs > mean ? e / (1 + e) : 1 - 1 / (1 + e);
  return p <= 0 ? Infinity : Math.max(0, -Math.log10(p));
}

/** The silence at which phi reaches `threshold` (phi is increasing in silence). */
function silenceForPhi(threshold: number, mean: number, std: number): number {
  let lo = mean;
  let hi = mean + 40 * std;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (phi(mid, mean, std) < threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}

interface Watched {
  incarnation: number;
  window: ArrivalWindow;
  /** Heartbeat count last seen, and when that beat was written (monotonic ns). */
  count: number;
  lastArrivalNs: number;
  /** Silence is counted from here when it is later than the last arrival (grace). */
  graceFromNs: number;
  /** The next interval spans time the detector did not watch: do not learn it. */
  skipInterval: boolean;
  suspected: boolean;
  evidence: Evidence;
}

export interface Observation {
  node: number;
  incarnation: number;
  heartbeatCount: number;
  /** The node's own timestamp of its last beat (CLOCK_MONOTONIC is shared by every process). */
  heartbeatNs: number;
  /** The debugger's heartbeat-safe freeze lease is in the future. */
  frozen: boolean;
}

/** Health multiplier bounds and pacing (Lifeguard uses 0..8; 4 keeps hang detection within seconds). */
const MAX_LOCAL_HEALTH = 4;

export class SuspicionPolicy {
  readonly phiThreshold: number;
  readonly suspectPhi: number;
  /** A check this late means the detector was not watching. */
  readonly stallMs: number;
  /** A check this late means the detector is starved (but still watching). */
  readonly lateMs: number;
  private readonly acceptablePauseMs: number;
  private readonly minStdMs: number;
  /** How many spreads past the mean phi reaches its threshold. */
  private readonly zAtThreshold: number;
  private readonly windowSize: number;
  private readonly nodes = new Map<number, Watched>();
  private lastCheckNs = 0;
  private lagMs = 0;
  private localHealth = 0;
  private onTimeChecks = 0;
  /** Every member was overdue at once and got one more grace period (rule 4). */
  private massDeferred = false;

  constructor(private readonly cfg: SuspicionConfig) {
    const period = cfg.heartbeatPeriodMs;
    this.phiThreshold = cfg.phiThreshold ?? 8;
    this.suspectPhi = cfg.suspectPhi ?? 1;
    this.windowSize = cfg.windowSize ?? 100;
    // A clock-like node (spread at the floor) is failed one floor spread after
    // the configured timeout, as an operator who set the timeout expects; only
    // spread beyond the floor (irregular beats) earns a later deadline. The floor
    // keeps one jittered beat from counting as a pattern change, and the pause is
    // what the timeout allows beyond one period.
    this.minStdMs = Math.max(1, period / 20);
    this.zAtThreshold = silenceForPhi(this.phiThreshold, 0, 1);
    this.acceptablePauseMs = Math.max(0, cfg.heartbeatTimeoutMs - period);
    this.stallMs = Math.max(period, 4 * cfg.checkEveryMs);
    this.lateMs = Math.max(period / 2, 2 * cfg.checkEveryMs);
  }

  /** The observer's current lag and health, for views. */
  observer(): { detectorLagMs: number; localHealth: number } {
    return { detectorLagMs: this.lagMs, localHealth: 1 + this.localHealth };
  }

  evidenceOf(node: number): Evidence | null {
    return this.nodes.get(node)?.evidence ?? null;
  }

  forget(node: number): void {
    this.nodes.delete(node);
  }

  /**
   * One check at `nowNs` over the nodes that are members now. Returns the changes
   * of verdict (suspect, trusted again, failed) and what the observer learned
   * about itself.
   */
  check(nowNs: number, observations: Observation[]): { verdicts: Verdict[]; notes: ObserverNote[] } {
    const notes: ObserverNote[] = [];
    const verdicts: Verdict[] = [];
    const stalled = this.observeSelf(nowNs);
    const graceMs = this.cfg.heartbeatTimeoutMs;
    if (stalled) notes.push({ kind: 'stall', lagMs: this.lagMs, graceMs });

    const present = new Set(observations.map((o) => o.node));
    for (const node of [...this.nodes.keys()]) if (!present.has(node)) this.nodes.delete(node);

    const overdue: { node: number; w: Watched }[] = [];
    let quiet = 0;
    let arrivals = 0;
    for (const o of observations) {
      let w = this.nodes.get(o.node);
      if (!w || w.incarnation !== o.incarnation) {
        w = this.watch(o, nowNs);
        this.nodes.set(o.node, w);
      }
      const arrived = o.heartbeatCount !== w.count;
      if (arrived) {
        arrivals++;
        const beats = o.heartbeatCount - w.count;
        // Only a single beat seen on time is a clean sample of the node's pace.
        if (!w.skipInterval && !stalled && beats === 1 && o.heartbeatNs > w.lastArrivalNs)
          w.window.add((o.heartbeatNs - w.lastArrivalNs) / 1e6);
        w.skipInterval = stalled;
        w.count = o.heartbeatCount;
        w.lastArrivalNs = Math.max(w.lastArrivalNs, o.heartbeatNs);
      }
      if (stalled) {
        w.graceFromNs = nowNs;
        w.skipInterval = true;
      }
      if (o.frozen) {
        // A debugger freeze is not silence: judge from when the lease ends.
        w.graceFromNs = nowNs;
        w.skipInterval = true;
      }
      w.evidence = this.judge(w, nowNs);
      // Suspect: late by half an interval more than learned, or phi says so.
      // Trust comes back only with a heartbeat, never with a grace period.
      const isLate = w.evidence.suspicion >= this.suspectPhi || w.evidence.silentMs > 1.5 * w.evidence.expectedIntervalMs;
      // For rule 4, a member that has missed a beat is silent too: members
      // stopped together fall silent up to a beat apart, so when the first is
      // overdue the last has been silent a period less. Judged by lateness
      // alone, the last was late only if its last beat came within a twentieth
      // of a period of a period after the first's (at the default timeout), and
      // the rule often did not fire.
      if (isLate || w.evidence.silentMs > w.evidence.expectedIntervalMs + this.cfg.heartbeatPeriodMs / 4) quiet++;
      if (w.evidence.suspicion >= this.phiThreshold) overdue.push({ node: o.node, w });
      else if (isLate && !w.suspected) {
        w.suspected = true;
        verdicts.push({ kind: 'suspect', node: o.node, evidence: w.evidence });
      } else if (!isLate && w.suspected && arrived) {
        w.suspected = false;
        verdicts.push({ kind: 'trusted', node: o.node, evidence: w.evidence });
      }
    }
    if (arrivals > 0) this.massDeferred = false;

    if (overdue.length > 0 && observations.length >= 2 && quiet === observations.length && !this.massDeferred) {
      // Rule 4: the same silence from everyone says more about the observer.
      // Members fall silent a beat apart, so "everyone" is: one overdue and
      // every other at least a beat missed.
      this.massDeferred = true;
      for (const w of this.nodes.values()) {
        w.graceFromNs = nowNs;
        w.skipInterval = true;
        w.evidence = this.judge(w, nowNs);
      }
      notes.push({ kind: 'self-suspect', nodes: observations.map((o) => o.node), graceMs });
      return { verdicts, notes };
    }
    for (const { node, w } of overdue) {
      this.nodes.delete(node);
      verdicts.push({ kind: 'failed', node, evidence: w.evidence });
    }
    return { verdicts, notes };
  }

  private watch(o: Observation, nowNs: number): Watched {
    const w: Watched = {
      incarnation: o.incarnation,
      window: new ArrivalWindow(this.windowSize),
      count: o.heartbeatCount,
      // A node first seen now is judged from now, whatever its beat says.
      lastArrivalNs: o.heartbeatNs,
      graceFromNs: nowNs,
      skipInterval: true,
      suspected: false,
      evidence: null as unknown as Evidence,
    };
    w.evidence = this.judge(w, nowNs);
    return w;
  }

  /** Rules 2 and 3: measures how late this check is. Returns true on a stall. */
  private observeSelf(nowNs: number): boolean {
    const prev = this.lastCheckNs;
    this.lastCheckNs = nowNs;
    if (prev === 0) return false;
    this.lagMs = Math.max(0, (nowNs - prev) / 1e6 - this.cfg.checkEveryMs);
    if (this.lagMs >= this.stallMs) {
      this.onTimeChecks = 0;
      return true;
    }
    if (this.lagMs >= this.lateMs) {
      this.localHealth = Math.min(MAX_LOCAL_HEALTH, this.localHealth + 1);
      this.onTimeChecks = 0;
    } else if (this.localHealth > 0 && ++this.onTimeChecks * this.cfg.checkEveryMs >= 10 * this.cfg.heartbeatPeriodMs) {
      // Health comes back one step per ten periods of on-time checks.
      this.localHealth--;
      this.onTimeChecks = 0;
    }
    return false;
  }

  private judge(w: Watched, nowNs: number): Evidence {
    const period = this.cfg.heartbeatPeriodMs;
    const silentMs = Math.max(0, (nowNs - Math.max(w.lastArrivalNs, w.graceFromNs)) / 1e6);
    const learned = w.window.count >= 4;
    const expectedIntervalMs = learned ? w.window.mean(period) : period;
    // The spread is never below the floor, and never below what the first few
    // samples can vouch for.
    const std = Math.max(this.minStdMs, learned ? w.window.stdDev() : period / 4);
    const mean =
      Math.max(expectedIntervalMs, period) + this.acceptablePauseMs * (1 + this.localHealth) - (this.zAtThreshold - 1) * this.minStdMs;
    const suspicion = phi(silentMs, mean, std);
    return {
      suspicion: Math.min(suspicion, 99),
      silentMs,
      expectedIntervalMs,
      deadlineMs: silenceForPhi(this.phiThreshold, mean, std),
      detectorLagMs: this.lagMs,
      localHealth: 1 + this.localHealth,
    };
  }
}
