// The failure detector with real processes: a pause of the whole multicomputer, a
// hang that begins during one, a verdict against everyone, a busy supervisor, a
// crash and the debugger's freeze lease.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Supervisor } from '../../runtime/cluster/supervisor';
import { Gsm } from '../../runtime/gsm/gsm';
import { H, N, nodeRecord } from '../../runtime/gsm/layout';
import { monotonicNs } from '../../runtime/gsm/native';
import { membersOf } from '../../runtime/membership/generations';
import { startChildMulticomputer, type ChildMulticomputer } from '../helpers/child-multicomputer';
import { sleep, startTestMulticomputer, until } from '../helpers/multicomputer';

const signal = (pids: number[], sig: NodeJS.Signals) => {
  for (const pid of pids) process.kill(pid, sig);
};

/** Waits until every listed node has beaten `beats` more times: time as the nodes themselves saw it pass. */
async function nodesBeat(gsm: Gsm, nodes: number[], beats: number) {
  const count = (n: number) => gsm.map.load64n(nodeRecord(gsm.layout, n) + N.heartbeatCount);
  const from = nodes.map(count);
  await until(`nodes ${nodes} beat ${beats} times`, () => nodes.every((n, i) => count(n) - from[i] >= beats), 30_000);
}

/** Pauses the supervisor and every node together, for `ms`, and resumes them with the supervisor first or last. */
async function allStop(c: ChildMulticomputer, ms: number, supervisorFirst: boolean, keepStopped: number[] = []) {
  signal(c.allPids(), 'SIGSTOP');
  await sleep(ms);
  const nodes = c.nodePids.filter((_, i) => !keepStopped.includes(i));
  signal(supervisorFirst ? [c.supervisorPid, ...nodes] : [...nodes, c.supervisorPid], 'SIGCONT');
}

const processState = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
};

/** A multicomputer in this process (50 ms heartbeat) and this test's own mapping of its GSM. */
async function withAttached(nodes: number, fn: (mc: Supervisor, gsm: Gsm) => Promise<void>) {
  const t = await startTestMulticomputer({ nodes, heartbeatMs: 50 });
  const gsm = Gsm.attach(`/mcs-${t.name}`);
  try {
    await fn(t.mc, gsm);
  } finally {
    gsm.close();
    await t.stop();
  }
}

describe('the failure detector', () => {
  it('a pause of the whole multicomputer (supervisor and nodes) ejects no node, whichever resumes first', async () => {
    const c = await startChildMulticomputer({ nodes: 3, heartbeatMs: 50 });
    let log;
    try {
      const generation = c.generation();
      for (const supervisorFirst of [true, false, true]) {
        await allStop(c, 1000, supervisorFirst);
        await nodesBeat(c.gsm, [0, 1, 2], 10);
      }
      assert.equal(c.generation(), generation, 'no generation was published: nobody was ejected');
      assert.deepEqual(c.members(), [0, 1, 2]);
    } finally {
      log = await c.stop();
    }
    try {
      assert.equal(log.query.query({ kinds: ['node.failed'] }).rows.length, 0);
      assert.ok(log.query.query({ kinds: ['detector.stall'] }).rows.length >= 3, 'each pause was seen as a stall of the detector');
    } finally {
      log.close();
    }
  });

  it('a node that hangs during a pause of the whole multicomputer is still found after it', async () => {
    const c = await startChildMulticomputer({ nodes: 3, heartbeatMs: 50 });
    let log;
    const victimPid = c.nodePids[2];
    try {
      const generation = c.generation();
      await allStop(c, 1000, false, [2]);
      await until('the hung node is out of the membership', () => !c.members().includes(2), 30_000);
      assert.deepEqual(c.members(), [0, 1], 'only the hung node');
      assert.equal(c.generation(), generation + 1);
      await until('it was killed', () => processState(victimPid) === 'gone' || processState(victimPid) === 'Z');
    } finally {
      log = await c.stop();
    }
    try {
      const failed = log.query.query({ kinds: ['node.failed'] }).rows;
      assert.equal(failed.length, 1);
      assert.match((failed[0].details as { cause: string }).cause, /^hung \d+ ms$/);
      const stall = log.query.query({ kinds: ['detector.stall'] }).rows;
      assert.ok(stall.length >= 1 && stall[0].id < failed[0].id, 'the stall came first, the verdict after it');
    } finally {
      log.close();
    }
  });

  it('when every member falls silent at once the detector suspects itself first, then fails them all', async () => {
    const t = await startTestMulticomputer({ nodes: 3, heartbeatMs: 50 });
    try {
      const { mc } = t;
      const pids = mc.nodes().map((n) => n.pid!);
      const gsm = Gsm.attach(`/mcs-${t.name}`);
      // This test has failed about once in fifteen runs with no self-suspicion.
      // One cause is mended (suspicion.ts, rule 4: nodes stopped one after
      // another fall silent up to a beat apart, and the rule counted only members
      // already late). Started after ten more beats instead of at once, it failed
      // in 5 of 6 runs: the last node was judged alone, 4 s late. That is two of
      // the debugger's 2 s leases, how long a node with a request in flight to its
      // debug agent is shielded (docs/debugger.md); the agents are still being
      // set up then. What the detector concluded, and when, goes into the failure
      // message with what each node did.
      // What each node did after the SIGSTOP goes into the failure message.
      const beats = (n: number) => gsm.map.load64n(nodeRecord(gsm.layout, n) + N.heartbeatCount);
      const stoppedAt = Date.now();
      const stoppedNs = monotonicNs();
      const trace = pids.map((pid, n) => ({ node: n, beats: beats(n), lastBeatMs: 0, state: processState(pid) }));
      signal(pids, 'SIGSTOP');
      const watch = setInterval(() => {
        for (const tr of trace) {
          if (tr.state === 'gone') continue;
          const b = beats(tr.node);
          if (b !== tr.beats) Object.assign(tr, { beats: b, lastBeatMs: Date.now() - stoppedAt });
          tr.state = processState(pids[tr.node]);
        }
      }, 10);
      try {
        await until('all three failed', () => mc.nodes().every((n) => n.state === 'failed'), 30_000);
      } finally {
        clearInterval(watch);
        gsm.close();
      }
      const self = mc.query.query({ kinds: ['detector.self-suspect'] }).rows;
      const failed = mc.query.query({ kinds: ['node.failed'] }).rows;
      const verdicts = mc.query.query({ kinds: ['heartbeat.suspect', 'detector.stall', 'membership.generation', 'node.failed'] }).rows;
      const said = verdicts.map((r) => ({ kind: r.kind, ms: Math.round((r.clusterTimeNs - stoppedNs) / 1e6), details: r.details }));
      assert.equal(self.length, 1, `no self-suspicion; after the SIGSTOP: ${JSON.stringify(trace)}; the detector: ${JSON.stringify(said)}`);
      assert.deepEqual((self[0].details as { nodes: number[] }).nodes, [0, 1, 2]);
      assert.equal(failed.length, 3);
      assert.ok(failed.every((f) => f.id > self[0].id), 'the observer was suspected before any node');
      assert.deepEqual(mc.members(), []);
    } finally {
      await t.stop();
    }
  });

  it("a saturated supervisor main thread does not delay detection: a SIGSTOPped node is fenced and survivors install the new generation during the saturation", async () => {
    await withAttached(3, async (mc, gsm) => {
    const victim = mc.nodes().find((n) => n.id === 1)!;
    const before = mc.generation();
    process.kill(victim.pid!, 'SIGSTOP');
    // The main thread is busy from here on: no timer, no message, no exit event runs on it.
    let fencedDuringSaturation = false;
    let installedDuringSaturation = false;
    const spinUntil = Date.now() + 30_000;
    while (Date.now() < spinUntil) {
      const g = gsm.map.load32(H.generation);
      const killed = processState(victim.pid!) === 'Z';
      const survivorsInstalled = [0, 2].every((n) => gsm.map.load32(nodeRecord(gsm.layout, n) + N.installedGeneration) >= g);
      if (g > before && !membersOf(gsm.map.load32(H.memberMask)).includes(1) && killed && survivorsInstalled) {
        fencedDuringSaturation = gsm.map.load32(nodeRecord(gsm.layout, 1) + N.revokedIncarnation) === victim.incarnation;
        installedDuringSaturation = true;
        break;
      }
    }
    assert.ok(installedDuringSaturation, 'survivors installed a generation without the hung node while the main thread was saturated');
    assert.ok(fencedDuringSaturation, 'its incarnation was revoked and it was killed while the main thread was saturated');
    await until('the main thread finished the failure', () => mc.nodes().find((n) => n.id === 1)!.state === 'failed');
    const failed = mc.query.query({ kinds: ['node.failed'] }).rows;
    assert.equal(failed.length, 1);
    const d = failed[0].details as { cause: string; fencedBy: string; suspicion: number; expectedIntervalMs: number; detectorLagMs: number };
    assert.equal(d.fencedBy, 'detector');
    assert.match(d.cause, /^hung/);
    assert.ok(d.suspicion >= 8 && d.expectedIntervalMs > 0 && d.detectorLagMs >= 0, 'the verdict carries its evidence');
    });
  });

  it('a crash needs no grace: an exit is failed at once, without suspicion, even while the main thread is busy', async () => {
    await withAttached(3, async (mc, gsm) => {
    const victim = mc.nodes().find((n) => n.id === 2)!;
    process.kill(victim.pid!, 'SIGKILL');
    const spinUntil = Date.now() + 30_000;
    while (Date.now() < spinUntil && membersOf(gsm.map.load32(H.memberMask)).includes(2));
    assert.ok(!membersOf(gsm.map.load32(H.memberMask)).includes(2), 'out of the membership while the main thread spun');
    await until('the main thread finished the failure', () => mc.nodes().find((n) => n.id === 2)!.state === 'failed');
    const failed = mc.query.query({ kinds: ['node.failed'] }).rows;
    const d = failed[0].details as { cause: string; fencedBy: string; suspicion?: number };
    assert.equal(d.cause, 'exit (seen by the detector)');
    assert.equal(d.fencedBy, 'detector');
    assert.equal(d.suspicion, undefined, 'the verdict rests on the exit, not on heartbeats');
    // With an idle main thread the host's exit event may win the race instead: either way, at once.
    process.kill(mc.nodes().find((n) => n.id === 0)!.pid!, 'SIGKILL');
    await until('node 0 failed', () => mc.nodes().find((n) => n.id === 0)!.state === 'failed');
    assert.match((mc.query.query({ kinds: ['node.failed'] }).rows[1].details as { cause: string }).cause, /^exit/);
    });
  });

  it("honours the debugger's freeze lease: a frozen node is kept while the lease runs, and a hung one is failed once it ends", async () => {
    await withAttached(2, async (mc, gsm) => {
    const rec = nodeRecord(gsm.layout, 1);
    gsm.map.store64n(rec + N.frozenUntilNs, monotonicNs() + 600_000 * 1e6);
    process.kill(mc.nodes().find((n) => n.id === 1)!.pid!, 'SIGSTOP');
    const checks = mc.detectorHealth().checks;
    // Enough checks for several timeouts to pass, as the detector counts them.
    await until('the detector made 200 checks', () => mc.detectorHealth().checks - checks >= 200, 60_000);
    assert.ok(mc.members().includes(1), 'frozen, not ejected');
    assert.equal(mc.nodes().find((n) => n.id === 1)!.state, 'up');
    gsm.map.store64n(rec + N.frozenUntilNs, 0);
    await until('the lease ended and the hung node was failed', () => mc.nodes().find((n) => n.id === 1)!.state === 'failed', 30_000);
    });
  });
});
