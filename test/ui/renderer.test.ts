// The built console page (out/renderer) in Debian's Chromium, served by the real
// headless control server over the fixture backend (test/control): it renders
// its shell and every view from the API without a single console error, runs in
// "headless mode" without the Electron bridge, navigates by the URL fragment, and
// keeps its strict Content-Security-Policy (enforced, not only declared).
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { CONTENT_SECURITY_POLICY } from '../../main/csp';
import { terminalSockets } from '../../runtime/control/terminal';
import { startHarness, type Harness } from '../control/helpers';
import { ARTIFACTS, CHROMIUM, CHROMIUM_MISSING, ensureRendererBuilt, launchChromium, rendererOut, watchProblems, type Browser } from '../helpers/browser';

const SCREENSHOT = path.join(ARTIFACTS, 'ui-shell.png');
const NAV = ['Overview', 'Nodes', 'Sections', 'Mutexes', 'Events', 'Hardware locks', 'Mailboxes', 'Components', 'Event log', 'Faults', 'Terminal', 'Debugger'];

/** A same-origin script that reports whether the page's CSP lets it call eval(). */
const CSP_PROBE = `try { window.__evalAllowed = eval('1') === 1; } catch { window.__evalAllowed = false; }`;

// Its own test, so a machine without Chromium shows a failed test with the
// reason (the suite's before hook would only cancel the tests below).
test(`Debian's Chromium is installed at ${CHROMIUM}`, () => {
  assert.ok(existsSync(CHROMIUM), CHROMIUM_MISSING);
});

describe('console renderer in Chromium (headless mode, fixture backend)', () => {
  let harness: Harness;
  let browser: Browser;
  let staticDir: string;
  let problems: string[] = [];

  async function openPage(hash = '', initScript?: string): Promise<Page> {
    const page = await browser.context.newPage();
    problems = watchProblems(page);
    if (initScript) await page.addInitScript(initScript);
    await page.goto(`${harness.server.url}/${hash}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    return page;
  }

  before(async () => {
    ensureRendererBuilt();
    // The built page plus two probe files, served by the real control server.
    staticDir = mkdtempSync(path.join(tmpdir(), 'mcs-ui-static-'));
    cpSync(rendererOut, staticDir, { recursive: true });
    writeFileSync(path.join(staticDir, '__csp-probe.js'), CSP_PROBE);
    // The control for the probe: a page without any policy, where eval must work.
    writeFileSync(path.join(staticDir, '__no-csp.html'), '<!doctype html><link rel="icon" href="data:,"><title>control</title>');
    harness = await startHarness({ staticDir, sockets: terminalSockets({ mcsHome: staticDir, cluster: 'uitest', shell: '/bin/sh' }) });
    browser = await launchChromium();
    // Signed in once, as a user does: the one-time login URL leaves a session cookie.
    const login = await browser.context.newPage();
    await login.goto(harness.server.loginUrl());
    await login.close();
  });

  after(async () => {
    await browser?.close();
    await harness?.close();
    if (staticDir) rmSync(staticDir, { recursive: true, force: true });
  });

  test('shows the header, every navigation entry and the Overview with live status, in headless mode', async () => {
    const page = await openPage();
    await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'MCS Developer Kit' }).waitFor());
    const nav = page.getByRole('navigation', { name: 'Console views' });
    assert.deepEqual(await nav.getByRole('link').allInnerTexts(), NAV);
    assert.equal(await page.getByTestId('shell-mode').innerText(), 'headless mode');
    assert.equal(await page.getByRole('main').getByRole('heading', { level: 2 }).innerText(), 'Overview');
    assert.equal(await nav.getByRole('link', { name: 'Overview' }).getAttribute('aria-current'), 'page');
    const status = await harness.backend.status();
    await page.getByTestId('connection').filter({ hasText: `${status.name} · generation ${status.generation}` }).waitFor();
    assert.ok(!page.url().includes(harness.server.token) && !page.url().includes('once='), 'no secret in the address bar');

    mkdirSync(ARTIFACTS, { recursive: true });
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
    await main.getByText('Wait-for graph').waitFor();
    assert.equal(new URL(page.url()).hash, '#/mutexes');
    assert.equal(await nav.getByRole('link', { name: 'Mutexes' }).getAttribute('aria-current'), 'page');
    assert.equal(await nav.getByRole('link', { name: 'Nodes' }).getAttribute('aria-current'), null);

    await nav.getByRole('link', { name: 'Debugger' }).click();
    await main.getByRole('heading', { level: 2, name: 'Debugger' }).waitFor();
    await page.goBack();
    await main.getByRole('heading', { level: 2, name: 'Mutexes' }).waitFor();
    // Alt+2 is the keyboard way to the Nodes view.
    await page.keyboard.press('Alt+2');
    await main.getByRole('heading', { level: 2, name: 'Nodes' }).waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('every view renders from the API without an error', async () => {
    const page = await openPage();
    const main = page.getByRole('main');
    for (const label of NAV) {
      await page.getByRole('navigation', { name: 'Console views' }).getByRole('link', { name: label, exact: true }).click();
      await main.getByRole('heading', { level: 2, name: label }).waitFor();
    }
    await page.getByRole('navigation', { name: 'Console views' }).getByRole('link', { name: 'Sections' }).click();
    await main.getByRole('table', { name: 'Sections' }).getByText('webcache:buckets').waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a link to a view opens on that view; an unknown view falls back to Overview', async () => {
    const page = await openPage('#/log');
    assert.equal(await page.getByRole('main').getByRole('heading', { level: 2 }).innerText(), 'Event log');
    await page.goto(`${harness.server.url}/#/no-such-view`);
    await page.getByRole('main').getByRole('heading', { level: 2, name: 'Overview' }).waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('the page carries the strict CSP of main/csp.ts, and the browser enforces it', async () => {
    const page = await openPage();
    const meta = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
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

    await page.goto(`${harness.server.url}/__no-csp.html`);
    await page.addScriptTag({ url: '/__csp-probe.js' });
    assert.equal(await page.evaluate('window.__evalAllowed'), true, 'control: without the CSP the probe can eval');
    await page.close();
  });

  test('a browser that is not signed in is told how to sign in, and the API refuses it', async () => {
    const fresh = await launchChromium();
    try {
      const page = await fresh.context.newPage();
      problems = watchProblems(page);
      await page.goto(`${harness.server.url}/#/overview`);
      await page.getByTestId('signin-needed').waitFor();
      assert.match(await page.getByTestId('signin-needed').innerText(), /one-time login link/);
      assert.match(await page.getByTestId('connection').innerText(), /^disconnected: not signed in/);
      assert.ok(problems.every((p) => /401/.test(p)), `only refusals: ${problems.join('; ')}`);
    } finally {
      await fresh.close();
    }
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
    assert.deepEqual(problems, []);
    await page.close();
  });
});
