// Finds a global application shipped with the kit by name. Headless, nodes run
// from source through tsx and import runtime/apps/<name>.ts. The desktop bundle
// cannot import a .ts path at run time: electron.vite.config.ts replaces this
// module with main/bundled-apps.ts, a table of the apps built into the bundle.
import type { AppStart } from './app-context';

/** What a global application module exports. */
export interface KitApp {
  start?: AppStart;
  /** Decoded views of its sections for the console (runtime/sdk/section-layout.ts), validated when registered. */
  sectionLayouts?: unknown;
}

export function loadKitApp(name: string): Promise<KitApp> {
  return import(new URL(`../apps/${name}.ts`, import.meta.url).href) as Promise<KitApp>;
}
