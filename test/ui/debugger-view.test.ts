// The console's Debugger view end to end: the built renderer in Debian's Chromium,
// served by the headless control server over a real 3-node multicomputer whose
// nodes run the debuggee app (a main thread and a worker thread each). From the UI
// only: a breakpoint on every node stops every thread (all-stop) while the nodes
// stay members, the source shows the current line, the parallel stacks are drawn
// and a frame becomes a named set, a value is compared across threads, the set is
// stepped, and everything resumes. Screenshots: test-results/debugger-*.png.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { ARTIFACTS } from '../helpers/browser';
import { openConsole, type ConsolePage } from '../helpers/console-page';
import { until as eventually } from '../control/helpers';
import { untilThreads } from '../helpers/debugger';
import { startTestMulticomputer, testApp, type TestMulticomputer } from '../helpers/multicomputer';

const NODES = 3;
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `debugger-${name}.png`) });

describe('the Debugger view over a real multicomputer', () => {
  let t: TestMulticomputer;
  let ui: ConsolePage;
  const page = () => ui.page;
  const main = () => ui.main();
  const backend = () => ui.backend;
  const threadRows = () => main().getByTestId('debug-threads').locator('[data-thread]');
  const statesShown = () => threadRows().evaluateAll((els) => els.map((e) => `${e.getAttribute('data-thread')} ${e.getAttribute('data-state')}`));
  const tab = (name: string) => main().getByRole('tab', { name }).click();

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // A generous heartbeat timeout, as in test/debugger: V8 enabling its debugger
    // on a loaded 2-core machine must not be what fences a node.
    t = await startTestMulticomputer({ nodes: NODES, apps: [testApp('debuggee')], heartbeatTimeoutMs: 1500 });
    await untilThreads(t.mc, NODES * 2);
    ui = await openConsole(t.mc, path.join(t.dir, 'control'));
    await ui.go('Debugger');
  });

  after(async () => {
    await ui?.close();
    await t?.stop();
  });

  test('attaches and lists every thread by node, running', async () => {
    await main().locator('[data-testid="debug-attached"][data-attached="yes"]').waitFor();
    await eventually('six running threads', async () => {
      const s = await statesShown();
      return s.length === NODES * 2 && s.every((x) => x.endsWith(' running'));
    });
    assert.deepEqual((await statesShown()).map((s) => s.split(' ')[0]), ['0.1', '0.2', '1.1', '1.2', '2.1', '2.2']);
    assert.equal(await main().getByTestId('focus-input').inputValue(), '[all]');
    await shot(page(), 'running');
  });

  test('a breakpoint set from the UI on all nodes stops every thread; the frozen nodes stay members', async () => {
    const generation = t.mc.generation();
    await tab('Breakpoints');
    await main().getByTestId('bp-location').fill('debuggee.ts:12');
    await main().getByRole('button', { name: 'Break', exact: true }).click();
    await main().locator('[data-action]').filter({ hasText: 'debuggee.ts:12' }).filter({ hasText: '[all]' }).waitFor();
    await eventually('every thread stopped', async () => {
      const s = await statesShown();
      return s.length === NODES * 2 && s.every((x) => x.endsWith(' stopped'));
    }, 30_000);
    const state = await backend().debugState!({});
    assert.ok(state.threads.some((x) => x.reason?.startsWith('breakpoint') && x.where?.fn === 'work' && x.where.line === 12), JSON.stringify(state.threads));
    // The leases are shown per frozen node, and the nodes are still members.
    await eventually('a lease per frozen node', async () => (await main().getByTestId('node-lease').count()) === NODES);
    assert.deepEqual(t.mc.members(), [0, 1, 2]);
    assert.equal(t.mc.generation(), generation, 'no membership change, so no recovery');
    // The source of the picked thread around its line. The focus's first stopped
    // thread (shown by default) may be one the all-stop caught elsewhere, so pick
    // one that stopped at the breakpoint.
    const atBreak = state.threads.find((x) => x.reason?.startsWith('breakpoint') && x.where?.line === 12)!;
    await threadRows().and(main().locator(`[data-thread="${atBreak.id}"]`)).locator('button.pick').click();
    const current = main().getByTestId('source-view').locator('tr[aria-current="step"]');
    await current.filter({ hasText: 'const doubled = n * 2;' }).waitFor();
    // The breakpoint is marked in the gutter; disabling it from the list hollows the mark.
    await main().getByTestId('source-view').locator('tr[data-line="12"] .dot.on').waitFor();
    await main().getByRole('checkbox', { name: /^disable break \d+$/ }).uncheck();
    await eventually('disabled in the service', async () => (await backend().debugState!({})).actions.every((a) => !a.enabled));
    await main().getByTestId('source-view').locator('tr[data-line="12"] .dot.off').waitFor();
    await main().getByRole('checkbox', { name: /^enable break \d+$/ }).check();
    await eventually('enabled again', async () => (await backend().debugState!({})).actions.every((a) => a.enabled));
    await main().getByTestId('source-view').locator('tr[data-line="12"] .dot.on:not(.off)').waitFor();
    await shot(page(), 'stopped');
  });

  test('parallel stacks are drawn as a tree; a frame becomes a named set', async () => {
    await tab('Parallel stacks');
    const stacks = main().getByTestId('parallel-stacks');
    const work = stacks.locator('[data-frame]').filter({ hasText: 'work' }).first();
    await work.waitFor();
    // Every stopped thread is counted somewhere in the roots.
    const rootCounts = await stacks.locator('[data-frame]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')!));
    assert.ok(rootCounts.length >= 3, `a tree with several frames: ${rootCounts.join(' | ')}`);
    // Edges are drawn once the boxes are laid out (a frame after they appear): the
    // main threads' (anonymous) -> work at least (Node's own frames below are dropped).
    await stacks.locator('svg path').first().waitFor({ state: 'attached' });
    await work.click();
    await main().getByTestId('frame-bar').filter({ hasText: 'work' }).waitFor();
    await main().getByTestId('frame-set-name').fill('inwork');
    await main().getByRole('button', { name: 'Make set' }).click();
    await main().getByTestId('named-sets').getByRole('button', { name: 'inwork', exact: true }).waitFor();
    const state = await backend().debugState!({});
    const inwork = state.sets.find((s) => s.name === 'inwork');
    const expected = state.threads.filter((x) => x.where?.fn === 'work').map((x) => x.id);
    assert.deepEqual(inwork?.members, expected);
    await shot(page(), 'stacks');
  });

  test('values are compared across the threads of the focus set', async () => {
    await tab('Values');
    await main().getByTestId('print-expr').fill('debuggeeRole');
    await main().getByTestId('print-expr').press('Enter');
    const table = main().locator('[data-expr="debuggeeRole"]');
    await table.getByRole('row').filter({ hasText: '"main"' }).filter({ hasText: '[0.1, 1.1, 2.1]' }).waitFor();
    await table.getByRole('row').filter({ hasText: '"worker"' }).filter({ hasText: '[0.2, 1.2, 2.2]' }).waitFor();
    await table.getByText('differs').waitFor();
    await shot(page(), 'values');
  });

  test('the focus set steps: focus the frame\'s threads, Next moves their current line', async () => {
    await main().getByTestId('named-sets').getByRole('button', { name: 'inwork', exact: true }).click();
    await eventually('focus is the named set', async () => (await main().getByTestId('focus-input').inputValue()) === '[inwork]');
    const before = (await backend().debugState!({})).threads.filter((x) => x.where?.fn === 'work' && x.where.line === 12).map((x) => x.id);
    assert.ok(before.length >= 1);
    await main().getByRole('button', { name: 'Next', exact: true }).click();
    await main().getByTestId('source-view').locator('tr[aria-current="step"][data-line="13"]').waitFor();
    const stepped = (await backend().debugState!({})).threads.filter((x) => before.includes(x.id));
    assert.ok(stepped.every((x) => x.state === 'stopped' && x.where?.line === 13), JSON.stringify(stepped));
    // F10 is Next too (VS Code's key): the threads leave line 13 for the return.
    await page().keyboard.press('F10');
    await main().getByTestId('source-view').locator('tr[aria-current="step"][data-line="14"]').waitFor();
    await shot(page(), 'stepped');
  });

  test('the command line takes any HPD command, with history; output is aggregated and filterable by set', async () => {
    const cmd = main().getByTestId('debug-command');
    await cmd.fill('focus [all]');
    await cmd.press('Enter');
    await eventually('focus is back to all', async () => (await main().getByTestId('focus-input').inputValue()) === '[all]');
    await cmd.fill('print console.log("hello from " + debuggeeRole)');
    await cmd.press('Enter');
    await main().getByTestId('debug-transcript').getByText('[all]> print console.log').waitFor();
    await cmd.press('ArrowUp');
    assert.equal(await cmd.inputValue(), 'print console.log("hello from " + debuggeeRole)', 'history brings the last command back');
    await cmd.fill('[1.1] print console.log("only one")');
    await cmd.press('Enter');
    await tab('Output');
    const out = main().getByTestId('debug-output');
    await out.locator('.out-line').filter({ hasText: '[0.1, 1.1, 2.1]' }).filter({ hasText: 'hello from main' }).waitFor();
    await out.locator('.out-line').filter({ hasText: '[0.2, 1.2, 2.2]' }).filter({ hasText: 'hello from worker' }).waitFor();
    await out.locator('.out-line').filter({ hasText: 'only one' }).waitFor();
    await main().getByTestId('output-filter').fill('[*.2]');
    await main().getByTestId('output-filter').press('Enter');
    await eventually('only the workers\' line', async () => {
      const lines = await out.locator('.out-line').allInnerTexts();
      return lines.length === 1 && lines[0]!.includes('hello from worker');
    });
    await shot(page(), 'output');
  });

  test('deleting the breakpoint and Go resume every thread; the freeze ends', async () => {
    await tab('Breakpoints');
    await main().getByRole('button', { name: /^delete break \d+$/ }).click();
    await main().locator('[data-action]').waitFor({ state: 'detached' });
    await main().getByRole('button', { name: 'Go', exact: true }).click();
    await eventually('every thread running', async () => {
      const s = await statesShown();
      return s.length === NODES * 2 && s.every((x) => x.endsWith(' running'));
    });
    await eventually('no node frozen', async () => (await backend().debugState!({})).frozenNodes.length === 0);
    assert.deepEqual(t.mc.members(), [0, 1, 2]);
    await tab('Console');
    await main().getByTestId('debug-transcript').getByText(/resumed \d+ threads of \[all\]/).waitFor();
    await shot(page(), 'resumed');
  });

  test('Freeze and Thaw from the toolbar; dark theme at 1024×640 keeps the layout', async () => {
    await page().getByTestId('theme-toggle').click();
    await page().setViewportSize({ width: 1024, height: 640 });
    await main().getByRole('button', { name: 'Freeze', exact: true }).click();
    await main().getByTestId('node-lease').first().filter({ hasText: 'frozen' }).waitFor();
    await tab('Parallel stacks');
    await main().getByTestId('parallel-stacks').locator('[data-frame]').first().waitFor();
    const overflow = await page().evaluate(`document.documentElement.scrollWidth > window.innerWidth || document.documentElement.scrollHeight > window.innerHeight`);
    assert.equal(overflow, false, 'the Debugger view fits 1024×640');
    await shot(page(), 'frozen-dark-1024x640');
    await main().getByRole('button', { name: 'Thaw', exact: true }).click();
    await eventually('every thread running', async () => (await statesShown()).every((x) => x.endsWith(' running')));
    assert.deepEqual(t.mc.members(), [0, 1, 2]);
  });

  test('no console error, failed request or CSP violation along the way', () => {
    assert.deepEqual(ui.problems, []);
  });
});
