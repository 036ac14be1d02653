// Global events (paper §2.3.1): a thread on any node waits until another signals.
// Manual-reset events stay signaled until reset and release every waiter;
// auto-reset events release one waiter and reset themselves, like Win32 events.
// Data: u32 signaled (the futex word), u32 waiters, u32 signal count.
import { GlobalHandle } from './handle';

export const EventFlags = { ManualReset: 1 } as const;
export const EVENT_BYTES = 64;
const SIGNALED = 0;
const WAITERS = 4;
const SIGNALS = 8;

export type EventWaitResult = 'SIGNALED' | 'TIMEOUT' | 'MEMORY_FAILED';

export class GlobalEvent extends GlobalHandle {
  get manualReset(): boolean {
    return (this.record.flags & EventFlags.ManualReset) !== 0;
  }
  private get base() {
    return this.record.dataOffset;
  }

  signal(): void {
    this.check();
    this.mem.store32(this.base + SIGNALED, 1);
    this.mem.add32(this.base + SIGNALS, 1);
    this.mem.wake32(this.base + SIGNALED, this.manualReset ? 2 ** 31 - 1 : 1);
  }

  reset(): void {
    this.check();
    this.mem.store32(this.base + SIGNALED, 0);
  }

  get signaled(): boolean {
    return this.mem.load32(this.base + SIGNALED) === 1;
  }

  /** An auto-reset event is consumed by the waiter it releases. */
  private take(): boolean {
    if (this.manualReset) return this.mem.load32(this.base + SIGNALED) === 1;
    return this.mem.cas32(this.base + SIGNALED, 1, 0) === 1;
  }

  async wait(timeoutMs = Infinity): Promise<EventWaitResult> {
    this.check();
    const deadline = performance.now() + timeoutMs;
    this.mem.add32(this.base + WAITERS, 1);
    try {
      for (;;) {
        if (!this.valid) return 'MEMORY_FAILED';
        if (this.take()) return 'SIGNALED';
        const left = deadline - performance.now();
        if (left <= 0) return 'TIMEOUT';
        const r = await this.mem.wait32Async(this.base + SIGNALED, 0, left);
        if (r === 'failed') return 'MEMORY_FAILED';
      }
    } finally {
      this.mem.add32(this.base + WAITERS, -1);
    }
  }

  state(): { signaled: boolean; waiterCount: number; signalCount: number } {
    return {
      signaled: this.signaled,
      waiterCount: this.mem.load32(this.base + WAITERS),
      signalCount: this.mem.load32(this.base + SIGNALS),
    };
  }
}
