// npm start: the desktop app where Electron is installed and its native modules
// were rebuilt for it (npm run build:desktop); otherwise the same console in a
// browser, through `mcs console`, with a line saying why. Arguments after `--`
// go to `mcs console` (e.g. npm start -- --nodes 2).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);

/** The Electron binary, or why there is none. */
function electronBinary() {
  try {
    const binary = require('electron'); // the package exports the binary's path, or throws when it was not downloaded
    return typeof binary === 'string' && existsSync(binary) ? { binary } : { why: 'the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)' };
  } catch {
    return { why: 'the Electron binary is not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)' };
  }
}

function run(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal; a SIGTERM sent to npm is passed on.
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

const electron = electronBinary();
const desktopBuilt = existsSync(path.join(root, 'out/main/mcs_gsm.node')) && existsSync(path.join(root, 'out/node_modules/better-sqlite3'));
if (electron.binary && desktopBuilt) {
  run(electron.binary, [root]);
} else {
  const why = electron.binary ? 'the native modules are not built for Electron (run `npm run build:desktop`)' : electron.why;
  console.error(`mcs: not opening the desktop app: ${why}.\nmcs: serving the same console to a browser instead (web mode); open the login URL below.`);
  const args = process.argv.slice(2);
  const defaults = args.length ? args : ['--nodes', '4', '--app', 'webcache'];
  run(process.execPath, [path.join(root, 'bin/mcs.js'), 'console', ...defaults]);
}
