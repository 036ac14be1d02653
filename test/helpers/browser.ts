// Debian's Chromium through playwright-core, for the UI tests and the console
// benchmark: the built renderer (rebuilt when stale), the flags that make
// Chromium quiet and deterministic in a container, and page problem collection.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const root = path.resolve(import.meta.dirname, '../..');
export const rendererOut = path.join(root, 'out/renderer');
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(root, 'test-results');
export const CHROMIUM_MISSING = `${CHROMIUM} is missing: the UI tests need Debian's Chromium (apt-get install -y chromium; .ci/run installs it)`;

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

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
export function ensureRendererBuilt(): void {
  const index = path.join(rendererOut, 'index.html');
  const sources = Math.max(
    newestMtime(path.join(root, 'renderer')),
    newestMtime(path.join(root, 'main')),
    newestMtime(path.join(root, 'runtime/control/api')),
    statSync(path.join(root, 'runtime/control/api.ts')).mtimeMs,
  );
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

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(viewport = { width: 1280, height: 800 }): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), CHROMIUM_MISSING);
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'mcs-ui-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Console errors and warnings, page errors, failed requests and HTTP errors of a page, as they happen. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    // A download's navigation is cancelled by the browser once it becomes a download.
    if (!req.url().startsWith('blob:')) problems.push(`requestfailed: ${req.url()} ${req.failure()?.errorText}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  return problems;
}

/** Chromium signed in to a console server through its one-time login URL, on the console's first view. */
export async function openConsole(server: { loginUrl(): string }): Promise<{ browser: Browser; page: Page; problems: string[] }> {
  const browser = await launchChromium();
  const page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = watchProblems(page);
  await page.goto(server.loginUrl());
  await page.getByRole('heading', { level: 1, name: 'MCS Developer Kit' }).waitFor();
  return { browser, page, problems };
}
