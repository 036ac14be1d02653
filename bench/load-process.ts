// A load generator in a child process at a lower CPU priority (nice 10): on a
// two-core machine the bench's clients would otherwise take the CPU the nodes
// recover with, where real clients are other machines. The priority only
// matters when the CPU is contended; the load offered is the same.
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LoadOptions, LoadResult } from '../runtime/apps/webcache/load';

const entry = fileURLToPath(new URL('./children/load.ts', import.meta.url));
type Reply = { ready: true } | { result: LoadResult } | { error: string };

export class LoadProcess {
  private constructor(private readonly child: ChildProcess) {}

  static async start(niceness = 10): Promise<LoadProcess> {
    const child = fork(entry, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the load process exited (code ${code}) before it started`)));
    });
    setPriority(child.pid!, niceness);
    return new LoadProcess(child);
  }

  /** Runs one load; `stop()` ends it early. */
  run(opts: Omit<LoadOptions, 'signal'>): { result: Promise<LoadResult>; stop(): void } {
    const result = new Promise<LoadResult>((resolve, reject) => {
      this.child.once('message', (m: Reply) => ('result' in m ? resolve(m.result) : reject(new Error('error' in m ? m.error : 'unexpected reply'))));
    });
    this.child.send({ cmd: 'start', opts });
    return { result, stop: () => this.child.send({ cmd: 'stop' }) };
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'exit' });
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
