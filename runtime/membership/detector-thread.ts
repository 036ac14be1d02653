// The supervisor's handle on its detector thread (detector-worker.ts): starts it,
// shares the board with it, relays its messages, and stops it.
import { Worker } from 'node:worker_threads';
import type { Gsm } from '../gsm/gsm';
import { DetectorBoard } from './detector-board';
import { MembershipPublisher } from './publisher';
import type { Evidence, ObserverNote } from './suspicion';

export interface DetectorSettings {
  gsmName: string;
  board: SharedArrayBuffer;
  heartbeatPeriodMs: number;
  heartbeatTimeoutMs: number;
  checkEveryMs: number;
}

export type DetectorMessage =
  | { kind: 'ready' | 'stopped'; evidence?: undefined }
  | { kind: 'error'; message: string; evidence?: undefined }
  | { kind: 'observer'; note: ObserverNote; evidence?: undefined }
  | { kind: 'suspect' | 'trusted'; node: number; incarnation: number; evidence: Evidence }
  | {
      kind: 'fenced';
      node: number;
      incarnation: number;
      pid: number;
      cause: string;
      /** Null for an exit: a crash needs no evidence. */
      evidence: Evidence | null;
      generation: number;
      members: number[];
      /** When the verdict was reached (CLOCK_MONOTONIC ns). */
      detectedNs: number;
      lingering: boolean;
    };

/** How often the detector checks: a tenth of a period, within 2..50 ms. */
export const checkEveryMsFor = (heartbeatPeriodMs: number) => Math.min(50, Math.max(2, Math.round(heartbeatPeriodMs / 10)));

/**
 * The worker's entry. Under tsx (headless runs, tests) the worker has no loader of
 * its own, so a one-line bootstrap registers tsx before importing the .ts file.
 */
function spawnWorker(settings: DetectorSettings): Worker {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './detector-worker.ts' : './detector-worker.js', import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: settings });
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData: settings });
}

export class DetectorThread {
  readonly board: DetectorBoard;
  readonly publisher: MembershipPublisher;
  private worker: Worker | null = null;
  private readonly listeners = new Set<(m: DetectorMessage) => void>();
  private exited: Promise<void> | null = null;

  constructor(
    private readonly gsm: Gsm,
    private readonly settings: Omit<DetectorSettings, 'board' | 'gsmName'>,
  ) {
    this.board = DetectorBoard.create(gsm.layout.maxNodes);
    this.publisher = new MembershipPublisher(gsm, this.board.lock);
  }

  /** Resolves once the detector is checking. */
  async start(): Promise<void> {
    const worker = spawnWorker({ ...this.settings, gsmName: this.gsm.name, board: this.board.buffer });
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: DetectorMessage) => {
        if (m.kind === 'ready') resolve();
        for (const l of this.listeners) l(m);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the detector thread exited (code ${code}) before it started`)));
    });
    // Supervision must not keep a finished process alive.
    worker.unref();
  }

  onMessage(listener: (m: DetectorMessage) => void): void {
    this.listeners.add(listener);
  }

  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    w.ref();
    w.postMessage({ kind: 'stop' });
    const done = await Promise.race([this.exited!.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
    if (!done) await w.terminate();
  }
}
