// The one place a FileCache is chosen by mode. `global` and `local` are the
// McsComponent-based caches (built separately on the SDK); until they exist
// here, asking for them is an error that says so, never a stand-in.
import type { AppContext } from '../../nodes/app-context';
import type { CacheMode, FileCache } from './cache-api';
import { LruFileCache, NoFileCache } from './lru-cache';

export class CacheModeUnavailable extends Error {
  constructor(readonly mode: CacheMode) {
    super(`cache mode '${mode}' is not available yet (it needs the McsComponent SDK's Web cache); available: ${availableModes().join(', ')}`);
    this.name = 'CacheModeUnavailable';
  }
}

/** Modes this build can run, best first. */
export function availableModes(): CacheMode[] {
  return ['shared-nothing', 'off'];
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
    case 'local':
      throw new CacheModeUnavailable(mode);
  }
}
