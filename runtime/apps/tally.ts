// The smallest useful recoverable component (docs/sdk.md walks through it): every
// node counts its own ticks, and a global total lives in the master's shared
// area under one global mutex. The total is never trusted across a failure: in
// every recovery the master zeroes the area and each instance adds back its own
// count, so after any failure total = the sum of the live members' counts.
//
//   mcs up --nodes 3 --app tally      then: mcs components, mcs kill-node 0 --yes
import type { AppContext, RunningApp } from '../nodes/app-context';
import { McsComponent, globalSpace, type ComponentSpace, type Lockable, type RecoveryContext } from '../sdk';

/** Master area layout: the total, the mutex that guards it, each member's count. */
export const TALLY = { total: 0, mutexSlot: 8, mutexGeneration: 12, counts: 64, bytes: 64 + 8 * 16 } as const;

export class Tally extends McsComponent {
  /** Local state, enough to rebuild this node's contribution (paper §3.6). */
  private count = 0;
  private mutex: Lockable | null = null;

  constructor(space: ComponentSpace) {
    super(space, { name: 'tally', masterAreaBytes: TALLY.bytes });
  }

  protected override async buildMaster(rc: RecoveryContext): Promise<void> {
    const m = this.space.mem;
    const id = `${m.load32(rc.area.offset + TALLY.mutexSlot)}.${m.load32(rc.area.offset + TALLY.mutexGeneration)}`;
    if (rc.fresh || this.mutex?.id !== id || !this.mutex.valid) {
      // The mutex lives in the master's contribution, like the area.
      this.mutex = await this.space.createMutex(`tally.lock.${rc.generation}`);
      const [slot, gen] = this.mutex.id.split('.').map(Number);
      m.store32(rc.area.offset + TALLY.mutexSlot, slot);
      m.store32(rc.area.offset + TALLY.mutexGeneration, gen);
    }
    await rc.lock(this.mutex);
    m.write(rc.area.offset, new Uint8Array(8));
    m.write(rc.area.offset + TALLY.counts, new Uint8Array(8 * 16));
    rc.unlock(this.mutex);
  }

  protected override async rebuild(rc: RecoveryContext): Promise<void> {
    const m = this.space.mem;
    const id = `${m.load32(rc.area.offset + TALLY.mutexSlot)}.${m.load32(rc.area.offset + TALLY.mutexGeneration)}`;
    if (this.mutex?.id !== id) {
      const old = this.mutex;
      this.mutex = await this.space.openMutex(id);
      if (old) await this.space.closeMutex(old);
    }
    await rc.lock(this.mutex);
    m.store64n(rc.area.offset + TALLY.total, m.load64n(rc.area.offset + TALLY.total) + this.count);
    m.store64n(rc.area.offset + TALLY.counts + 8 * this.node, this.count);
    rc.unlock(this.mutex);
  }

  /** One unit of work: local state first, then global (paper §3.6.4). */
  async tick(): Promise<void> {
    this.count++;
    const mine = this.count;
    await this.consistent(async (tx) => {
      const area = this.masterArea!;
      await tx.lock(this.mutex!);
      // Already there: a recovery since the local update rebuilt it for us.
      if (tx.load64(area, TALLY.counts + 8 * this.node) === mine) return;
      tx.store64(area, TALLY.total, tx.load64(area, TALLY.total) + 1);
      tx.store64(area, TALLY.counts + 8 * this.node, mine);
    });
  }

  get local(): number {
    return this.count;
  }
}

export async function start(ctx: AppContext): Promise<RunningApp> {
  const tally = new Tally(globalSpace(ctx));
  if ((await tally.start()) !== 'OK') throw new Error('tally could not build its shared state');
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tally
      .tick()
      .catch((err) => ctx.log('tally.error', null, { message: (err as Error).message }))
      .finally(() => (busy = false));
  }, 50);
  return {
    async stop() {
      clearInterval(timer);
      await tally.stop();
    },
  };
}
