// `mcs console`: the headless web mode. Runs a multicomputer like `mcs up` and
// serves the console (the built renderer, the API and the terminal) on
// 127.0.0.1. The browser signs in through a one-time login URL printed here
// (control/browser-login.ts); the control token never leaves control.json.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlError } from '../control/api';
import { stringFlag } from './args';
import type { Command } from './context';
import { multicomputerFlags, runInForeground } from './up';

/** out/renderer of this checkout: what `npm run build` produces. */
export const BUILT_RENDERER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../out/renderer');

export const consoleCommand: Command = {
  name: 'console',
  group: 'lifecycle',
  usage: '[--nodes N] [--gsm-mb M] [--app NAME|PATH]... [--restart POLICY] [--renderer DIR]',
  summary: 'run a multicomputer and serve the console to a browser (prints a one-time login URL)',
  flags: [
    ...multicomputerFlags,
    { name: 'renderer', kind: 'string', value: 'DIR', help: 'the built renderer to serve (default: out/renderer of this checkout)' },
  ],
  async run(ctx, args) {
    const staticDir = stringFlag(args, 'renderer') ?? BUILT_RENDERER;
    if (!existsSync(path.join(staticDir, 'index.html'))) {
      throw new ControlError('unavailable', `the console is not built: ${staticDir} has no index.html (run \`npm run build\`)`);
    }
    // Loaded here: node-pty is a native module no other command needs.
    const { terminalSockets } = await import('../control/terminal');
    await runInForeground(ctx, args, {
      server: { staticDir, sockets: terminalSockets({ mcsHome: ctx.state.home, cluster: ctx.state.name }) },
      announce: (server) =>
        `console: open ${server.loginUrl()}\n` +
        `  (a one-time link: it signs one browser in and expires in 2 minutes${ctx.io.stdin.isTTY ? '; press Enter for another' : ''})\n`,
      onEnter: (server) => `console: open ${server.loginUrl()}\n`,
    });
  },
};
