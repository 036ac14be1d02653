// Headless host: each node is a Node child process running node-main.ts through tsx.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lineSplitter, type NodeHost, type NodeProcess } from './host';

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node-main.ts');

export const nodeHost: NodeHost = {
  kind: 'node',
  spawn(args) {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group is not wanted: a terminal's Ctrl-C should reach the
      // supervisor, which then stops its nodes in order.
      detached: false,
    });
    if (child.pid === undefined) throw new Error('could not start a node process');
    const proc: NodeProcess = {
      pid: child.pid,
      onStderr: (listener) => child.stderr!.on('data', lineSplitter(listener)),
      onExit: (listener) => child.once('exit', (code, signal) => listener(code, signal)),
    };
    return proc;
  },
};
