// Bad input and missing multicomputers: always ONE line "mcs: <problem>" on
// stderr, exit 2 for bad usage and 1 for a runtime failure, never a stack trace.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHarness, tempDir, type Harness } from '../control/helpers';
import { mcs, mcsEnv, type RunResult } from './helpers';

let h: Harness;
let env: NodeJS.ProcessEnv;
before(async () => {
  h = await startHarness();
  env = mcsEnv(h.home);
});
after(() => h.close());

function oneLineError(r: RunResult, code: number, message: RegExp | string, what: string): void {
  assert.equal(r.code, code, `${what}: exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, /^mcs: [^\n]+\n$/, `${what}: one line on stderr`);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:/, `${what}: no stack trace`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  if (typeof message === 'string') assert.equal(r.stderr, `mcs: ${message}\n`, what);
  else assert.match(r.stderr, message, what);
}

describe('mcs bad usage (exit 2)', () => {
  const cases: [string[], RegExp | string][] = [
    [['nodez'], "unknown command 'nodez' (mcs help lists them); did you mean nodes?"],
    [['frobnicate'], "unknown command 'frobnicate' (mcs help lists them)"],
    [['nodes', '--fast'], 'unknown flag --fast for mcs nodes'],
    [['nodes', '-x'], 'unknown flag -x for mcs nodes'],
    [['nodes', 'extra'], "unexpected argument 'extra' for mcs nodes"],
    [['--json=1', 'status'], '--json takes no value'],
    [['kill-node'], 'kill-node needs N (usage: mcs kill-node N)'],
    [['kill-node', 'two', '--yes'], "N: expected a node number, got 'two'"],
    [['kill-node', '70000', '--yes'], 'N: 70000 is out of range (0 to 65535)'],
    [['kill-node', '-1', '--yes'], /negative numbers are not accepted/],
    [['release-mutex', '9lives', '--yes'], /NAME\|ID: '9lives' is neither an object id like 12\.3 nor a name/],
    [['dump-section', 'x', '--offset', 'ten'], "--offset: expected an integer (decimal or 0x hex), got 'ten'"],
    [['log', '--limit', '5000'], '--limit: 5000 is out of range (1 to 1000)'],
    [['log', '--limit'], '--limit needs a value (N)'],
    [['log', '--since', 'yesterday'], /--since: expected a duration like 30s, 10m, 2h, 1d or an ISO time/],
    [['log', '--node', '1,x'], "--node: expected a node number, got 'x'"],
    [['log', '--kind', 'a b'], /--kind: expected a kind like node\.failed/],
    [['fail-memory', '--yes'], 'fail-memory needs --node N, or --offset X and --length L'],
    [['fail-memory', '--node', '1', '--offset', '0', '--yes'], 'fail-memory: give --node N, or --offset X --length L, not both'],
    [['--cluster', 'Bad!', 'status'], "--cluster: bad cluster name 'Bad!' (1 to 32 of a-z 0-9 _ -)"],
    [['help', 'nothing'], "unknown command 'nothing' (mcs help lists them)"],
  ];
  for (const [args, message] of cases) {
    test(`mcs ${args.join(' ')}`, async () => {
      oneLineError(await mcs(args, env), 2, message, args.join(' '));
    });
  }

  test('none of them reached the multicomputer', () => {
    assert.deepEqual(
      h.backend.calls.filter((c) => c.method !== 'status' && c.method !== 'nodes'),
      [],
    );
  });

  test('MCS_CLUSTER is validated like --cluster', async () => {
    oneLineError(await mcs(['status'], { ...env, MCS_CLUSTER: '../etc' }), 2, "MCS_CLUSTER: bad cluster name '../etc' (1 to 32 of a-z 0-9 _ -)", 'MCS_CLUSTER');
  });
});

describe('mcs when nothing is running (exit 1)', () => {
  test('no control.json names the file it looked for', async () => {
    const tmp = tempDir();
    try {
      const r = await mcs(['status'], mcsEnv(tmp.dir));
      oneLineError(r, 1, `no multicomputer is running (no ${tmp.dir}/default/control.json)`, 'status');
      const other = await mcs(['--cluster', 'lab', 'nodes'], env);
      oneLineError(other, 1, `no multicomputer is running (no ${h.home}/lab/control.json)`, '--cluster lab');
      const viaEnv = await mcs(['nodes'], { ...env, MCS_CLUSTER: 'lab2' });
      oneLineError(viaEnv, 1, `no multicomputer is running (no ${h.home}/lab2/control.json)`, 'MCS_CLUSTER');
    } finally {
      tmp.remove();
    }
  });

  test('a supervisor that does not answer is named by its URL', async () => {
    const tmp = tempDir();
    try {
      mkdirSync(path.join(tmp.dir, 'default'));
      // A live pid (ours) but a port nobody listens on.
      writeFileSync(
        path.join(tmp.dir, 'default', 'control.json'),
        JSON.stringify({ url: 'http://127.0.0.1:9', token: 'd'.repeat(64), pid: process.pid, startedAtMs: 0 }),
      );
      oneLineError(await mcs(['mutexes'], mcsEnv(tmp.dir)), 1, 'the multicomputer at http://127.0.0.1:9 is not answering', 'mutexes');
    } finally {
      tmp.remove();
    }
  });

  test('a control.json with the wrong token is refused by the server', async () => {
    const tmp = tempDir();
    try {
      mkdirSync(path.join(tmp.dir, 'default'));
      writeFileSync(
        path.join(tmp.dir, 'default', 'control.json'),
        JSON.stringify({ url: h.server.url, token: 'e'.repeat(64), pid: process.pid, startedAtMs: 0 }),
      );
      oneLineError(await mcs(['nodes'], mcsEnv(tmp.dir)), 1, 'missing or wrong bearer token (see control.json)', 'nodes');
    } finally {
      tmp.remove();
    }
  });
});

describe('mcs help', () => {
  test('mcs help and --help list every command', async () => {
    for (const args of [['help'], ['--help'], []]) {
      const r = await mcs(args, env);
      assert.equal(r.code, 0);
      for (const c of [
        'status',
        'nodes',
        'generations',
        'sections',
        'mutexes [--waits]',
        'events',
        'hwlocks',
        'mailboxes',
        'components',
        'log [--since',
        'dump-section NAME|ID',
        'kill-node N',
        'stop-node N',
        'cont-node N',
        'restart-node N',
        'add-node',
        'fail-memory (--node N | --offset X --length L)',
        'release-mutex NAME|ID',
        'signal-event NAME|ID',
        'reset-event NAME|ID',
        'trigger-recovery [COMPONENT]',
        'up [--nodes N]',
        'down',
      ]) {
        assert.ok(r.stdout.includes(`\n  ${c}`), `help lists ${c}`);
      }
    }
  });

  test('help for one command shows its flags', async () => {
    const r = await mcs(['help', 'log'], env);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: mcs log \[--since 10m\|ISO\]/);
    assert.match(r.stdout, /-f, --follow\s+keep printing new rows until interrupted/);
    assert.equal((await mcs(['kill-node', '--help'], env)).stdout.split('\n')[0], 'Usage: mcs kill-node N');
  });
});
