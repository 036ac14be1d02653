// The one place a FileCache is chosen by mode. `global` and `local` are the
// McsComponent-based cache (global-cache.ts, built on the SDK); `shared-nothing`
// and `off` need nothing global.
import type { AppContext } from '../../nodes/app-context';
import type { CacheMode, FileCache } from './cache-api';
import { createComponentCache } from './global-cache';
import { LruFileCache, NoFileCache } from './lru-cache';

/** Modes this build can run, best first. */
export function availableModes(): CacheMode[] {
  return ['global', 'local', 'shared-nothing', 'off'];
}

export interface CacheSetup {
  ctx: AppContext;
  /** This node's cache memory (its contribution in the global mode). */
  cacheBytes: number;
  /** The site's real root (the global cache's revalidation thread stats files under it). */
  root?: string;
  revalidateMs?: number;
}

export async function createFileCache(mode: CacheMode, setup: CacheSetup): Promise<FileCache> {
  switch (mode) {
    case 'shared-nothing':
      return new LruFileCache(setup.cacheBytes);
    case 'off':
      return new NoFileCache();
    case 'global':
    case 'local':
      return createComponentCache(setup.ctx, mode, { bytes: setup.cacheBytes, root: setup.root, revalidateMs: setup.revalidateMs });
  }
}
