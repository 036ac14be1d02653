// The one place a FileCache is chosen by mode. `global` and `local` are the
// McsComponent-based cache (global-cache.ts, built on the SDK): until that file
// is in the tree, asking for them is an error that says so, never a stand-in.
// It is loaded by path so this factory builds with or without it; once both
// halves have landed the import can become a plain static one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AppContext } from '../../nodes/app-context';
import type { CacheMode, FileCache } from './cache-api';
import { LruFileCache, NoFileCache } from './lru-cache';

const COMPONENT_CACHE = new URL('./global-cache.ts', import.meta.url);

/** What global-cache.ts provides. */
interface ComponentCacheModule {
  createComponentCache(ctx: AppContext, mode: 'global' | 'local', opts: { bytes: number }): Promise<FileCache>;
}

export class CacheModeUnavailable extends Error {
  constructor(readonly mode: CacheMode) {
    super(`cache mode '${mode}' is not available yet (it needs the McsComponent SDK's Web cache); available: ${availableModes().join(', ')}`);
    this.name = 'CacheModeUnavailable';
  }
}

const componentCacheBuilt = () => existsSync(fileURLToPath(COMPONENT_CACHE));

/** Modes this build can run, best first. */
export function availableModes(): CacheMode[] {
  return componentCacheBuilt() ? ['global', 'local', 'shared-nothing', 'off'] : ['shared-nothing', 'off'];
}

export interface CacheSetup {
  ctx: AppContext;
  /** This node's cache memory (its contribution in the global mode). */
  cacheBytes: number;
}

export async function createFileCache(mode: CacheMode, setup: CacheSetup): Promise<FileCache> {
  switch (mode) {
    case 'shared-nothing':
      return new LruFileCache(setup.cacheBytes);
    case 'off':
      return new NoFileCache();
    case 'global':
    case 'local': {
      if (!componentCacheBuilt()) throw new CacheModeUnavailable(mode);
      const mod = (await import(COMPONENT_CACHE.href)) as ComponentCacheModule;
      return mod.createComponentCache(setup.ctx, mode, { bytes: setup.cacheBytes });
    }
  }
}
