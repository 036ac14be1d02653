// The console over a multicomputer running the Web cache, in Debian's Chromium:
// the Overview charts the requests/s its nodes count, and the Sections view decodes
// the cache's hash table and file entries by the layouts the app declares; picking
// a decoded record selects its bytes in the hex viewer. Screenshots in both themes
// at 1024×640 and 1440×900 go to test-results/webcache-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { generateSampleSite, type SiteManifest } from '../../runtime/apps/webcache/sample-site';
import { createControlBackend } from '../../runtime/control/backend';
import { startControlServer, type ControlServer } from '../../runtime/control/server';
import { ARTIFACTS, ensureRendererBuilt, openConsole, rendererOut, type Browser } from '../helpers/browser';
import { until as eventually } from '../control/helpers';
import { rawRequest } from '../helpers/http';
import { startTestMulticomputer, until, type TestMulticomputer } from '../helpers/multicomputer';

describe('the console over the Web cache', () => {
  let t: TestMulticomputer;
  let server: ControlServer;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let siteDir: string;
  let manifest: SiteManifest;
  let load: Promise<void> | null = null;
  let loading = true;

  const main = () => page.getByRole('main');
  const endpointOf = (node: number) => t.mc.nodes().find((n) => n.id === node)?.endpoints.find((e) => e.app === 'webcache')?.url;
  async function go(view: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Console views' }).getByRole('link', { name: view, exact: true }).click();
    await main().getByRole('heading', { level: 2, name: view }).waitFor();
  }
  /** Screenshots in both themes at both sizes, with `focus` scrolled into view in each. */
  async function shots(name: string, focus?: ReturnType<Page['locator']>): Promise<void> {
    for (const theme of ['light', 'dark'] as const) {
      if ((await page.evaluate('document.documentElement.dataset.theme')) !== theme) await page.getByTestId('theme-toggle').click();
      for (const [width, height] of [[1024, 640], [1440, 900]] as const) {
        await page.setViewportSize({ width, height });
        await page.waitForTimeout(300);
        await focus?.evaluate((e) => e.scrollIntoView({ block: 'end' }));
        const overflow = await page.evaluate(`document.documentElement.scrollWidth > window.innerWidth || document.documentElement.scrollHeight > window.innerHeight`);
        assert.equal(overflow, false, `${name} fits ${width}×${height} (${theme})`);
        await page.screenshot({ path: path.join(ARTIFACTS, `webcache-${name}-${theme}-${width}x${height}.png`) });
      }
    }
  }

  before(async () => {
    ensureRendererBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    siteDir = mkdtempSync(path.join(tmpdir(), 'mcs-site-'));
    manifest = await generateSampleSite(siteDir, { files: 40, largeBytes: 2 * 1024 * 1024, largeFiles: 0 });
    t = await startTestMulticomputer({ nodes: 2, apps: ['webcache'], gsmMb: 4, heartbeatTimeoutMs: 2000, appConfig: { webcache: { mode: 'global', site: siteDir, cacheMb: 1 } } });
    await until('both nodes serve', () => !!endpointOf(0) && !!endpointOf(1), 30_000);
    server = await startControlServer(createControlBackend(t.mc), { stateDir: path.join(t.dir, 'control'), staticDir: rendererOut });
    ({ browser, page, problems } = await openConsole(server));
    // Steady traffic on both nodes, more on node 0, for the whole suite.
    const small = manifest.files.filter((f) => f.size < 32 * 1024).slice(0, 12);
    const ports = [0, 0, 1].map((n) => Number(new URL(endpointOf(n)!).port));
    load = (async () => {
      for (let i = 0; loading; i++) {
        await rawRequest(ports[i % ports.length]!, `/${small[i % small.length]!.path}`).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
  });

  after(async () => {
    loading = false;
    await load;
    await browser?.close();
    await server?.close();
    await t?.stop();
    if (siteDir) rmSync(siteDir, { recursive: true, force: true });
  });

  test('Overview: an application requests chart, fed by the nodes’ request counters', async () => {
    const chart = main().getByTestId('requests-chart');
    await chart.waitFor();
    await eventually('the chart has drawn several samples', async () => Number(await chart.locator('[data-points]').getAttribute('data-points')) > 4);
    const legend = await chart.locator('.u-legend').innerText();
    for (const label of ['all nodes', 'node 0', 'node 1']) assert.ok(legend.includes(label), `legend names ${label}: ${legend}`);
    await shots('overview', chart);
  });

  test("Sections: the cache area's file entries and the master area's hash table, decoded; a record selects its bytes", async () => {
    await go('Sections');
    await main().getByRole('table', { name: 'Sections' }).getByRole('row').filter({ hasText: 'webcache.area.0' }).click();
    const decoded = main().getByTestId('decoded-view');
    await decoded.getByRole('heading', { name: 'Web cache: file entries (cache area)' }).waitFor();
    await decoded.getByText('Declared by webcache').waitFor();
    const first = decoded.locator('li[data-struct="file entry"]').first();
    await first.waitFor();
    const offset = Number(await first.getAttribute('data-offset'));
    await first.getByRole('button').click();
    await main().getByTestId('decoded-record').getByRole('rowheader', { name: 'key', exact: true }).waitFor();
    assert.match(await main().getByTestId('selection').innerText(), new RegExp(`selected 0x${offset.toString(16)}–`));
    assert.equal(await main().getByTestId('hex-viewer').locator(`[data-off="${offset + 8}"]`).innerText(), '31', "the entry's magic 'WCE1' starts 8 bytes in");
    await shots('sections-area');

    await main().getByRole('table', { name: 'Sections' }).getByRole('row').filter({ hasText: 'webcache.master.' }).click();
    await decoded.getByRole('heading', { name: 'Web cache: hash table (master area)' }).waitFor();
    await decoded.locator('li[data-struct="chain"]').first().waitFor();
    assert.equal(await decoded.locator('li[data-struct="member cache area"]').count(), 2);
    await shots('sections-master');
  });

  test('no console error, failed request or CSP violation along the way', () => {
    assert.deepEqual(problems, []);
  });
});
