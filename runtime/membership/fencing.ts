// Fencing: what makes it safe to act on a suspicion. A node declared failed has
// its incarnation revoked in GSM (it exits by itself if it ever runs again and
// looks) and is SIGKILLed; only once the kernel has finished it (its robust
// mutexes are marked owner-died at exit) does its contribution become failed
// memory and the new generation go out. Either thread of the supervisor may
// fence: the detector thread for hangs and for exits it sees in /proc, the main
// thread for exits it is told of first. The revocation is a compare-and-swap on
// the node record, so exactly one of them fences each incarnation.
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import type { Gsm } from '../gsm/gsm';
import { N, NodeSlotState, contribution, nodeRecord } from '../gsm/layout';
import type { MembershipPublisher, Published } from './publisher';

export type ProcessState = 'running' | 'stopped' | 'exited' | 'gone';

export interface ProcessIdentity {
  pid: number;
  /** Kernel start time (clock ticks since boot): tells our process from a reuse of its pid. */
  startTime: number;
}

/**
 * A process's /proc/PID/stat kept open, read again from offset 0 at each look:
 * one pread instead of open, fstat, read and close and a fresh buffer: 13 µs a
 * look instead of 120 for a node process. The detector looks at every node every
 * check (a hundred times a second); reading afresh was most of the 7.6% of a
 * core its thread used. Once
 * the process is reaped the read fails, as a fresh open would.
 */
export class ProcStatFile {
  private fd: number | null;
  private readonly buf = Buffer.alloc(1024);
  constructor(readonly pid: number) {
    try {
      this.fd = openSync(`/proc/${pid}/stat`, 'r');
    } catch {
      this.fd = null;
    }
  }
  read(): string | null {
    if (this.fd === null) return null;
    try {
      return this.buf.toString('latin1', 0, readSync(this.fd, this.buf, 0, this.buf.length, 0));
    } catch {
      return null;
    }
  }
  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function readStat(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
}

/**
 * What the kernel says about `pid` if it is still the child `parentPid` started
 * (`gone` if it was reaped or its pid now names another process). `file`, if
 * given, is that pid's stat kept open.
 */
export function inspectProcess(pid: number, parentPid: number, startTime?: number, file?: ProcStatFile): { state: ProcessState; startTime: number } {
  const stat = file ? file.read() : readStat(pid);
  if (stat === null) return { state: 'gone', startTime: 0 };
  const fields = statFields(stat);
  const ppid = Number(fields[1]);
  const start = Number(fields[19]);
  if (ppid !== parentPid || (startTime !== undefined && start !== startTime)) return { state: 'gone', startTime: start };
  const s = fields[0];
  const state: ProcessState =
    s === 'Z' || s === 'X' || (Number(fields[6]) & PF_EXITING && threadsReleased(pid))
      ? 'exited'
      : s === 'T' || s === 't'
        ? 'stopped'
        : 'running';
  return { state, startTime: start };
}

/** /proc/PID/stat from its third field (state) on: the command name may hold spaces and parentheses. */
export const statFields = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');

/** The kernel's task flag for a thread inside do_exit: it never returns to user space. */
const PF_EXITING = 0x4;

/**
 * A killed process is not a zombie until its last thread has unmapped its whole
 * address space, which on a busy machine can take tens of milliseconds. But each
 * thread's robust mutexes are marked owner-died (exit_robust_list) before it lets
 * go of the address space, and a thread that has let go shows a vsize of 0: once
 * every thread is exiting with no address space, nothing of the process can touch
 * GSM again and every mutex it held says so. That is what fencing waits for.
 */
function threadsReleased(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return true;
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
    } catch {
      continue; // reaped already
    }
    const f = statFields(stat);
    if (!(Number(f[6]) & PF_EXITING) || Number(f[20]) !== 0) return false;
  }
  return true;
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/** A synchronous sleep: fencing must not depend on an event loop that may be busy. */
const sleepSync = (ms: number) => void Atomics.wait(pause, 0, 0, ms);

export interface FenceRequest {
  node: number;
  incarnation: number;
  pid: number;
  /** The supervisor's pid: the node's parent. */
  parentPid: number;
  startTime?: number;
  /** A hang is killed first; an exit is already over. */
  kill: boolean;
}

export interface Fenced extends Published {
  node: number;
  incarnation: number;
  /** The kernel had not finished the process within the wait (it is unkillable: D state). */
  lingering: boolean;
}

const KILL_WAIT_MS = 5000;

/**
 * Fences one incarnation and publishes the generation without it. Returns null
 * if it was already fenced (by the other thread). Synchronous on purpose.
 */
export function fenceNode(gsm: Gsm, publisher: MembershipPublisher, req: FenceRequest): Fenced | null {
  const { map, layout } = gsm;
  const rec = nodeRecord(layout, req.node);
  if (map.cas32(rec + N.revokedIncarnation, 0, req.incarnation) !== 0) return null;
  map.store32(rec + N.state, NodeSlotState.Failed);
  let lingering = false;
  if (req.kill) {
    const first = inspectProcess(req.pid, req.parentPid, req.startTime);
    if (first.state === 'running' || first.state === 'stopped') {
      try {
        process.kill(req.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      const deadline = Date.now() + KILL_WAIT_MS;
      for (;;) {
        const s = inspectProcess(req.pid, req.parentPid, first.startTime).state;
        if (s === 'exited' || s === 'gone') break;
        if (Date.now() > deadline) {
          lingering = true;
          break;
        }
        sleepSync(1);
      }
    }
  }
  publisher.lock.with(() => gsm.failRegion(contribution(layout, req.node), layout.contributionBytes));
  const published = publisher.change({ remove: req.node });
  return { ...published, node: req.node, incarnation: req.incarnation, lingering };
}
