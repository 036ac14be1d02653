// Builds the parts of the desktop console into out/:
//   out/main/index.js       the Electron main process (ES module; package.json "main"),
//                           hosting the supervisor and the control server
//   out/main/node-entry.js  what each node's utility process runs (runtime/nodes/node-main.ts
//                           with the kit's apps bundled in: no TypeScript loader at run time)
//   out/preload/preload.cjs the preload (CommonJS: sandboxed preloads cannot be ES modules)
//   out/renderer/           the Vue console, also served as-is by the headless server and test/ui
// No step here needs the Electron binary, so `npm run build` works where it cannot be downloaded.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from './main/csp';

const root = import.meta.dirname;
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { version: string };

/**
 * Under `electron-vite dev` only, relax the page's CSP meta tag so Vite can
 * inject component styles as <style> elements. A built page keeps the strict policy.
 */
function devCspPlugin(): Plugin {
  return {
    name: 'mcs:dev-csp',
    apply: 'serve',
    transformIndexHtml: (html) => html.replace(CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY),
  };
}

export default defineConfig({
  main: {
    resolve: {
      // Nodes (and the console's section decoder) find the kit's apps by name; in the
      // bundle, from the table of bundled apps.
      alias: [{ find: /^(?:\.\/|\.\.\/nodes\/)kit-apps$/, replacement: resolve(root, 'main/bundled-apps.ts') }],
    },
    build: {
      lib: {
        entry: {
          index: resolve(root, 'main/index.ts'),
          'node-entry': resolve(root, 'main/node-entry.ts'),
          // Worker threads start from files of their own: each is an entry beside
          // the module that spawns it, found there when that module is bundled.
          'detector-worker': resolve(root, 'runtime/membership/detector-worker.ts'),
          'thread-main': resolve(root, 'runtime/nodes/thread-main.ts'),
          'debug-agent': resolve(root, 'runtime/debugger/agent-thread.ts'),
          // App threads the kit's apps start (AppContext.startThread).
          'webcache-revalidator': resolve(root, 'runtime/apps/webcache/revalidator.ts'),
        },
      },
      rolldownOptions: {
        // Shared chunks beside the entries: runtime/gsm/native.ts looks for the
        // desktop build's mcs_gsm.node next to the file it was bundled into.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    define: { __MCS_VERSION__: JSON.stringify(pkg.version) },
    build: {
      // The sandboxed preload can require only 'electron': bundle everything else.
      externalizeDeps: false,
      lib: { entry: resolve(root, 'main/preload.ts'), formats: ['cjs'] },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [vue(), devCspPlugin()],
    // The dev server binds to loopback only, matching the CSP's connect-src.
    server: { host: '127.0.0.1' },
    build: {
      outDir: resolve(root, 'out/renderer'),
      rolldownOptions: { input: resolve(root, 'renderer/index.html') },
    },
  },
});
