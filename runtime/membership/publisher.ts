// Membership changes from more than one thread of the supervisor process: the
// detector thread removes the nodes it fences, the main thread adds nodes that
// join and removes nodes that leave. Each change is a delta applied to the mask
// published in GSM (not to either thread's idea of who is up), under a lock in
// memory shared by the two threads, so a join published by one thread can never
// resurrect a node the other has just removed, and generations stay one ordered
// sequence.
import type { Gsm } from '../gsm/gsm';
import { H } from '../gsm/layout';
import { membersOf, publishGeneration } from './generations';

/** A lock word in a SharedArrayBuffer both threads hold (0 free, 1 held). */
export class ThreadLock {
  private readonly word: Int32Array;

  constructor(buffer: SharedArrayBuffer, byteOffset: number) {
    this.word = new Int32Array(buffer, byteOffset, 1);
  }

  /** Held only for a handful of stores, never across an await. */
  with<T>(fn: () => T): T {
    while (Atomics.compareExchange(this.word, 0, 0, 1) !== 0) Atomics.wait(this.word, 0, 1, 5);
    try {
      return fn();
    } finally {
      Atomics.store(this.word, 0, 0);
      Atomics.notify(this.word, 0, 1);
    }
  }
}

export interface Published {
  generation: number;
  members: number[];
}

export class MembershipPublisher {
  constructor(
    private readonly gsm: Gsm,
    readonly lock: ThreadLock,
  ) {}

  /** The members and generation as published (the truth every node installs). */
  current(): Published {
    return { generation: this.gsm.map.load32(H.generation), members: membersOf(this.gsm.map.load32(H.memberMask)) };
  }

  /** Publishes the next generation with `add` joined and `remove` gone. */
  change(delta: { add?: number; remove?: number; reset?: true }): Published {
    return this.lock.with(() => {
      const m = this.gsm.map;
      let mask = delta.reset ? 0 : m.load32(H.memberMask);
      if (delta.add !== undefined) mask = (mask | (1 << delta.add)) >>> 0;
      if (delta.remove !== undefined) mask = (mask & ~(1 << delta.remove)) >>> 0;
      const generation = m.load32(H.generation) + 1;
      const members = membersOf(mask);
      publishGeneration(this.gsm, generation, members);
      return { generation, members };
    });
  }

  /** True if `node` is in the published membership. */
  isMember(node: number): boolean {
    return (this.gsm.map.load32(H.memberMask) & (1 << node)) !== 0;
  }
}
