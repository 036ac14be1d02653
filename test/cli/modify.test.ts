// `mcs` modification commands: destructive ones refuse without a terminal unless
// --yes is given (and then change nothing), ask on a terminal, and report what
// they did.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, beforeEach, describe, test } from 'node:test';
import { startHarness, type Harness } from '../control/helpers';
import { MCS, mcs, mcsEnv } from './helpers';
import { spawn } from 'node:child_process';

let h: Harness | null = null;
let env: NodeJS.ProcessEnv;
beforeEach(async () => {
  await h?.close();
  h = await startHarness();
  env = mcsEnv(h.home);
});
after(() => h?.close());
const backend = () => h!.backend;

const destructive: [string[], string][] = [
  [['kill-node', '2'], 'killNode'],
  [['stop-node', '2'], 'stopNode'],
  [['restart-node', '2'], 'restartNode'],
  [['kill-thread', '2', 'webcache.revalidate'], 'killThread'],
  [['fail-memory', '--node', '1'], 'failMemory'],
  [['fail-memory', '--offset', '0x1000', '--length', '4096'], 'failMemory'],
  [['release-mutex', 'chain:a'], 'releaseMutex'],
  [['signal-event', 'start'], 'signalEvent'],
  [['reset-event', '9.1'], 'resetEvent'],
  [['trigger-recovery'], 'triggerRecovery'],
  [['down'], 'shutdown'],
];

describe('mcs destructive commands', () => {
  test('without a terminal and without --yes they refuse, exit 2, and change nothing', async () => {
    for (const [args, method] of destructive) {
      const r = await mcs(args, env);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr, `mcs: ${args[0]} is destructive: pass --yes to run it without a terminal\n`);
      assert.equal(r.stdout, '');
      assert.equal(backend().calledWith(method).length, 0, `${method} was not called`);
    }
    assert.equal(backend().nodeList[2]!.state, 'up');
  });

  test('with --yes they run and say what they did', async () => {
    const kill = await mcs(['kill-node', '2', '--yes'], env);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(kill.stdout, 'killed node 2; it is now failed\n');
    assert.deepEqual(backend().calledWith('killNode'), [{ node: 2 }]);

    const fail = await mcs(['-y', 'fail-memory', '--offset', '0x1000', '--length', '4096'], env);
    assert.equal(fail.stdout, 'failed GSM bytes 0x1000..0x1fff (4.0 KiB)\n');
    assert.deepEqual(backend().calledWith('failMemory'), [{ offset: 4096, length: 4096 }]);

    const release = await mcs(['release-mutex', '1.1', '--yes'], env);
    assert.equal(release.stdout, 'released mutex 1.1 (chain:a); it is now free\n');

    const signal = await mcs(['signal-event', 'start', '--yes', '--json'], env);
    assert.equal(JSON.parse(signal.stdout).signaled, true);

    // The fixture's nodes run only their main thread: the request arrives, the answer is not-found.
    const thread = await mcs(['kill-thread', '1', 'webcache.revalidate', '--holding', '--yes'], env);
    assert.equal(thread.code, 1);
    assert.match(thread.stderr, /node 1 runs no thread named "webcache.revalidate"/);
    assert.deepEqual(backend().calledWith('killThread'), [{ node: 1, name: 'webcache.revalidate', holding: true }]);
    const badName = await mcs(['kill-thread', '1', '../x', '--yes'], env);
    assert.equal(badName.code, 2, "a bad request, refused before it is sent");
    assert.match(badName.stderr, /expected a thread name/);

    const recover = await mcs(['trigger-recovery', 'webcache', '--yes'], env);
    assert.equal(recover.stdout, 'recovery started: webcache\n');
    assert.deepEqual(backend().calledWith('triggerRecovery'), [{ component: 'webcache' }]);
  });

  test('non-destructive modifications need no confirmation', async () => {
    const add = await mcs(['add-node'], env);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'added node 4\n');
    const cont = await mcs(['cont-node', '1'], env);
    assert.equal(cont.code, 0, cont.stderr);
    assert.match(cont.stdout, /^continued node 1; it is now up\n$/);
  });

  test('an unknown node or object is a one-line runtime error (exit 1)', async () => {
    const node = await mcs(['kill-node', '9', '--yes'], env);
    assert.equal(node.code, 1);
    assert.equal(node.stderr, 'mcs: no node 9\n');
    const mutex = await mcs(['release-mutex', 'no-such', '--yes'], env);
    assert.equal(mutex.code, 1);
    assert.equal(mutex.stderr, 'mcs: no mutex no-such\n');
  });

  test('mcs down asks the supervisor to stop and waits until it is gone', async () => {
    let stopped = false;
    backend().onShutdown = () => {
      // What `mcs up` does: stop the multicomputer, then close the server (which removes control.json).
      void h!.server.close().then(() => (stopped = true));
    };
    const r = await mcs(['down', '--yes'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "stopping multicomputer 'default'...\nmulticomputer 'default' stopped\n");
    assert.equal(stopped, true);
    assert.equal(existsSync(`${h!.stateDir}/control.json`), false);
  });
});

/** Runs mcs under `script`, which gives it a pseudo-terminal: the only way to see the prompt. */
function onTerminal(args: string[], answer: string): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, MCS, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { env, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
    // Answer once the question is on the screen.
    if (output.includes('[y/N]') && !child.stdin.writableEnded) child.stdin.end(answer + '\n');
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

describe('mcs destructive commands on a terminal', { skip: !existsSync('/usr/bin/script') && 'no script(1) here' }, () => {
  test("ask 'Kill node 2 (pid 1002)? [y/N]' and do nothing on no", async () => {
    const r = await onTerminal(['kill-node', '2'], 'n');
    assert.match(r.output, /Kill node 2 \(pid 1002\)\? \[y\/N\]/);
    assert.match(r.output, /mcs: cancelled/);
    assert.equal(r.code, 1);
    assert.equal(backend().calledWith('killNode').length, 0);
  });

  test('go ahead on y', async () => {
    const r = await onTerminal(['release-mutex', 'chain:b'], 'y');
    assert.match(r.output, /Force-release mutex 2\.1 \(chain:b\), held by node 1 pid 1001 tid 1001\? \[y\/N\]/);
    assert.match(r.output, /released mutex 2\.1 \(chain:b\)/);
    assert.equal(r.code, 0);
    assert.deepEqual(backend().calledWith('releaseMutex'), [{ target: 'chain:b' }]);
  });
});
