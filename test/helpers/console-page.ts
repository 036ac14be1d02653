// A signed-in console in Chromium for the UI tests: the built renderer served by
// the headless control server over a running multicomputer, opened through the
// one-time login URL, with the page's problems (console errors, failed requests,
// CSP violations) collected from the first request on.
import type { Locator, Page } from 'playwright-core';
import type { Multicomputer } from '../../runtime/cluster/types';
import type { ControlBackend } from '../../runtime/control/api';
import { createControlBackend } from '../../runtime/control/backend';
import { startControlServer, type ControlServer } from '../../runtime/control/server';
import { ensureRendererBuilt, launchChromium, rendererOut, watchProblems, type Browser } from './browser';

export interface ConsolePage {
  backend: ControlBackend;
  server: ControlServer;
  browser: Browser;
  page: Page;
  problems: string[];
  /** The view pane. */
  main(): Locator;
  /** Opens a view from the navigation and waits for its heading. */
  go(view: string): Promise<void>;
  close(): Promise<void>;
}

export async function openConsole(mc: Multicomputer, stateDir: string): Promise<ConsolePage> {
  ensureRendererBuilt();
  const backend = createControlBackend(mc);
  const server = await startControlServer(backend, { stateDir, staticDir: rendererOut });
  const browser = await launchChromium();
  const page = await browser.context.newPage();
  page.setDefaultTimeout(20_000);
  const problems = watchProblems(page);
  await page.goto(server.loginUrl());
  await page.getByRole('heading', { level: 1, name: 'MCS Developer Kit' }).waitFor();
  const main = () => page.getByRole('main');
  return {
    backend,
    server,
    browser,
    page,
    problems,
    main,
    async go(view) {
      await page.getByRole('navigation', { name: 'Console views' }).getByRole('link', { name: view, exact: true }).click();
      await main().getByRole('heading', { level: 2, name: view }).waitFor();
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
