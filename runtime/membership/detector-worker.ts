// The failure detector's own thread (a worker_thread of the supervisor process).
// It maps the GSM itself and reads heartbeats from the node table, so no work on
// the supervisor's main thread (SQLite, the control API, an export, the Electron
// main loop) can delay a verdict, and it fences what it condemns and publishes
// the generation without it, so survivors learn of a failure even while the main
// thread is busy. The main thread is told afterwards and does the slower rest
// (draining the event ring, reclaiming objects, the event log).
import { parentPort, workerData } from 'node:worker_threads';
import { Gsm } from '../gsm/gsm';
import { N, NodeSlotState, nodeRecord } from '../gsm/layout';
import { closeFd, monotonicNs, pidfdOpen, pidfdWait } from '../gsm/native';
import { DetectorBoard } from './detector-board';
import type { DetectorMessage, DetectorSettings } from './detector-thread';
import { ProcStatFile, fenceNode, inspectProcess } from './fencing';
import { MembershipPublisher } from './publisher';
import { SuspicionPolicy, type Evidence, type Observation } from './suspicion';

const settings = workerData as DetectorSettings;
const gsm = Gsm.attach(settings.gsmName);
const board = new DetectorBoard(settings.board, gsm.layout.maxNodes);
const publisher = new MembershipPublisher(gsm, board.lock);
const policy = new SuspicionPolicy({
  heartbeatPeriodMs: settings.heartbeatPeriodMs,
  heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
  checkEveryMs: settings.checkEveryMs,
});
const parentPid = process.pid;
const post = (m: DetectorMessage) => parentPort!.postMessage(m);

/**
 * Which process each watched incarnation is, learned when first seen (pids are
 * reused), its stat file kept open, and a pidfd to hear of its exit by (-1:
 * none, or it fired already).
 */
const known = new Map<number, { incarnation: number; pid: number; startTime: number; ours: boolean; stat: ProcStatFile | null; pidfd: number }>();
const suspected = new Set<number>();
let checks = 0;
let stalls = 0;
let stopped = false;

function fence(node: number, incarnation: number, pid: number, kill: boolean, cause: string, evidence: Evidence | null) {
  const detectedNs = monotonicNs();
  const k = known.get(node);
  const fenced = fenceNode(gsm, publisher, {
    node,
    incarnation,
    pid,
    parentPid,
    startTime: k?.incarnation === incarnation && k.ours ? k.startTime : undefined,
    kill,
  });
  forgetProcess(node);
  suspected.delete(node);
  policy.forget(node);
  if (fenced) post({ kind: 'fenced', node, incarnation, pid, cause, evidence, generation: fenced.generation, members: fenced.members, detectedNs, lingering: fenced.lingering });
}

function check() {
  const now = monotonicNs();
  const { map, layout } = gsm;
  const observations: Observation[] = [];
  const pids = new Map<number, number>();
  for (let node = 0; node < layout.maxNodes; node++) {
    const rec = nodeRecord(layout, node);
    if (map.load32(rec + N.state) !== NodeSlotState.Up) continue;
    const incarnation = map.load32(rec + N.incarnation);
    if (map.load32(rec + N.revokedIncarnation) === incarnation || board.exitExpected(node, incarnation)) continue;
    const pid = map.load32(rec + N.pid);
    let k = known.get(node);
    if (!k || k.incarnation !== incarnation) {
      forgetProcess(node);
      const first = inspectProcess(pid, parentPid);
      // A process we cannot recognise as our child is left to the host's exit event.
      // One already dead when first seen (killed as it joined) is still our child.
      const ours = first.state !== 'gone';
      // Opened once it is known to be our child: a child's pid is not reused
      // before its parent reaps it. The verdict is /proc's either way.
      const pidfd = ours && first.state !== 'exited' ? pidfdOpen(pid) : -1;
      k = { incarnation, pid, startTime: first.startTime, ours, stat: ours ? new ProcStatFile(pid) : null, pidfd: Math.max(pidfd, -1) };
      known.set(node, k);
    }
    if (k.ours) {
      // The start time is checked at every look: a file opened just as the pid was reused is another process's.
      const s = inspectProcess(pid, parentPid, k.startTime, k.stat ?? undefined).state;
      if (s === 'exited' || s === 'gone') {
        // A crash is definitive: no grace, no pattern to judge.
        fence(node, incarnation, pid, false, 'exit (seen by the detector)', null);
        continue;
      }
    }
    pids.set(node, pid);
    observations.push({
      node,
      incarnation,
      heartbeatCount: map.load64n(rec + N.heartbeatCount),
      heartbeatNs: map.load64n(rec + N.heartbeatNs),
      // The debugger's heartbeat-safe freeze lease; it ends by itself if the debugger goes.
      frozen: map.load64n(rec + N.frozenUntilNs) > now,
    });
  }
  const { verdicts, notes } = policy.check(now, observations);
  checks++;
  for (const n of notes) {
    if (n.kind === 'stall') stalls++;
    post({ kind: 'observer', note: n });
  }
  for (const v of verdicts) {
    const o = observations.find((x) => x.node === v.node)!;
    if (v.kind === 'failed') {
      fence(v.node, o.incarnation, pids.get(v.node)!, true, `hung ${Math.round(v.evidence.silentMs)} ms`, v.evidence);
    } else {
      if (v.kind === 'suspect') suspected.add(v.node);
      else suspected.delete(v.node);
      post({ kind: v.kind, node: v.node, incarnation: o.incarnation, evidence: v.evidence });
    }
  }
  for (const o of observations) {
    const e = policy.evidenceOf(o.node);
    if (e) board.writeEvidence(o.node, o.incarnation, e, suspected.has(o.node));
  }
  board.writeObserver({ ...policy.observer(), checks, stalls });
}

function forgetProcess(node: number) {
  const k = known.get(node);
  if (k && k.pidfd >= 0) closeFd(k.pidfd);
  k?.stat?.close();
  known.delete(node);
}

/**
 * Between checks the thread sleeps in poll() on its nodes' pidfds: a process
 * that becomes a zombie is checked at once, not up to checkEveryMs later (one
 * whose threads are exiting is still found by the periodic check, often
 * sooner: see fencing.ts inspectProcess). A pidfd that fired is closed
 * (it would stay readable); the check then judges the process from /proc as
 * before. Messages (stop) are handled between waits.
 */
function waitForExits() {
  const fds = [...known.values()].filter((k) => k.pidfd >= 0);
  const fired = new Set(pidfdWait(fds.map((k) => k.pidfd), settings.checkEveryMs));
  for (const k of fds)
    if (fired.has(k.pidfd)) {
      closeFd(k.pidfd);
      k.pidfd = -1;
    }
}

function loop() {
  if (stopped) return;
  let waited = false;
  try {
    check();
    waitForExits();
    waited = true;
  } catch (err) {
    post({ kind: 'error', message: (err as Error).stack ?? String(err) });
  }
  if (stopped) return;
  // After an error the wait may not have happened: never spin.
  if (waited) setImmediate(loop);
  else setTimeout(loop, settings.checkEveryMs);
}

parentPort!.on('message', (m: { kind: 'stop' }) => {
  if (m.kind !== 'stop') return;
  stopped = true;
  for (const node of [...known.keys()]) forgetProcess(node);
  gsm.close();
  post({ kind: 'stopped' });
  parentPort!.close();
});
post({ kind: 'ready' });
loop();
