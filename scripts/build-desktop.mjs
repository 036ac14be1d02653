// npm run build:desktop: the desktop app, with its native modules rebuilt for
// Electron's ABI (Electron embeds its own Node; an addon built for the system
// Node does not load in it). The headless build stays as it is: the Electron
// builds go to their own places, found first by the bundled main process:
//   out/main/mcs_gsm.node            the GSM addon (runtime/gsm/native.ts looks beside its bundle)
//   out/node_modules/better-sqlite3  the event log's SQLite (Node resolves out/main's imports here first)
//   out/node_modules/node-pty        the console terminal's pty
// Needs Electron's headers, which node-gyp downloads for the Electron version in
// node_modules/electron: it cannot run without network access to them, and says so.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const out = path.join(root, 'out');
const electronVersion = JSON.parse(readFileSync(path.join(root, 'node_modules/electron/package.json'), 'utf8')).version;
const HEADERS = 'https://electronjs.org/headers';
const nodeGyp = path.join(root, 'node_modules/node-gyp/bin/node-gyp.js');

function step(title) {
  console.log(`\n== build:desktop: ${title}`);
}

function run(cmd, args, cwd, what) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(
      `\nbuild:desktop: ${what} failed (exit ${r.status ?? r.signal}).\n` +
        `Rebuilding native modules for Electron ${electronVersion} needs its headers, which node-gyp fetches from\n` +
        `${HEADERS} (or a cache in ~/.cache/node-gyp/${electronVersion}); on a machine without that network\n` +
        `access this step cannot succeed. The headless console (npm start falls back to it) needs none of this.`,
    );
    process.exit(1);
  }
}

/** node-gyp rebuild of the package in `dir` against Electron's headers. */
function rebuildForElectron(dir, what) {
  rmSync(path.join(dir, 'build'), { recursive: true, force: true });
  run(process.execPath, [nodeGyp, 'rebuild', `--target=${electronVersion}`, '--runtime=electron', `--dist-url=${HEADERS}`], dir, `${what} (node-gyp for Electron ${electronVersion})`);
}

step('bundles (electron-vite build)');
run(path.join(root, 'node_modules/.bin/electron-vite'), ['build'], root, 'electron-vite build');

step(`GSM addon for Electron ${electronVersion}`);
const gsmBuild = path.join(out, 'native-build/gsm');
rmSync(gsmBuild, { recursive: true, force: true });
mkdirSync(gsmBuild, { recursive: true });
for (const f of ['binding.gyp', 'gsm.cc']) cpSync(path.join(root, 'runtime/gsm/native', f), path.join(gsmBuild, f));
rebuildForElectron(gsmBuild, 'the GSM addon');
cpSync(path.join(gsmBuild, 'build/Release/mcs_gsm.node'), path.join(out, 'main/mcs_gsm.node'));

for (const pkg of ['better-sqlite3', 'node-pty']) {
  step(`${pkg} for Electron ${electronVersion}`);
  const target = path.join(out, 'node_modules', pkg);
  rmSync(target, { recursive: true, force: true });
  cpSync(path.join(root, 'node_modules', pkg), target, { recursive: true, dereference: true });
  rebuildForElectron(target, pkg);
}

for (const f of ['main/index.js', 'main/node-entry.js', 'main/mcs_gsm.node', 'preload/preload.cjs', 'renderer/index.html']) {
  if (!existsSync(path.join(out, f))) {
    console.error(`build:desktop: out/${f} is missing after the build`);
    process.exit(1);
  }
}
console.log(`\nbuild:desktop: done. Start the desktop app with \`npm start\` (Electron ${electronVersion}).`);
