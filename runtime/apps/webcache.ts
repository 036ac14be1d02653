// The cooperative Web cache (paper §4): every node runs a Web server on 127.0.0.1
// serving one static directory through a FileCache chosen by mode (modes.ts). The
// node publishes its server's URL as an endpoint (mcs status, the control API).
import { requestCounterName, type AppContext, type RunningApp } from '../nodes/app-context';
import { ObjectError } from '../objects/errors';
import { WebcacheConfig } from './webcache/config';
import { startFrontEnd } from './webcache/http-front';
import { createFileCache } from './webcache/modes';
import { siteRoot } from './webcache/site-path';

/** The console's decoded views of the cache's sections (registered by the console's back end). */
export { webcacheSectionLayouts as sectionLayouts } from './webcache/section-layouts';

/** Without a cache, files up to this size are still read whole (one read, no stream set-up). */
const OFF_WHOLE_FILE_LIMIT = 1024 * 1024;

export async function start(ctx: AppContext): Promise<RunningApp> {
  const publish = ctx.publishEndpoint;
  if (!publish) throw new Error('webcache runs on a node (its context publishes endpoints), not in a worker thread');
  const parsed = WebcacheConfig.safeParse(ctx.config ?? {});
  if (!parsed.success) throw new Error(`webcache config: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ')}`);
  const config = parsed.data;
  const cacheBytes = Math.floor(config.cacheMb * 1024 * 1024);
  const root = await siteRoot(config.site);
  const cache = await createFileCache(config.mode, { ctx, cacheBytes, root, revalidateMs: config.revalidateMs });
  const counterName = requestCounterName('webcache', ctx.node);
  // A restarted node's contribution was reset, but a node that only restarted its
  // app finds its register still there: counting goes on from its value.
  const requests = await ctx.objects.createHwLock(counterName).catch((e: unknown) => {
    if (e instanceof ObjectError && e.code === 'exists') return ctx.objects.openHwLock(counterName);
    throw e;
  });
  let errorsLogged = 0;
  const front = await startFrontEnd(
    {
      root,
      cache,
      wholeFileLimit: config.mode === 'off' ? OFF_WHOLE_FILE_LIMIT : cacheBytes,
      onError(err, url) {
        // Bounded: a failing disk must not flood the node's log ring.
        if (errorsLogged++ < 100) ctx.log('webcache.error', null, { url: url.slice(0, 200), message: (err as Error)?.message ?? String(err) });
      },
      onRequest: () => void requests.fetchAdd(1n),
    },
    config.basePort ? config.basePort + ctx.node : 0,
  );
  ctx.log('webcache.start', null, { mode: config.mode, site: root, cacheMb: config.cacheMb, url: front.url });
  publish(front.url);
  return {
    async stop() {
      await front.close();
      await cache.close();
    },
  };
}
