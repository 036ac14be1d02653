// A process-local mutex with a global mutex's statuses, for components run over
// local resources (Figure 7's "local" bar). Nothing local can be abandoned: a
// holder that dies takes the whole process with it.
import type { LockStatus } from '../objects/mutex';

/** What the SDK needs of a mutex: a GlobalMutex, or a LocalMutex. */
export interface Lockable {
  readonly id: string;
  /** False once the mutex's id no longer names it (deleted, reclaimed). */
  readonly valid: boolean;
  lock(timeoutMs?: number): Promise<LockStatus>;
  tryLock(): LockStatus;
  markConsistent(): void;
  unlock(): 'OK' | 'NOT_RECOVERABLE' | 'MEMORY_FAILED';
}

export class LocalMutex implements Lockable {
  private held = false;
  private readonly queue: (() => void)[] = [];
  readonly valid = true;

  constructor(readonly id: string) {}

  tryLock(): LockStatus {
    if (this.held) return 'TIMEOUT';
    this.held = true;
    return 'OK';
  }

  lock(timeoutMs = Infinity): Promise<LockStatus> {
    if (this.tryLock() === 'OK') return Promise.resolve('OK');
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const grant = () => {
        clearTimeout(timer);
        resolve('OK');
      };
      this.queue.push(grant);
      if (Number.isFinite(timeoutMs))
        timer = setTimeout(() => {
          const i = this.queue.indexOf(grant);
          if (i >= 0) this.queue.splice(i, 1);
          resolve('TIMEOUT');
        }, timeoutMs);
    });
  }

  markConsistent(): void {}

  unlock(): 'OK' {
    if (!this.held) throw new Error(`local mutex ${this.id} is not held`);
    const next = this.queue.shift();
    if (next) next(); // handed over: stays held
    else this.held = false;
    return 'OK';
  }
}
