// The detector's judgement on its own, with synthetic time: what it concludes
// from heartbeat arrival patterns and from its own lateness.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SuspicionPolicy, phi, type Observation, type Verdict } from '../../runtime/membership/suspicion';
import { RestartPolicy } from '../../runtime/cluster/restart-policy';

const MS = 1e6;
const PERIOD = 100;
const CHECK = 10;

/** Drives a policy on a synthetic clock: nodes beat by a schedule, the observer checks every CHECK ms. */
class Sim {
  readonly policy = new SuspicionPolicy({ heartbeatPeriodMs: PERIOD, heartbeatTimeoutMs: 250, checkEveryMs: CHECK });
  now = 1000 * MS;
  readonly beats = new Map<number, { count: number; at: number; frozen: boolean }>();
  readonly verdicts: (Verdict & { at: number })[] = [];
  readonly notes: { kind: string; at: number }[] = [];

  constructor(nodes: number[]) {
    for (const n of nodes) this.beats.set(n, { count: 1, at: this.now, frozen: false });
  }

  beat(node: number) {
    const b = this.beats.get(node)!;
    b.count++;
    b.at = this.now;
  }

  check() {
    const obs: Observation[] = [...this.beats].map(([node, b]) => ({ node, incarnation: 1, heartbeatCount: b.count, heartbeatNs: b.at, frozen: b.frozen }));
    const r = this.policy.check(this.now, obs);
    for (const v of r.verdicts) {
      this.verdicts.push({ ...v, at: this.now });
      if (v.kind === 'failed') this.beats.delete(v.node);
    }
    for (const n of r.notes) this.notes.push({ kind: n.kind, at: this.now });
  }

  /** Advances `ms` in CHECK steps; `beating(node, t)` says who beats at each step. */
  run(ms: number, beating: (node: number, stepMs: number) => boolean) {
    for (let t = 0; t < ms; t += CHECK) {
      this.now += CHECK * MS;
      for (const node of this.beats.keys()) if (beating(node, t)) this.beat(node);
      this.check();
    }
  }

  failed(node?: number) {
    return this.verdicts.filter((v) => v.kind === 'failed' && (node === undefined || v.node === node));
  }
}

const clockLike = (_n: number, t: number) => t % PERIOD === 0;

describe('the suspicion policy', () => {
  it('phi grows with silence and is small for an on-time node', () => {
    assert.ok(phi(100, 250, 5) < 0.01);
    assert.ok(phi(300, 250, 5) > 8);
    assert.ok(phi(280, 250, 20) < phi(300, 250, 20));
  });

  it('a node beating like a clock is failed shortly after the timeout, not before', () => {
    const sim = new Sim([0, 1]);
    sim.run(3000, clockLike);
    assert.equal(sim.failed().length, 0);
    const stoppedAt = sim.beats.get(0)!.at;
    sim.run(1000, (n, t) => n === 1 && clockLike(n, t));
    const [f] = sim.failed(0);
    assert.ok(f, 'node 0 was failed');
    const silence = (f.at - stoppedAt) / MS;
    // The configured timeout, plus one floor spread (5 ms) and one check (10 ms) at most.
    assert.ok(silence > 250 && silence <= 265, `failed after ${silence} ms of silence (timeout 250 ms)`);
    assert.ok(Math.abs(f.evidence.deadlineMs - 255) < 1, `deadline ${f.evidence.deadlineMs} ms: timeout + one floor spread`);
    assert.ok(sim.verdicts.some((v) => v.kind === 'suspect' && v.node === 0 && v.at < f.at), 'suspected before failed');
    assert.equal(sim.failed(1).length, 0);
  });

  it('a node that beats irregularly earns a later deadline than one that beats like a clock', () => {
    const sim = new Sim([0, 1]);
    let rng = 7;
    const jitter = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let next = 0;
    sim.run(5000, (n, t) => {
      if (n === 0) return clockLike(n, t);
      if (t < next) return false;
      next = t + 40 + Math.round(jitter() * 12) * CHECK;
      return true;
    });
    const regular = sim.policy.evidenceOf(0)!;
    const irregular = sim.policy.evidenceOf(1)!;
    assert.equal(sim.failed().length, 0, 'irregular is not dead');
    assert.ok(irregular.deadlineMs > regular.deadlineMs + 50, `${irregular.deadlineMs} vs ${regular.deadlineMs}`);
  });

  it('a check that follows a stall of the observer gives every node a fresh grace period', () => {
    const sim = new Sim([0, 1, 2]);
    sim.run(2000, clockLike);
    // The whole machine pauses for 5 s: nobody beats and the observer does not check.
    sim.now += 5000 * MS;
    sim.check();
    assert.deepEqual(sim.notes.map((n) => n.kind), ['stall']);
    assert.equal(sim.failed().length, 0);
    // The nodes resume a little after the observer and beat on.
    sim.run(2000, (n, t) => t >= 30 && clockLike(n, t));
    assert.equal(sim.failed().length, 0, 'no node was failed for the pause');
  });

  it('a node that hangs during the stall is still failed after it, one deadline later', () => {
    const sim = new Sim([0, 1, 2]);
    sim.run(2000, clockLike);
    sim.now += 1000 * MS;
    sim.check();
    const resumed = sim.now;
    sim.run(2000, (n, t) => n !== 2 && clockLike(n, t));
    const [f] = sim.failed(2);
    assert.ok(f, 'the node hung during the stall was failed');
    assert.ok((f.at - resumed) / MS > 250, 'not before its grace period ran out');
    assert.equal(sim.failed().length, 1);
  });

  it('a verdict against every member suspects the observer first, then fails them on evidence gathered on time', () => {
    const sim = new Sim([0, 1, 2]);
    sim.run(2000, clockLike);
    const silentFrom = sim.beats.get(0)!.at;
    sim.run(2000, () => false);
    const self = sim.notes.find((n) => n.kind === 'self-suspect');
    assert.ok(self, 'the observer suspected itself');
    const failed = sim.failed();
    assert.deepEqual(failed.map((f) => f.node).sort(), [0, 1, 2], 'then all were failed');
    assert.ok(failed.every((f) => f.at > self.at && (f.at - self.at) / MS > 250), 'after a further grace period');
    assert.ok((self.at - silentFrom) / MS > 250);
  });

  it('members that fall silent a beat apart still suspect the observer first', () => {
    // A SIGSTOP of every node, one after another: node 0 gets one more beat in,
    // 10 ms late, just before it stops; nodes 1 and 2 stop just before theirs.
    // When they are overdue, node 0 has been silent a period and more less.
    const sim = new Sim([0, 1, 2]);
    sim.run(2000, clockLike);
    sim.run(2000, (n, t) => n === 0 && t === CHECK);
    const self = sim.notes.find((n) => n.kind === 'self-suspect');
    assert.ok(self, 'the observer suspected itself');
    assert.deepEqual(sim.failed().map((f) => f.node).sort(), [0, 1, 2]);
    assert.ok(sim.failed().every((f) => f.at > self.at), 'no member was failed before the observer was suspected');
  });

  it('one member that hangs among members beating out of phase is failed on its own, without suspecting the observer', () => {
    // Node n beats 40n ms into each period.
    const outOfPhase = (n: number, t: number) => (t + PERIOD - ((40 * n) % PERIOD)) % PERIOD === 0;
    for (const hung of [0, 1, 2]) {
      const s = new Sim([0, 1, 2]);
      s.run(2000, outOfPhase);
      s.run(1000, (n, t) => n !== hung && outOfPhase(n, t));
      assert.deepEqual(s.failed().map((f) => f.node), [hung]);
      assert.equal(s.notes.filter((n) => n.kind === 'self-suspect').length, 0, `node ${hung} alone`);
    }
  });

  it('one member alone is never protected by the all-members rule', () => {
    const sim = new Sim([0]);
    sim.run(1000, clockLike);
    sim.run(1000, () => false);
    assert.equal(sim.failed(0).length, 1);
    assert.equal(sim.notes.length, 0);
  });

  it('late checks (a starved observer) stretch the deadline; on-time checks bring it back', () => {
    const sim = new Sim([0]);
    sim.run(2000, clockLike);
    const healthy = sim.policy.evidenceOf(0)!.deadlineMs;
    for (let i = 0; i < 4; i++) {
      sim.now += 70 * MS; // each check 60 ms late: starved, not stalled
      sim.beat(0);
      sim.check();
    }
    const starved = sim.policy.evidenceOf(0)!;
    assert.ok(starved.localHealth > 1);
    assert.ok(starved.deadlineMs > healthy * 1.5, `${starved.deadlineMs} vs ${healthy}`);
    // Health returns one step per ten on-time periods; the window forgets the odd intervals.
    sim.run(15_000, clockLike);
    assert.equal(sim.policy.evidenceOf(0)!.localHealth, 1);
    assert.ok(Math.abs(sim.policy.evidenceOf(0)!.deadlineMs - healthy) < 5);
  });

  it("a node frozen by the debugger is not failed while its lease runs, and is judged from the lease's end", () => {
    const sim = new Sim([0, 1]);
    sim.run(1000, clockLike);
    sim.beats.get(0)!.frozen = true;
    sim.run(3000, (n, t) => n === 1 && clockLike(n, t));
    assert.equal(sim.failed(0).length, 0);
    sim.beats.get(0)!.frozen = false;
    const ended = sim.now;
    sim.run(1000, (n, t) => n === 1 && clockLike(n, t));
    const [f] = sim.failed(0);
    assert.ok(f && (f.at - ended) / MS > 250);
  });
});

describe('the restart policy', () => {
  it('on-failure: exponential backoff, then gives up on a crash loop', () => {
    const p = new RestartPolicy({ mode: 'on-failure', initialDelayMs: 100, maxRestarts: 3, windowMs: 60_000 });
    let t = 0;
    const delays = [1, 2, 3].map(() => {
      const d = p.failed(4, (t += 1000));
      assert.equal(d.action, 'restart');
      return d.action === 'restart' ? d.delayMs : 0;
    });
    assert.deepEqual(delays, [100, 200, 400]);
    assert.deepEqual(p.failed(4, (t += 1000)), { action: 'give-up', failures: 4, windowMs: 60_000 });
    assert.ok(p.gaveUp(4));
    assert.deepEqual(p.failed(4, (t += 1000)), { action: 'none' }, 'once given up, it stays down');
    assert.equal(p.restarts(4), 3);
    p.reset(4);
    assert.equal(p.failed(4, (t += 1000)).action, 'restart', 'an operator restart forgives it');
  });

  it('a node that stayed up long enough starts its backoff over; old failures leave the window', () => {
    const p = new RestartPolicy({ mode: 'on-failure', initialDelayMs: 100, maxRestarts: 2, windowMs: 10_000, stableAfterMs: 5000 });
    assert.deepEqual(p.failed(1, 0), { action: 'restart', attempt: 1, delayMs: 100 });
    p.up(1, 100);
    assert.deepEqual(p.failed(1, 200), { action: 'restart', attempt: 2, delayMs: 200 });
    p.up(1, 400);
    assert.deepEqual(p.failed(1, 20_000), { action: 'restart', attempt: 3, delayMs: 100 });
  });

  it('never: failed nodes stay down', () => {
    const p = new RestartPolicy({ mode: 'never' });
    assert.deepEqual(p.failed(0, 0), { action: 'none' });
  });
});
