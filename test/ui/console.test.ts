// The console end to end: the built renderer served by the headless control
// server, in Debian's Chromium, over a real multicomputer (supervisor here, four
// node processes running test/fixtures/apps/console-demo.ts). Every view shows
// live data; a node killed from the UI fails in the Nodes view and in the log;
// the hex viewer shows bytes this test writes into a section; the Mutexes view
// shows the real deadlock and, after the kill, the abandoned mutex; log filters,
// the live tail and export work. Each view is saved as test-results/console-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { ObjectType } from '../../runtime/gsm/layout';
import { createControlBackend } from '../../runtime/control/backend';
import { startControlServer, type ControlServer } from '../../runtime/control/server';
import { terminalSockets } from '../../runtime/control/terminal';
import type { ControlBackend } from '../../runtime/control/api';
import { ARTIFACTS, ensureRendererBuilt, openConsole, rendererOut, type Browser } from '../helpers/browser';
import { until as eventually } from '../control/helpers';
import { startTestMulticomputer, testApp, until, type TestMulticomputer } from '../helpers/multicomputer';

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`) });

describe('the console in a browser, over a real multicomputer', () => {
  let t: TestMulticomputer;
  let backend: ControlBackend;
  let server: ControlServer;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  const main = () => page.getByRole('main');
  async function go(view: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Console views' }).getByRole('link', { name: view, exact: true }).click();
    await main().getByRole('heading', { level: 2, name: view }).waitFor();
  }
  /** The table row (role=row) of an object table that contains `text`. */
  const row = (table: string, text: string) => main().getByRole('table', { name: table }).getByRole('row').filter({ hasText: text });

  before(async () => {
    ensureRendererBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startTestMulticomputer({ nodes: 4, apps: [testApp('console-demo')], heartbeatMs: 100, heartbeatTimeoutMs: 1500 });
    await until('the demo objects exist, node 1 holds demo.shared and nodes 2 and 3 deadlock', () => {
      const kinds = t.mc.query.query({ kinds: ['demo.*', 'deadlock.waiting'] }).rows.map((r) => r.kind);
      return kinds.includes('demo.created') && kinds.includes('demo.holding') && kinds.filter((k) => k === 'deadlock.waiting').length === 2;
    }, 60_000).catch((e) => {
      const rows = t.mc.query.query({}).rows.map((r) => `${r.node} ${r.kind} ${r.object ?? ''} ${JSON.stringify(r.details)}`);
      throw new Error(`${(e as Error).message}; the log so far:\n${rows.join('\n')}`);
    });
    backend = createControlBackend(t.mc);
    server = await startControlServer(backend, {
      stateDir: path.join(t.dir, 'control'),
      staticDir: rendererOut,
      sockets: terminalSockets({ mcsHome: t.dir, cluster: 'control' }),
    });
    ({ browser, page, problems } = await openConsole(server));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await t?.stop();
  });

  test('signs in through the one-time login URL; no secret stays in the address bar', async () => {
    await page.getByTestId('connection').filter({ hasText: `generation ${t.mc.generation()}` }).waitFor();
    assert.ok(!page.url().includes(server.token) && !page.url().includes('once='));
    assert.equal(new URL(page.url()).hash, '#/overview');
  });

  test('Overview: generation, health and charts from the status subscription', async () => {
    await main().getByTestId('generation').filter({ hasText: String(t.mc.generation()) }).waitFor();
    await main().getByTestId('health').getByText('ok').waitFor();
    await main().getByText('4 of 4 nodes up').waitFor();
    // The charts have drawn more than one pushed sample.
    // Page expressions are strings (these tests compile for Node, without the DOM's
    // types), polled from here: waitForFunction's in-page polling would need eval, which the CSP refuses.
    await eventually('every chart has drawn more than one sample', () =>
      page.evaluate(`[...document.querySelectorAll('[data-points]')].every((e) => Number(e.getAttribute('data-points')) > 1)`),
    );
    assert.equal(await main().locator('canvas').count(), 4);
    await shot(page, 'overview');
  });

  test('Nodes: every node with its real pid, incarnation and GSM', async () => {
    await go('Nodes');
    for (const n of t.mc.nodes()) {
      await row('Nodes', String(n.pid)).filter({ hasText: 'up' }).waitFor();
    }
    assert.equal(await main().getByRole('table', { name: 'Nodes' }).getByRole('row').count(), 5, 'header + 4 nodes');
    await shot(page, 'nodes');
  });

  test('Sections: the hex viewer shows bytes this test writes into a section, live', async () => {
    await go('Sections');
    await row('Sections', 'demo.bytes').click();
    const hex = main().getByTestId('hex-viewer');
    await hex.getByText('MCS console demo').waitFor();
    // Written by this process straight into GSM, while the viewer is open.
    const r = t.mc.namespace.resolve('demo.bytes', ObjectType.Section);
    const written = new TextEncoder().encode('written by the test!');
    t.mc.gsm.map.write(r.dataOffset + 0x100, written);
    await main().getByTestId('goto-offset').fill('0x100');
    await main().getByTestId('goto-offset').press('Enter');
    await hex.locator('[data-off="256"]').filter({ hasText: 'ff' }).or(hex.locator('[data-off="256"]').filter({ hasText: '77' })).waitFor();
    const want = JSON.stringify([...written].map((b) => b.toString(16).padStart(2, '0')));
    await eventually('the written bytes are shown', () =>
      page.evaluate(`${want}.every((b, i) => document.querySelector('[data-off="' + (256 + i) + '"]')?.textContent === b)`),
    );
    await hex.getByText('written by the test!').waitFor().catch(() => {}); // ASCII column splits at 16 bytes
    assert.match(await hex.innerText(), /written by the/);
    assert.match(await main().getByTestId('selection').innerText(), /selected 0x100/);
    await main().getByRole('complementary', { name: 'Decoded' }).getByText('u32').waitFor();

    // Selection: shift-click extends it to a range.
    await hex.locator('[data-off="271"]').click({ modifiers: ['Shift'] });
    assert.match(await main().getByTestId('selection').innerText(), /selected 0x100–0x10f \(16 bytes\)/);

    // Fail the memory under part of the section: those bytes read 0xFF and are marked
    // failed; a byte that merely holds 0xFF is not.
    t.mc.gsm.map.write(r.dataOffset + 0x120, Uint8Array.of(0xff));
    const failed = await backend.failMemory({ offset: r.dataOffset + 0x108, length: 16 });
    assert.deepEqual(failed, { offset: r.dataOffset + 0x108, length: 16 });
    await hex.getByTestId('failed-note').filter({ hasText: '16 of these 2048 bytes are in failed memory' }).waitFor();
    const marks = JSON.parse(
      (await page.evaluate(`JSON.stringify([...document.querySelectorAll('[data-testid="hex-viewer"] [data-off]')]
        .filter((e) => Number(e.dataset.off) >= 0x100 && Number(e.dataset.off) < 0x128)
        .map((e) => [Number(e.dataset.off), e.textContent, e.dataset.failed === 'yes', getComputedStyle(e).textDecorationLine]))`)) as string,
    ) as [number, string, boolean, string][];
    for (const [off, text, marked, decoration] of marks) {
      const inFailed = off >= 0x108 && off < 0x118;
      assert.equal(marked, inFailed, `byte 0x${off.toString(16)} marked failed: ${marked}`);
      if (inFailed) assert.deepEqual([text, decoration], ['ff', 'line-through'], `failed byte 0x${off.toString(16)} reads the dummy value, struck through`);
      else if (off < 0x108) assert.equal(text, written[off - 0x100]!.toString(16).padStart(2, '0'), 'bytes before the failed region keep their value');
    }
    assert.equal(marks.find(([off]) => off === 0x120)?.[1], 'ff', 'an ordinary 0xFF byte is shown');
    assert.equal(await hex.locator('.asc .failed').count(), 16, 'the ASCII column marks the same 16 bytes');
    await shot(page, 'sections');
  });

  test('Mutexes: the real deadlock between nodes 2 and 3 is a red cycle in the wait-for graph', async () => {
    await go('Mutexes');
    await main().getByTestId('deadlock-count').filter({ hasText: '1 deadlock' }).waitFor();
    const cycle = main().getByTestId('wait-graph').locator('[data-cycle="yes"]');
    await eventually('both edges of the cycle are drawn', async () => (await cycle.count()) === 2);
    const labels = await cycle.evaluateAll((els) => els.map((e) => e.textContent?.trim() ?? ''));
    assert.deepEqual(labels.sort(), ['dl.a', 'dl.b']);
    const holder = t.mc.nodes().find((n) => n.id === 1)!;
    await row('Mutexes', 'demo.shared').filter({ hasText: `pid ${holder.pid}` }).waitFor();
    await shot(page, 'mutexes');
  });

  test('Events, Hardware locks, Mailboxes, Components and Faults show what exists', async () => {
    await go('Events');
    await row('Events', 'demo.ready').filter({ hasText: 'manual' }).waitFor();
    await shot(page, 'events');
    await go('Hardware locks');
    await row('Hardware locks', 'demo.hw').waitFor();
    await shot(page, 'hwlocks');
    await go('Mailboxes');
    await row('Mailboxes', 'demo.mail').filter({ hasText: 'node 1' }).waitFor();
    await shot(page, 'mailboxes');
    await go('Components');
    await main().getByTestId('components-empty').waitFor();
    await shot(page, 'components');
    await go('Faults');
    assert.equal(await main().getByTestId('fault-node').locator('option').count(), 4);
    await shot(page, 'faults');
    await go('Terminal');
    await shot(page, 'terminal');
    await go('Debugger');
    await shot(page, 'debugger');
  });

  test('killing node 1 from the UI: confirmed, failed in Nodes, node.failed in the log, demo.shared abandoned', async () => {
    await go('Nodes');
    await row('Nodes', 'node 1').first().waitFor().catch(() => {});
    await main().getByRole('table', { name: 'Nodes' }).getByRole('row').nth(2).click(); // sorted by id: header, node 0, node 1
    await main().getByTestId('node-detail').getByText('node 1 · incarnation').waitFor();
    await main().getByTestId('kill-node').click();
    const dialog = page.getByRole('alertdialog');
    await dialog.getByRole('heading', { name: 'Kill node 1' }).waitFor();
    await shot(page, 'confirm-kill');
    await dialog.getByTestId('confirm-ok').click();
    await main().getByTestId('node-detail').locator('[data-state="failed"]').waitFor();
    assert.equal(t.mc.nodes().find((n) => n.id === 1)!.state, 'failed');
    await shot(page, 'nodes-after-kill');

    await go('Event log');
    await main().getByTestId('log-kinds').fill('node');
    const kindsShown = () => main().getByTestId('log-rows').locator('[data-kind]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')!));
    await eventually('"node" selects node.* and the failure is there', async () => {
      const kinds = await kindsShown();
      return kinds.every((k) => k === 'node' || k.startsWith('node.')) && kinds.includes('node.failed');
    });
    await shot(page, 'log-after-kill');

    await go('Mutexes');
    await row('Mutexes', 'demo.shared').locator('[data-state="abandoned"]').waitFor();
    await row('Mutexes', 'demo.shared').click();
    await main().getByTestId('abandoned-info').getByText(/by node 1 pid/).waitFor();
    await shot(page, 'mutexes-abandoned');
    // The deadlock is between nodes 2 and 3: still there.
    await main().getByTestId('deadlock-count').waitFor();
  });

  test('force-release asks for the mutex name to be typed', async () => {
    await row('Mutexes', 'dl.a').click();
    await main().getByTestId('force-release').click();
    const dialog = page.getByRole('alertdialog');
    assert.equal(await dialog.getByTestId('confirm-ok').isDisabled(), true);
    await dialog.getByTestId('confirm-typed').fill('dl.b');
    assert.equal(await dialog.getByTestId('confirm-ok').isDisabled(), true, 'the wrong name does not unlock it');
    await dialog.getByTestId('confirm-typed').press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const mutexes = await backend.mutexes({});
    assert.equal(mutexes.find((m) => m.name === 'dl.a')!.state, 'held', 'cancelled: nothing was released');
  });

  test('Event log: text filter, live tail with pause and resume, context, export', async () => {
    await go('Event log');
    await main().getByRole('button', { name: 'Clear' }).click();
    await main().getByTestId('log-text').fill('demo.created');
    await eventually('only the matching row', async () => {
      const k = await main().locator('[data-kind]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
      return k.length === 1 && k[0] === 'demo.created';
    });
    await main().locator('[data-kind="demo.created"]').click();
    await main().getByTestId('show-context').click();
    await main().getByTestId('log-context').locator('li').nth(3).waitFor();

    // Live tail: an operator action appears without a reload.
    await main().getByTestId('log-text').fill('');
    await main().getByTestId('log-kinds').fill('operator');
    await main().getByTestId('tail-toggle').filter({ hasText: 'Live —' }).waitFor();
    const operatorRows = async () => (await backend.log({ filter: { kinds: ['operator.*'] }, limit: 1000 })).rows.length;
    const shownKinds = () => main().locator('[data-kind]').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')!));
    const before = await operatorRows();
    await eventually('the operator filter is applied', async () => {
      const k = await shownKinds();
      return k.length === before && k.every((x) => x.startsWith('operator.'));
    });
    await backend.signalEvent({ target: 'demo.ready' });
    await eventually('the tail brings the operator row', async () => (await shownKinds()).includes('operator.signal-event'));

    // Paused: new rows are counted, not scrolled to; resume follows again.
    await main().getByTestId('tail-toggle').click();
    await main().getByTestId('tail-toggle').filter({ hasText: 'Paused' }).waitFor();
    await backend.resetEvent({ target: 'demo.ready' });
    await main().getByTestId('tail-toggle').filter({ hasText: '1 new' }).waitFor();
    await main().getByTestId('tail-toggle').click();
    await main().getByTestId('tail-toggle').filter({ hasText: 'Live' }).waitFor();
    await shot(page, 'log');

    // Export: every matching row, as the API pages them.
    const expected = (await backend.log({ filter: { kinds: ['operator', 'operator.*'] }, fromStart: true, limit: 1000 })).rows;
    const [json] = await Promise.all([page.waitForEvent('download'), main().getByTestId('export-json').click()]);
    const exported = JSON.parse(readFileSync((await json.path())!, 'utf8')) as { id: number; kind: string }[];
    assert.deepEqual(exported.map((r) => r.id), expected.map((r) => r.id));
    const [csv] = await Promise.all([page.waitForEvent('download'), main().getByTestId('export-csv').click()]);
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\r\n');
    assert.match(lines[0]!, /^id,node,incarnation,seq,/);
    assert.equal(lines.length, expected.length + 1);
  });

  test('saved filters survive a reload', async () => {
    await main().getByTestId('save-name').fill('operator actions');
    await main().getByTestId('save-filter').click();
    await page.reload();
    await main().getByRole('heading', { level: 2, name: 'Event log' }).waitFor();
    await main().getByTestId('saved-filters').selectOption('operator actions');
    await eventually('the saved kinds are applied', async () => (await main().getByTestId('log-kinds').inputValue()) === 'operator');
  });

  test('every view, light and dark, at the smallest supported window and at 1440×900, keeps its layout', async () => {
    const views = ['Overview', 'Nodes', 'Sections', 'Mutexes', 'Events', 'Hardware locks', 'Mailboxes', 'Components', 'Event log', 'Faults', 'Terminal', 'Debugger'];
    const file = (v: string) => v.toLowerCase().replace(/ /g, '-');
    for (const theme of ['light', 'dark'] as const) {
      if ((await page.evaluate('document.documentElement.dataset.theme')) !== theme) await page.getByTestId('theme-toggle').click();
      for (const [width, height] of [[1024, 640], [1440, 900]] as const) {
        await page.setViewportSize({ width, height });
        for (const view of views) {
          await go(view);
          const overflow = await page.evaluate(`document.documentElement.scrollWidth > window.innerWidth || document.documentElement.scrollHeight > window.innerHeight`);
          assert.equal(overflow, false, `${view} fits ${width}×${height} (${theme})`);
          await page.waitForTimeout(150);
          await shot(page, `${file(view)}-${theme}-${width}x${height}`);
        }
      }
    }
  });

  test('no console error, failed request or CSP violation along the way', () => {
    assert.deepEqual(problems, []);
  });
});
