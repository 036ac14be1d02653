// The desktop bundle's stand-in for runtime/nodes/kit-apps.ts (aliased in
// electron.vite.config.ts): the kit's global applications, each a chunk of the
// node entry bundle, found by name. Add an app here when one lands in runtime/apps.
import type { KitApp } from '../runtime/nodes/kit-apps';

const apps: Record<string, () => Promise<KitApp>> = {
  counter: () => import('../runtime/apps/counter'),
  tally: () => import('../runtime/apps/tally'),
  webcache: () => import('../runtime/apps/webcache'),
};

/** test/main checks this against runtime/apps/*.ts, so a new app is not left out of the desktop build. */
export const BUNDLED_APP_NAMES = Object.keys(apps);

export function loadKitApp(name: string): Promise<KitApp> {
  const load = Object.hasOwn(apps, name) ? apps[name] : undefined;
  if (!load) return Promise.reject(new Error(`no application '${name}' in this build (bundled: ${Object.keys(apps).join(', ')})`));
  return load();
}

export type { KitApp };
