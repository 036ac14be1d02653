// A small global application that keeps live objects in GSM for the status tools
// and exercises the failure semantics: every node adds to one shared counter
// under a global mutex, and keeps its own per-node section of statistics. The
// shared objects are created by whichever node gets there first; when their
// contributor dies they are reclaimed and the survivors create them again.
import type { AppContext, RunningApp } from '../nodes/app-context';
import { ObjectError } from '../objects/errors';
import type { GlobalMutex } from '../objects/mutex';
import type { Section } from '../objects/section';

const PERIOD_MS = 200;

export async function start(ctx: AppContext): Promise<RunningApp> {
  const mine = await ctx.objects.createSection(`counter.node${ctx.node}`, 64);
  let shared: { lock: GlobalMutex; value: Section } | null = null;
  let increments = 0;

  async function openShared() {
    for (;;) {
      try {
        return { lock: await ctx.objects.openMutex('counter.lock'), value: await ctx.objects.openSection('counter.value') };
      } catch (err) {
        if (!(err instanceof ObjectError) || (err.code !== 'not-found' && err.code !== 'invalid-id')) throw err;
      }
      try {
        const lock = await ctx.objects.createMutex('counter.lock');
        const value = await ctx.objects.createSection('counter.value', 8);
        ctx.log('counter.created', value.id, { by: ctx.node });
        return { lock, value };
      } catch (err) {
        if (!(err instanceof ObjectError) || err.code !== 'exists') throw err;
      }
    }
  }

  async function tick() {
    try {
      shared ??= await openShared();
      const status = await shared.lock.lock(1000);
      if (status === 'TIMEOUT') return;
      if (status === 'ABANDONED') {
        // The previous holder died mid-update; an 8-byte counter is always whole,
        // so "repair" is to accept it (a real app rebuilds its structure here).
        ctx.log('counter.repaired', shared.lock.id, {});
        shared.lock.markConsistent();
      }
      if (status === 'OK' || status === 'ABANDONED') {
        const view = shared.value.map(0, 8);
        view.store64n(0, view.load64n(0) + 1);
        shared.lock.unlock();
        increments++;
        mine.map(0, 8).store64n(0, increments);
      } else {
        throw new ObjectError('unavailable', `counter lock: ${status}`);
      }
    } catch (err) {
      // The shared objects went away (their contributor failed): drop our
      // references (so the orphans can be freed) and reopen next tick.
      ctx.log('counter.reopen', null, { reason: (err as Error).message });
      const old = shared;
      shared = null;
      await old?.lock.close().catch(() => undefined);
      await old?.value.close().catch(() => undefined);
    }
  }

  const timer = setInterval(() => void tick(), PERIOD_MS);
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
