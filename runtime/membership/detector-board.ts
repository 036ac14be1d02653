// Memory the supervisor's main thread and its detector thread share (one
// SharedArrayBuffer): the membership lock, which node exits the supervisor itself
// asked for (a leave is not a crash), and the detector's latest evidence about
// each node and about itself, which status views read without a round trip to a
// thread that may be busy. Evidence fields are written one by one; a view may
// read a mix of two consecutive checks, which is harmless for a display.
import type { Evidence } from './suspicion';
import { ThreadLock } from './publisher';

const LOCK_BYTES = 8;
const EXPECT_BYTES = 4; // per node: the incarnation whose exit is expected
const EVIDENCE_FIELDS = 6; // f64: incarnation, suspicion, silentMs, expectedIntervalMs, deadlineMs, suspect flag
const OBSERVER_FIELDS = 4; // f64: detectorLagMs, localHealth, checks, stalls

export interface NodeEvidence extends Evidence {
  incarnation: number;
}

export interface ObserverState {
  detectorLagMs: number;
  localHealth: number;
  /** Checks made and stalls seen since start (tests and views: the detector is alive). */
  checks: number;
  stalls: number;
}

export class DetectorBoard {
  readonly lock: ThreadLock;
  private readonly expect: Int32Array;
  private readonly evidence: Float64Array;
  private readonly self: Float64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly maxNodes: number,
  ) {
    this.lock = new ThreadLock(buffer, 0);
    this.expect = new Int32Array(buffer, LOCK_BYTES, maxNodes);
    const f64At = LOCK_BYTES + Math.ceil((EXPECT_BYTES * maxNodes) / 8) * 8;
    this.self = new Float64Array(buffer, f64At, OBSERVER_FIELDS);
    this.evidence = new Float64Array(buffer, f64At + OBSERVER_FIELDS * 8, EVIDENCE_FIELDS * maxNodes);
  }

  static create(maxNodes: number): DetectorBoard {
    const bytes = LOCK_BYTES + Math.ceil((EXPECT_BYTES * maxNodes) / 8) * 8 + 8 * (OBSERVER_FIELDS + EVIDENCE_FIELDS * maxNodes);
    return new DetectorBoard(new SharedArrayBuffer(bytes), maxNodes);
  }

  /** The supervisor is about to make this incarnation exit (leave, stop): not a failure. */
  expectExit(node: number, incarnation: number): void {
    Atomics.store(this.expect, node, incarnation);
  }

  exitExpected(node: number, incarnation: number): boolean {
    return Atomics.load(this.expect, node) === incarnation;
  }

  writeEvidence(node: number, incarnation: number, e: Evidence, suspect: boolean): void {
    const at = node * EVIDENCE_FIELDS;
    this.evidence[at] = incarnation;
    this.evidence[at + 1] = e.suspicion;
    this.evidence[at + 2] = e.silentMs;
    this.evidence[at + 3] = e.expectedIntervalMs;
    this.evidence[at + 4] = e.deadlineMs;
    this.evidence[at + 5] = suspect ? 1 : 0;
  }

  readEvidence(node: number, incarnation: number): (NodeEvidence & { suspect: boolean }) | null {
    const at = node * EVIDENCE_FIELDS;
    if (this.evidence[at] !== incarnation) return null;
    const o = this.readObserver();
    return {
      incarnation,
      suspicion: this.evidence[at + 1],
      silentMs: this.evidence[at + 2],
      expectedIntervalMs: this.evidence[at + 3],
      deadlineMs: this.evidence[at + 4],
      suspect: this.evidence[at + 5] === 1,
      detectorLagMs: o.detectorLagMs,
      localHealth: o.localHealth,
    };
  }

  writeObserver(o: ObserverState): void {
    this.self[0] = o.detectorLagMs;
    this.self[1] = o.localHealth;
    this.self[2] = o.checks;
    this.self[3] = o.stalls;
  }

  readObserver(): ObserverState {
    return { detectorLagMs: this.self[0], localHealth: this.self[1] || 1, checks: this.self[2], stalls: this.self[3] };
  }
}
