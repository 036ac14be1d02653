// Global events (paper §2.3.1): a thread on any node waits until another signals.
// Manual-reset events stay signaled until reset and release every waiter;
// auto-reset events release one waiter and reset themselves, like Win32 events.
// Data: u32 signaled (the futex word), u32 waiters, u32 signal count.
import { freezeAwareDeadline } from '../gsm/freeze-clock';
import type { Mapping } from '../gsm/native';
import { GlobalHandle } from './handle';

export const EventFlags = { ManualReset: 1 } as const;
export const EVENT_BYTES = 64;
/** Field offsets in an event's data (status tools decode them too). */
export const EVENT_FIELDS = { signaled: 0, waiters: 4, signals: 8 } as const;
const { signaled: SIGNALED, waiters: WAITERS, signals: SIGNALS } = EVENT_FIELDS;

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
    signalEventAt(this.mem, this.base, this.manualReset);
  }

  reset(): void {
    this.check();
    resetEventAt(this.mem, this.base);
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
    // Freeze-aware: time some node spent frozen by the debugger does not count.
    const deadline = freezeAwareDeadline(this.mem, timeoutMs);
    this.mem.add32(this.base + WAITERS, 1);
    try {
      for (;;) {
        if (!this.valid) return 'MEMORY_FAILED';
        if (this.take()) return 'SIGNALED';
        const left = deadline.remainingMs();
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

/** The event protocol on raw GSM, shared by handles and the operator's signal-event. */
export function signalEventAt(map: Mapping, dataOffset: number, manualReset: boolean): void {
  map.store32(dataOffset + SIGNALED, 1);
  map.add32(dataOffset + SIGNALS, 1);
  map.wake32(dataOffset + SIGNALED, manualReset ? 2 ** 31 - 1 : 1);
}

export function resetEventAt(map: Mapping, dataOffset: number): void {
  map.store32(dataOffset + SIGNALED, 0);
}
