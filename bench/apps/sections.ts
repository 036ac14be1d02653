// A bench app: each node creates `count` GSM sections and keeps them open, so a
// recovery is measured with the paper's "64 application GSM areas" in use
// (§4.4: MCS kernel recovery took ~25 ms with 64 areas allocated).
import type { AppContext, RunningApp } from '../../runtime/nodes/app-context';
import type { Section } from '../../runtime/objects/section';

export async function start(ctx: AppContext): Promise<RunningApp> {
  const count = Number((ctx.config as { count?: unknown } | undefined)?.count ?? 16);
  if (!Number.isInteger(count) || count < 0 || count > 1024) throw new Error('sections: count must be 0..1024');
  const held: Section[] = [];
  for (let i = 0; i < count; i++) held.push(await ctx.objects.createSection(`bench.n${ctx.node}.i${ctx.incarnation}.s${i}`, 4096));
  ctx.log('bench.sections', null, { count });
  return {
    async stop() {
      for (const s of held) await s.close().catch(() => undefined);
    },
  };
}
