// The Electron main process: hands the real Electron module to the desktop app
// (main/desktop.ts), which test/main runs under a stand-in where Electron cannot
// be downloaded. Nothing else belongs here.
import * as electron from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDesktop } from './desktop';

void startDesktop(electron, {
  outMain: path.dirname(fileURLToPath(import.meta.url)),
  env: process.env,
  versions: {
    electron: process.versions.electron ?? 'unknown',
    chrome: process.versions.chrome ?? 'unknown',
    node: process.versions.node,
  },
}).catch((e: unknown) => {
  console.error('mcs console: the desktop app failed to start:', e);
  electron.app.exit(1);
});
