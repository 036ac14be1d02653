// Named worker threads of a node (AppContext.startThread), main-thread side: the
// thread's start data, the relay of membership generations, the thread table
// rows, and the log of how each thread ended. See thread-main.ts for the thread
// side and threads.ts for the table and the backstop for dead holders.
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Gsm } from '../gsm/gsm';
import type { AppContext } from './app-context';
import { markThreadExited, readThreads, type ThreadView } from './threads';

export interface ThreadStartData {
  gsm: string;
  node: number;
  incarnation: number;
  name: string;
  /** file: URL of the module whose run(ctx) the thread runs. */
  module: string;
  data: unknown;
  members: number[];
}

export type ThreadRelay =
  | { type: 'generation'; generation: number; members: number[] }
  | { type: 'stop' }
  /** The operator's kill-thread --holding: end abruptly right after the next global mutex acquired. */
  | { type: 'die-holding' };

/** What a worker thread gets: its node's AppContext, minus starting threads of its own. */
export interface ThreadContext extends Omit<AppContext, 'startThread' | 'threads'> {
  name: string;
  data: unknown;
}

export interface AppThread {
  readonly name: string;
  readonly worker: Worker;
  /** The thread's kernel tid, once it runs. */
  readonly tid: Promise<number>;
  /** Resolves with the exit code when the thread has ended (however it ended). */
  readonly exited: Promise<number>;
  /** Asks run() to finish (ctx.signal aborts). */
  stop(): void;
  terminate(): Promise<number>;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.:-]{0,27}$/;

export class NodeThreads {
  /** Running workers and their kernel tid (0 until the thread reports it). */
  private readonly running = new Map<Worker, number>();
  private readonly tsxApi: string | null;

  constructor(
    private readonly gsm: Gsm,
    private readonly node: number,
    private readonly incarnation: number,
    private readonly log: AppContext['log'],
    private readonly members: () => number[],
  ) {
    // Thread modules written in TypeScript need the same loader the node runs under.
    let api: string | null = null;
    try {
      api = import.meta.resolve('tsx/esm/api');
    } catch {
      api = null; // a bundled build: modules are JavaScript
    }
    this.tsxApi = api;
  }

  start(name: string, module: string | URL, data?: unknown): AppThread {
    if (!NAME_RE.test(name)) throw new Error(`thread name "${name}" must be a letter then up to 27 letters, digits or _ . : -`);
    const moduleUrl = module instanceof URL ? module.href : module.startsWith('file:') ? module : pathToFileURL(module).href;
    // Bundled (the desktop app), the entry is built beside this module as plain JS.
    const entry = new URL(import.meta.url.endsWith('.ts') ? './thread-main.ts' : './thread-main.js', import.meta.url).href;
    const startData: ThreadStartData = { gsm: this.gsm.name, node: this.node, incarnation: this.incarnation, name, module: moduleUrl, data, members: this.members() };
    const boot = this.tsxApi
      ? `import(${JSON.stringify(this.tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`
      : `import(${JSON.stringify(entry)})`;
    const worker = new Worker(boot, { eval: true, workerData: startData, name });
    this.running.set(worker, 0);
    let row = -1;
    let resolveTid!: (tid: number) => void;
    const tid = new Promise<number>((r) => (resolveTid = r));
    worker.on('message', (msg: { type?: string; tid?: number; row?: number }) => {
      if (msg?.type !== 'ready') return;
      row = msg.row ?? -1;
      if (this.running.has(worker)) this.running.set(worker, msg.tid!);
      resolveTid(msg.tid!);
      this.log('thread.start', name, { tid: msg.tid });
    });
    let error: string | null = null;
    worker.on('error', (err) => (error = (err as Error).message));
    const exited = new Promise<number>((resolve) =>
      worker.once('exit', (code) => {
        this.running.delete(worker);
        if (!this.gsm.closed) markThreadExited(this.gsm, this.node, row);
        this.log('thread.exit', name, { code, error });
        resolve(code);
      }),
    );
    return {
      name,
      worker,
      tid,
      exited,
      stop: () => worker.postMessage({ type: 'stop' } satisfies ThreadRelay),
      terminate: async () => {
        await worker.terminate();
        return exited;
      },
    };
  }

  /**
   * The operator's kill-thread: ends the worker with kernel tid `tid` abruptly, at
   * once (terminate) or, with `holding`, right after it next acquires a global
   * mutex (it exits holding it). False if no running worker has that tid.
   */
  kill(tid: number, holding: boolean): boolean {
    for (const [w, t] of this.running) {
      if (t !== tid) continue;
      this.log('thread.kill', null, { tid, holding });
      if (holding) w.postMessage({ type: 'die-holding' } satisfies ThreadRelay);
      else void w.terminate();
      return true;
    }
    return false;
  }

  relayGeneration(generation: number, members: number[]): void {
    for (const w of this.running.keys()) w.postMessage({ type: 'generation', generation, members } satisfies ThreadRelay);
  }

  list(): ThreadView[] {
    return readThreads(this.gsm, this.node);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((w) => w.terminate()));
  }
}

/**
 * A named worker thread its node keeps running: when it ends by itself (killed,
 * thrown, ended) while `signal` is not aborted, a new thread of the same name is
 * started. Returns the current thread and a stop that ends it for good.
 */
export function keepThread(
  ctx: Pick<AppContext, 'startThread' | 'log' | 'signal'>,
  name: string,
  module: string | URL,
  data?: unknown,
  /** Messages the thread posts itself (beyond the start handshake). */
  onMessage?: (msg: unknown) => void,
): { current(): AppThread; stop(): Promise<void> } {
  let stopped = false;
  let thread: AppThread;
  // A thread that cannot even start (a module that throws at once) is restarted
  // with a growing delay, not in a hot loop.
  let delayMs = 0;
  const launch = () => {
    thread = ctx.startThread(name, module, data);
    const mine = thread;
    const startedAt = Date.now();
    if (onMessage) mine.worker.on('message', (msg: { type?: string }) => msg?.type !== 'ready' && onMessage(msg));
    void mine.exited.then(async (code) => {
      if (stopped || ctx.signal.aborted) return;
      const was = await Promise.race([mine.tid, Promise.resolve(0)]);
      delayMs = Date.now() - startedAt < 1000 ? Math.min(5000, Math.max(100, delayMs * 2)) : 0;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (stopped || ctx.signal.aborted) return;
      launch();
      ctx.log('thread.restart', name, { code, tid: was, delayMs });
    });
  };
  launch();
  return {
    current: () => thread,
    async stop() {
      stopped = true;
      thread.stop();
      // A thread blocked in native code may not see the stop request: bounded.
      const timer = setTimeout(() => void thread.terminate(), 2000);
      await thread.exited;
      clearTimeout(timer);
    },
  };
}
