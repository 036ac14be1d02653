// The built console page (out/renderer), served over HTTP to Debian's Chromium
// the way the headless console server will serve it: it renders its shell,
// navigates between views, runs in "headless mode" without the Electron bridge,
// and keeps its strict Content-Security-Policy without a single console error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CONTENT_SECURITY_POLICY } from '../../main/csp';

const root = path.resolve(import.meta.dirname, '../..');
const rendererOut = path.join(root, 'out/renderer');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(root, 'test-results/ui-shell.png');
const NAV = ['Nodes', 'Sections', 'Mutexes', 'Events', 'Log', 'Terminal', 'Debugger'];

/** Newest modification time of any file under `dir` (0 if it does not exist). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) => {
      const full = path.join(dir, e.name);
      return e.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs;
    }),
  );
}

/**
 * `npm run build` normally produced out/renderer already (CI runs it first). Build
 * here only when it is missing or older than the sources, so a stale bundle is
 * never what gets tested.
 */
function ensureRendererBuilt(): void {
  const index = path.join(rendererOut, 'index.html');
  const sources = Math.max(newestMtime(path.join(root, 'renderer')), newestMtime(path.join(root, 'main')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const bin = path.join(root, 'node_modules/.bin/electron-vite');
  const result = spawnSync(bin, ['build'], { cwd: root, encoding: 'utf8' });
  assert.equal(
    result.status,
    0,
    `out/renderer is missing or stale and \`electron-vite build\` failed:\n${result.stdout}\n${result.stderr}`,
  );
  assert.ok(existsSync(index), `electron-vite build did not produce ${index}`);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** A same-origin script that reports whether the page's CSP lets it call eval(). */
const CSP_PROBE = `try { window.__evalAllowed = eval('1') === 1; } catch { window.__evalAllowed = false; }`;

/** A static file server for out/renderer on 127.0.0.1; records every path it could not serve. */
function serveStatic(dir: string, misses: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (pathname === '/__csp-probe.js') {
      res.writeHead(200, { 'content-type': CONTENT_TYPES['.js']! }).end(CSP_PROBE);
      return;
    }
    if (pathname === '/__no-csp.html') {
      // The control for the probe: a page without any policy, where eval must work.
      res.writeHead(200, { 'content-type': CONTENT_TYPES['.html']! }).end('<!doctype html><link rel="icon" href="data:,"><title>control</title>');
      return;
    }
    const file = path.resolve(dir, '.' + (pathname.endsWith('/') ? pathname + 'index.html' : pathname));
    if (!file.startsWith(dir + path.sep)) {
      misses.push(pathname);
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' });
        res.end(body);
      },
      () => {
        misses.push(pathname);
        res.writeHead(404).end();
      },
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const CHROMIUM_MISSING = `${CHROMIUM} is missing: the UI tests need Debian's Chromium (apt-get install -y chromium; .ci/run installs it)`;

// Its own test, so a machine without Chromium shows a failed test with the
// reason (the suite's before hook would only cancel the tests below).
test(`Debian's Chromium is installed at ${CHROMIUM}`, () => {
  assert.ok(existsSync(CHROMIUM), CHROMIUM_MISSING);
});

describe('console renderer in Chromium (headless mode)', () => {
  let server: Server;
  let baseUrl: string;
  let context: BrowserContext;
  let userDataDir: string;
  const misses: string[] = [];
  /** Console errors, page errors and failed requests of the page under test. */
  let problems: string[] = [];

  async function openPage(hash = '', initScript?: string): Promise<Page> {
    const page = await context.newPage();
    problems = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (req) => problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`));
    if (initScript) await page.addInitScript(initScript);
    await page.goto(`${baseUrl}/${hash}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    return page;
  }

  before(async () => {
    assert.ok(existsSync(CHROMIUM), CHROMIUM_MISSING);
    ensureRendererBuilt();
    server = await serveStatic(rendererOut, misses);
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    userDataDir = mkdtempSync(path.join(tmpdir(), 'mcs-ui-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('shows the header, every navigation entry and the Nodes view, in headless mode', async () => {
    const page = await openPage();
    await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'MCS Developer Kit' }).waitFor());
    const nav = page.getByRole('navigation', { name: 'Console views' });
    assert.deepEqual(await nav.getByRole('link').allInnerTexts(), NAV);
    assert.equal(await page.getByTestId('shell-mode').innerText(), 'headless mode');
    assert.equal(await page.getByRole('main').getByRole('heading', { level: 2 }).innerText(), 'Nodes');
    assert.match(await page.getByRole('main').innerText(), /headless mode/i);
    assert.equal(await nav.getByRole('link', { name: 'Nodes' }).getAttribute('aria-current'), 'page');

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('clicking a navigation entry changes the main pane and the URL fragment', async () => {
    const page = await openPage();
    const nav = page.getByRole('navigation', { name: 'Console views' });
    const main = page.getByRole('main');
    await nav.getByRole('link', { name: 'Mutexes' }).click();
    await main.getByRole('heading', { level: 2, name: 'Mutexes' }).waitFor();
    assert.match(await main.innerText(), /wait-for graph/);
    assert.equal(new URL(page.url()).hash, '#/mutexes');
    assert.equal(await nav.getByRole('link', { name: 'Mutexes' }).getAttribute('aria-current'), 'page');
    assert.equal(await nav.getByRole('link', { name: 'Nodes' }).getAttribute('aria-current'), null);

    await nav.getByRole('link', { name: 'Debugger' }).click();
    await main.getByRole('heading', { level: 2, name: 'Debugger' }).waitFor();
    await page.goBack();
    await main.getByRole('heading', { level: 2, name: 'Mutexes' }).waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a link to a view opens on that view; an unknown view falls back to Nodes', async () => {
    const page = await openPage('#/log');
    assert.equal(await page.getByRole('main').getByRole('heading', { level: 2 }).innerText(), 'Log');
    await page.goto(`${baseUrl}/#/no-such-view`);
    await page.getByRole('main').getByRole('heading', { level: 2, name: 'Nodes' }).waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('the page carries the strict CSP of main/csp.ts, and the browser enforces it', async () => {
    const page = await openPage();
    const meta = await page
      .locator('meta[http-equiv="Content-Security-Policy"]')
      .getAttribute('content');
    assert.equal(meta, CONTENT_SECURITY_POLICY);
    assert.doesNotMatch(meta ?? '', /unsafe-eval|unsafe-inline/);
    assert.deepEqual(problems, [], 'no CSP violation while rendering');

    // Enforced, not just present. A same-origin script (allowed by script-src
    // 'self') tries eval, which the CSP must refuse; Playwright's own evaluate()
    // is exempt from the page's CSP, so the probe has to be a page script.
    // (Page scripts run in the browser: they are strings here, as the tests are compiled for Node.)
    await page.addScriptTag({ url: '/__csp-probe.js' });
    assert.equal(await page.evaluate('window.__evalAllowed'), false, 'eval() must be blocked by the CSP');
    const inlineRan = await page.evaluate(`new Promise((resolve) => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.head.append(s);
      setTimeout(() => resolve(window.__inlineRan === true), 50);
    })`);
    assert.equal(inlineRan, false, 'inline script must be blocked by the CSP');

    await page.goto(`${baseUrl}/__no-csp.html`);
    await page.addScriptTag({ url: '/__csp-probe.js' });
    assert.equal(await page.evaluate('window.__evalAllowed'), true, 'control: without the CSP the probe can eval');
    await page.close();
  });

  test('with the desktop bridge present (window.mcs), shows the desktop mode and the shell versions', async () => {
    // Stands in for main/preload.ts, which cannot run without the Electron binary.
    const fakeBridge = `Object.defineProperty(window, 'mcs', { value: Object.freeze({
      version: '9.8.7', platform: 'linux',
      appInfo: () => Promise.resolve({ version: '9.8.7', electron: '41.10.0', chrome: '146.0', node: '24.0.0',
        platform: 'linux', arch: 'x64', packaged: false }),
    }) });`;
    const page = await openPage('', fakeBridge);
    assert.equal(await page.getByTestId('shell-mode').innerText(), 'desktop · linux · v9.8.7');
    await page.getByText('Electron 41.10.0 · Chrome 146.0').waitFor();
    assert.doesNotMatch(await page.getByRole('main').innerText(), /headless mode/i);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('every file the page asked for was served', () => {
    assert.deepEqual(misses, []);
  });
});
