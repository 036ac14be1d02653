// `mcs console`, the headless web mode, as a user meets it: the command starts a
// real multicomputer and prints a one-time login URL; Chromium opens it, is
// signed in by an HttpOnly cookie and lands on the console; the link does not
// work twice; the control token shows up nowhere in the page, its URL or the
// event log; and the Terminal view runs a shell whose `mcs nodes` prints the
// node table of this very multicomputer.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { readConnectionFile } from '../../runtime/control/connection-file';
import { connectControl } from '../../runtime/control/client';
import { tempDir, until } from '../control/helpers';
import { finish, mcsEnv, Output, startMcs } from '../cli/helpers';
import { ARTIFACTS, ensureRendererBuilt, launchChromium, watchProblems, type Browser } from '../helpers/browser';

const CLUSTER = `webc${process.pid % 100000}`;

describe('mcs console in a browser, over a real multicomputer', () => {
  let tmp: ReturnType<typeof tempDir>;
  let consoleProcess: ReturnType<typeof startMcs>;
  let done: ReturnType<typeof finish>;
  let out: Output;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let loginUrl: string;
  let token: string;

  before(async () => {
    ensureRendererBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    tmp = tempDir('mcs-webc-');
    consoleProcess = startMcs(['--cluster', CLUSTER, 'console', '--nodes', '2', '--gsm-mb', '2'], mcsEnv(tmp.dir));
    out = new Output(consoleProcess.stdout);
    done = finish(consoleProcess);
    await until('the login URL is printed', () => /console: open (\S+)/.test(out.text), 60_000);
    loginUrl = /console: open (\S+)/.exec(out.text)![1]!;
    token = readConnectionFile(path.join(tmp.dir, CLUSTER))!.token;
    browser = await launchChromium();
    page = await browser.context.newPage();
    problems = watchProblems(page);
  });

  after(async () => {
    await browser?.close();
    if (consoleProcess && consoleProcess.exitCode === null) consoleProcess.kill('SIGTERM');
    const r = await done;
    assert.match(r.stdout, /multicomputer '.*' stopped\n$/, `mcs console did not stop cleanly:\n${r.stdout}\n${r.stderr}`);
    tmp?.remove();
  });

  test('prints a one-time login URL, never the token', () => {
    assert.match(loginUrl, /^http:\/\/127\.0\.0\.1:\d+\/login\?once=[A-Za-z0-9_-]{43}$/);
    assert.ok(!out.text.includes(token), 'the token was printed');
  });

  test('the login URL signs the browser in with an HttpOnly, SameSite=Strict cookie and lands on the console', async () => {
    const response = await page.goto(loginUrl);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(response?.status(), 200);
    await page.getByRole('heading', { level: 1, name: 'MCS Developer Kit' }).waitFor();
    const cookies = await browser.context.cookies();
    const session = cookies.find((c) => c.name === 'mcs_session');
    assert.ok(session, 'no session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.notEqual(session.value, token);
    assert.equal(await page.evaluate('document.cookie'), '', 'page scripts can read the session');
    // The cookie authorizes same-origin API calls from the page; no token is involved.
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/status', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return { http: r.status, body: (await r.json()) as { ok: boolean; result?: { nodeCount: number } } };
    });
    assert.equal(status.http, 200);
    assert.equal(status.body.result?.nodeCount, 2);
  });

  test('the same login URL does not work a second time, not even in a fresh browser', async () => {
    const fresh = await launchChromium();
    try {
      const p = await fresh.context.newPage();
      const r = await p.goto(loginUrl);
      assert.equal(r?.status(), 403);
      assert.match(await p.textContent('body') ?? '', /used already or has expired/);
      assert.deepEqual((await fresh.context.cookies()).filter((c) => c.name === 'mcs_session'), []);
      const api = await p.evaluate(async () => (await fetch('/api/status', { method: 'POST', body: '{}' })).status);
      assert.equal(api, 401);
    } finally {
      await fresh.close();
    }
  });

  test('the Terminal view runs a shell with mcs on its PATH: `mcs nodes` shows this multicomputer', async () => {
    await page.goto(new URL('/#/terminal', loginUrl).href);
    await page.getByTestId('terminal-state').filter({ hasText: 'running' }).waitFor({ timeout: 30_000 });
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('mcs nodes\n');
    const rows = page.locator('.xterm-rows');
    // The header, then a row for each of the two nodes (whatever state the load left them in).
    // Polled from here: the page's CSP forbids the string evaluation waitForFunction would need.
    const state = String.raw`(?:starting|up|suspect|stopped|failed|left)\b`;
    const table = [/NODE\s+STATE\s+PID/, new RegExp(String.raw`\s0\s+` + state), new RegExp(String.raw`\s1\s+` + state)];
    await until('the node table is shown', async () => {
      const t = (await rows.textContent()) ?? '';
      return table.every((re) => re.test(t));
    }, 60_000);
    const text = (await rows.textContent()) ?? '';
    assert.match(text, /mcs nodes/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-console-terminal.png') });
  });

  test('the shell outlives the view: away to another view and back, it is the same session', async () => {
    await page.goto(new URL('/#/nodes', loginUrl).href);
    await page.getByTestId('terminal').waitFor({ state: 'detached' });
    await page.goto(new URL('/#/terminal', loginUrl).href);
    await page.getByTestId('terminal-state').filter({ hasText: 'running' }).waitFor();
    assert.match((await page.locator('.xterm-rows').textContent()) ?? '', /NODE\s+STATE\s+PID/);
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('echo still-$((6*7))\n');
    await until('the same shell answers', async () => /still-42/.test((await page.locator('.xterm-rows').textContent()) ?? ''), 30_000);
  });

  test('the page, its URL and the event log never contain the token; the page raised no errors', async () => {
    const html = await page.content();
    assert.ok(!html.includes(token), 'the token is in the page');
    assert.ok(!page.url().includes(token), 'the token is in the URL');
    const client = await connectControl({ stateDir: path.join(tmp.dir, CLUSTER) });
    try {
      const rows = (await client.log({ filter: {}, fromStart: true, limit: 1000 })).rows;
      assert.ok(rows.length > 0);
      assert.ok(!JSON.stringify(rows).includes(token), 'the token is in the event log');
      assert.ok(!JSON.stringify(rows).includes(new URL(loginUrl).searchParams.get('once')!), 'the login code is in the event log');
    } finally {
      client.close();
    }
    assert.deepEqual(problems.filter((p) => !p.includes('/login?once=')), []);
  });
});
