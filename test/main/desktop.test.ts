// The desktop app's real main-process code (main/desktop.ts, main/host-runtime.ts,
// main/ipc.ts, the preload's bridge, runtime/nodes/host-electron.ts) under plain
// Node, with test/helpers/electron-stand-in.ts in place of the Electron binary
// that cannot be downloaded here. The multicomputer is real: its nodes are Node
// children running the electron-vite bundle's node entry (out/main/node-entry.js)
// with the kit's apps bundled in, over a real GSM, answering the console API over
// the stand-in's IPC. What only Electron can show (the sandboxed renderer
// process, contextBridge's copying, the ABI of the rebuilt addons) is listed in
// the README, "What is exercised without Electron".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, before, describe, test } from 'node:test';
import { startDesktop, type DesktopApp } from '../../main/desktop';
import { createConsoleBridge } from '../../main/preload-bridge';
import type { ConsoleBridge } from '../../main/bridge-types';
import { loadWindowState, WINDOW_STATE_FILE } from '../../main/window-state';
import { methodNames, type StatusUpdate } from '../../runtime/control/api';
import type { TerminalServerMessage } from '../../runtime/control/api/terminal-protocol';
import { CONTENT_SECURITY_POLICY } from '../../main/csp';
import { isProcessAlive as alive } from '../../runtime/control/connection-file';
import { tempDir, until } from '../control/helpers';
import { startTestMulticomputer } from '../helpers/multicomputer';
import { DetectorBoard } from '../../runtime/membership/detector-board';
import { createElectronStandIn, type StandInWindow } from '../helpers/electron-stand-in';

const root = path.resolve(import.meta.dirname, '../..');
const outMain = path.join(root, 'out/main');
const nodeEntry = path.join(outMain, 'node-entry.js');
const NODE_ABI_ADDON = path.join(root, 'runtime/gsm/native/build/Release/mcs_gsm.node');

function newest(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));
}

/** The node entry bundle is what the utility processes run: rebuilt when older than its sources. */
function ensureDesktopBundle(): void {
  const sources = Math.max(newest(path.join(root, 'runtime')), newest(path.join(root, 'main')));
  if (existsSync(nodeEntry) && statSync(nodeEntry).mtimeMs >= sources) return;
  const r = spawnSync(path.join(root, 'node_modules/.bin/electron-vite'), ['build'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `electron-vite build failed:\n${r.stdout}\n${r.stderr}`);
}

test('the desktop bundle carries every app in runtime/apps', async () => {
  const { BUNDLED_APP_NAMES } = await import('../../main/bundled-apps');
  const apps = readdirSync(path.join(root, 'runtime/apps')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  assert.deepEqual([...BUNDLED_APP_NAMES].sort(), apps.sort());
});

test('worker threads start from their own bundled entries, which need no TypeScript loader', async () => {
  ensureDesktopBundle();
  for (const entry of ['detector-worker.js', 'thread-main.js', 'debug-agent.js', 'webcache-revalidator.js']) {
    const code = readFileSync(path.join(outMain, entry), 'utf8');
    assert.doesNotMatch(code, /(?:from |import\()["'][^"']*(?:tsx|\.ts)["']/, `${entry} loads TypeScript`);
  }
  // An app thread's module is what thread-main.js imports and runs. Loaded here,
  // the bundle finds the GSM addon the way the stand-in's nodes do.
  process.env.MCS_GSM_NATIVE = NODE_ABI_ADDON;
  const revalidator = (await import(path.join(outMain, 'webcache-revalidator.js'))) as { run?: unknown };
  assert.equal(typeof revalidator.run, 'function', 'the Web cache revalidation thread exports run()');
  // The supervisor's failure detector, from the bundle, over a real GSM.
  const t = await startTestMulticomputer({ nodes: 2 });
  const worker = new Worker(path.join(outMain, 'detector-worker.js'), {
    workerData: { gsmName: t.mc.gsm.name, board: DetectorBoard.create(t.mc.gsm.layout.maxNodes).buffer, heartbeatPeriodMs: 100, heartbeatTimeoutMs: 250, checkEveryMs: 10 },
    env: { ...process.env, MCS_GSM_NATIVE: NODE_ABI_ADDON },
  });
  try {
    const seen: string[] = [];
    worker.on('message', (m: { kind: string }) => seen.push(m.kind));
    await until('the bundled detector is checking', () => seen.includes('ready'));
    worker.postMessage({ kind: 'stop' });
    await until('it stops when told', () => seen.includes('stopped'));
    assert.deepEqual(seen.filter((k) => k === 'error' || k === 'fenced'), [], 'it fenced no healthy node and threw nothing');
  } finally {
    await worker.terminate();
    await t.stop();
  }
});

describe('the desktop app under an Electron stand-in, over a real multicomputer', () => {
  let tmp: ReturnType<typeof tempDir>;
  let userData: string;
  let standIn: ReturnType<typeof createElectronStandIn>;
  let desktop: DesktopApp;
  let win: StandInWindow;
  let bridge: ConsoleBridge;
  let page: string;
  const cluster = `dsk${process.pid % 100000}`;

  before(async () => {
    ensureDesktopBundle();
    tmp = tempDir('mcs-desktop-');
    userData = path.join(tmp.dir, 'userData');
    mkdirSync(userData);
    // A window position saved by an earlier run.
    writeFileSync(path.join(userData, WINDOW_STATE_FILE), JSON.stringify({ x: 40, y: 30, width: 1300, height: 820, maximized: false }));
    standIn = createElectronStandIn(userData);
    const env = {
      ...process.env,
      MCS_HOME: path.join(tmp.dir, 'home'),
      MCS_CLUSTER: cluster,
      MCS_NODES: '2',
      MCS_GSM_MB: '2',
      MCS_APPS: 'counter',
      // The stand-in's nodes are Node processes: they load the Node-ABI addon, not an Electron rebuild.
      MCS_GSM_NATIVE: NODE_ABI_ADDON,
    };
    const started = await startDesktop(standIn.electron, { outMain, env, versions: { electron: 'stand-in', chrome: 'stand-in', node: process.versions.node } });
    assert.ok(started);
    desktop = started;
    win = standIn.windows()[0]!;
    page = `file://${path.join(root, 'out/renderer/index.html')}#/nodes`;
    bridge = createConsoleBridge(standIn.rendererFor(win.webContents, page), { version: '0.1.0', platform: process.platform });
  });

  after(async () => {
    if (desktop && !standIn.quitted) {
      standIn.electron.app.quit();
      await desktop.stopped;
    }
    tmp?.remove();
  });

  test('nodes are utility processes running the bundled node entry, with the bundled apps', async () => {
    assert.equal(standIn.forks.length, 2);
    for (const f of standIn.forks) {
      assert.equal(f.modulePath, nodeEntry);
      assert.ok(f.args.some((a) => a === '--apps=counter'));
    }
    const nodes = await bridge.api.nodes();
    assert.deepEqual(nodes.map((n) => n.id), [0, 1]);
    assert.deepEqual(new Set(nodes.map((n) => n.pid)), new Set(standIn.forks.map((f) => f.pid)));
    for (const n of nodes) assert.ok(n.pid !== null && alive(n.pid));
    await until('both nodes started the bundled counter app', async () => {
      const rows = (await bridge.api.log({ filter: { kinds: ['app.start'] }, limit: 10 })).rows;
      return new Set(rows.filter((r) => r.object === 'counter').map((r) => r.node)).size === 2;
    }, 30_000);
  });

  test('one hardened window: sandboxed, isolated, no node, CSP header, no popups or foreign navigation, no permissions', () => {
    assert.equal(standIn.windows().length, 1);
    assert.equal(standIn.sandboxed, true);
    const prefs = win.options.webPreferences;
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.webviewTag, false);
    assert.equal(prefs.preload, path.join(root, 'out/preload/preload.cjs'));
    assert.equal(win.loaded, path.join(root, 'out/renderer/index.html'));
    assert.equal(win.shown, true);
    assert.deepEqual(win.webContents.openHandler?.({ url: 'https://example.com/' }), { action: 'deny' });
    assert.equal(win.webContents.navigate('will-navigate', 'https://example.com/'), true);
    assert.equal(win.webContents.navigate('will-redirect', 'file:///etc/passwd'), true);
    assert.equal(win.webContents.navigate('will-navigate', page), false);
    let headers: Record<string, string[] | string> = {};
    for (const l of standIn.headerListeners) l({ responseHeaders: {} }, (r) => (headers = r.responseHeaders));
    assert.deepEqual(headers['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
    assert.ok(standIn.permissionAnswers.length > 0 && standIn.permissionAnswers.every((a) => a === false));
  });

  test('the window opens where it was left (a validated JSON file in userData)', () => {
    assert.deepEqual([win.options.x, win.options.y, win.options.width, win.options.height], [40, 30, 1300, 820]);
    assert.equal(loadWindowState(userData, [{ x: 5000, y: 5000, width: 800, height: 600 }]), null, 'a window off every display is not restored');
  });

  test('window.mcs holds typed members only: the whole console API, subscriptions and the terminal; no raw invoke', async () => {
    assert.deepEqual(Object.keys(bridge).sort(), ['api', 'appInfo', 'platform', 'terminal', 'version']);
    for (const m of [...methodNames, 'subscribeStatus', 'subscribeLog', 'close']) {
      assert.equal(typeof (bridge.api as unknown as Record<string, unknown>)[m], 'function', m);
    }
    const status = await bridge.api.status();
    assert.equal(status.name, cluster);
    assert.equal(status.nodeCount, 2);
    assert.equal((await bridge.appInfo()).electron, 'stand-in');
  });

  test('IPC validates every argument with the API schemas and keeps the error codes', async () => {
    await assert.rejects(bridge.api.killNode({ node: -3 }), (e: { code?: string; message?: string }) => e.code === 'bad-request' && /params\.node/.test(e.message ?? ''));
    await assert.rejects(bridge.api.killNode({ node: 1, force: true } as never), (e: { code?: string }) => e.code === 'bad-request');
    await assert.rejects(bridge.api.readSection({ target: 'no.such.section' }), (e: { code?: string }) => e.code === 'not-found');
    const raw = standIn.rendererFor(win.webContents, page);
    await assert.rejects(raw.invoke('api:subscribeLog', 7, { kinds: ['bad kind!'] }), /invalid arguments/);
    await assert.rejects(raw.invoke('terminal:send', 1, { type: 'exec', command: 'id' }), /invalid arguments/);
    await assert.rejects(raw.invoke('app:shell', 'rm -rf /'), /No handler/);
  });

  test('IPC refuses any frame that is not the console page', async () => {
    const foreign = createConsoleBridge(standIn.rendererFor(win.webContents, 'https://evil.example/'), { version: '0', platform: 'x' });
    await assert.rejects(foreign.api.status(), /refused, sender https:\/\/evil\.example\/ is not the console page/);
    await assert.rejects(foreign.terminal.open({ cols: 80, rows: 24 }), /refused/);
  });

  test('subscriptions cross as events; killing a node from the bridge kills its utility process', async () => {
    const updates: StatusUpdate[] = [];
    const rows: string[] = [];
    const stopStatus = bridge.api.subscribeStatus((u) => updates.push(u));
    const stopLog = bridge.api.subscribeLog({ kinds: ['fault.*', 'node.*'] }, (r) => rows.push(...r.map((x) => x.kind)));
    await until('a first status push', () => updates.length > 0);
    const victim = (await bridge.api.nodes()).find((n) => n.id === 1)!;
    await bridge.api.killNode({ node: 1 });
    // The desktop app restarts failed nodes by itself (on-failure): a push shows
    // node 1 failed, or already back as a new incarnation.
    const failedOrReborn = (u: StatusUpdate) => {
      const n = u.nodes.find((x) => x.id === 1);
      return n?.state === 'failed' || (n !== undefined && n.incarnation > victim.incarnation);
    };
    await until('node 1 shows failed (or reborn) in a pushed update', () => updates.some(failedOrReborn), 15_000);
    await until('the kill is in the pushed log rows', () => rows.includes('fault.kill'));
    await until('the utility process is gone', () => !alive(victim.pid!));
    stopStatus();
    stopLog();
    await bridge.api.restartNode({ node: 1 });
    await until('node 1 is back', async () => (await bridge.api.nodes()).find((n) => n.id === 1)?.state === 'up', 30_000);
  });

  test('the terminal runs in the main process: `mcs nodes` lists this multicomputer', async () => {
    const messages: TerminalServerMessage[] = [];
    const id = await bridge.terminal.open({ cols: 120, rows: 30 });
    bridge.terminal.onMessage(id, (m) => messages.push(m));
    bridge.terminal.send(id, { type: 'input', data: 'mcs nodes; exit\r' });
    await until('the shell exits', () => messages.some((m) => m.type === 'exit'), 60_000);
    const out = messages.map((m) => (m.type === 'output' ? m.data : '')).join('');
    assert.match(out, /NODE\s+STATE\s+PID/);
    assert.match(out, /\n\s+0\s+up\b/);
    assert.match(out, /\n\s+1\s+up\b/);
  });

  test('a crashed renderer is reloaded and its subscriptions released; the nodes are untouched', async () => {
    const before = (await bridge.api.nodes()).map((n) => [n.id, n.pid, n.incarnation]);
    let pushes = 0;
    bridge.api.subscribeStatus(() => pushes++);
    await until('a status push', () => pushes > 0);
    win.webContents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 139 });
    assert.equal(win.webContents.reloads, 1);
    // The reloaded page has a fresh preload; the old subscription pushes no more.
    const reloaded = createConsoleBridge(standIn.rendererFor(win.webContents, page), { version: '0.1.0', platform: process.platform });
    const seen = pushes;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pushes, seen, 'the crashed page still gets pushes');
    assert.deepEqual((await reloaded.api.nodes()).map((n) => [n.id, n.pid, n.incarnation]), before);
    bridge = reloaded;
  });

  test('a second instance quits at once and brings the first one\'s window forward', async () => {
    const focusedBefore = win.focused;
    const second = createElectronStandIn(userData);
    const r = await startDesktop(second.electron, { outMain, env: { ...process.env, MCS_HOME: path.join(tmp.dir, 'home2') }, versions: { electron: 'x', chrome: 'x', node: 'x' } });
    assert.equal(r, null);
    assert.equal(second.quitted, true);
    assert.equal(second.forks.length, 0);
    await until('the first window is focused', () => win.focused > focusedBefore);
  });

  test('closing the window saves its bounds; the next window opens there', async () => {
    win.bounds = { x: 200, y: 150, width: 1111, height: 700 };
    win.close();
    assert.deepEqual(JSON.parse(readFileSync(path.join(userData, WINDOW_STATE_FILE), 'utf8')), { x: 200, y: 150, width: 1111, height: 700, maximized: false });
    standIn.electron.app.emit('activate');
    win = standIn.windows()[0]!;
    assert.deepEqual([win.options.x, win.options.y, win.options.width, win.options.height], [200, 150, 1111, 700]);
  });

  test('quitting stops the multicomputer cleanly before the app goes', async () => {
    const pids = (await bridge.api.nodes()).map((n) => n.pid!);
    const stateDir = path.join(tmp.dir, 'home', cluster);
    assert.ok(existsSync(path.join(stateDir, 'control.json')));
    standIn.electron.app.quit();
    assert.equal(standIn.quitted, false, 'the quit was let through before the nodes stopped');
    await desktop.stopped;
    assert.equal(standIn.quitted, true);
    for (const pid of pids) assert.equal(alive(pid), false);
    const codes = await Promise.all(standIn.forks.map((f) => f.exited));
    assert.ok(codes.length >= 3);
    assert.equal(existsSync(path.join(stateDir, 'control.json')), false);
    assert.equal(existsSync(`/dev/shm/mcs-${cluster}`), false);
  });
});
