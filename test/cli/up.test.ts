// `mcs up` and `mcs down` around a stand-in supervisor (test/cli/fake-supervisor.ts):
// the options reach startMulticomputer, the control server comes up in front of
// its backend, and both `mcs down` and Ctrl-C stop everything and clean up.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir, until } from '../control/helpers';
import { finish, mcs, mcsEnv, Output, ROOT, startMcs } from './helpers';

const FAKE = path.join(ROOT, 'test/cli/fake-supervisor.ts');

describe('mcs up / down', () => {
  let tmp: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  before(() => {
    tmp = tempDir();
    env = mcsEnv(tmp.dir, { MCS_SUPERVISOR_MODULE: FAKE });
  });
  after(() => tmp.remove());

  test('without a supervisor, up says so in one line', async () => {
    const r = await mcs(['up'], { ...env, MCS_SUPERVISOR_MODULE: path.join(tmp.dir, 'nope.ts') });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `mcs: the supervisor is not available: ${path.join(tmp.dir, 'nope.ts')} does not exist\n`);
  });

  test('up starts the multicomputer with the given options and serves it; down stops it', async () => {
    const stateDir = path.join(tmp.dir, 'uptest');
    const up = startMcs(['--cluster', 'uptest', 'up', '--nodes', '3', '--app', 'webcache', '--app', 'kv', '--heartbeat-ms', '50', '--cache-mode', 'off', '--site', tmp.dir], env);
    const out = new Output(up.stdout);
    const upDone = finish(up);
    await until('the control server', () => out.text.includes('control: http://127.0.0.1:'));
    assert.match(out.text, /^multicomputer 'uptest' is up: 3 nodes, 64\.0 MiB GSM$/m);
    assert.deepEqual(JSON.parse(readFileSync(path.join(stateDir, 'fake-started.json'), 'utf8')), {
      name: 'uptest',
      stateDir,
      nodes: 3,
      gsmMb: 64,
      apps: ['webcache', 'kv'],
      heartbeatMs: 50,
      appConfig: { webcache: { mode: 'off', site: tmp.dir, cacheMb: 16, basePort: 0, revalidateMs: 1000 } },
    });
    // Without a terminal the status goes out as plain lines.
    await until('a status line', () => /generation 5, members 0-2, 3\/4 nodes up, 30 log rows/.test(out.text));

    const status = await mcs(['--cluster', 'uptest', 'status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).generation, 5);

    const again = await mcs(['--cluster', 'uptest', 'up'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^mcs: multicomputer 'uptest' is already running \(pid \d+, http:\/\/127\.0\.0\.1:\d+\); stop it with mcs down\n$/);

    const down = await mcs(['--cluster', 'uptest', 'down', '--yes'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, "stopping multicomputer 'uptest'...\nmulticomputer 'uptest' stopped\n");
    const r = await upDone;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopping \(mcs down\)\.\.\.\nmulticomputer 'uptest' stopped\n$/);
    assert.equal(existsSync(path.join(stateDir, 'fake-stopped')), true, 'the supervisor was stopped');
    assert.equal(existsSync(path.join(stateDir, 'control.json')), false, 'control.json is removed');
  });

  test('Ctrl-C stops the multicomputer and removes control.json', async () => {
    const stateDir = path.join(tmp.dir, 'sigint');
    const up = startMcs(['--cluster', 'sigint', 'up'], env);
    const out = new Output(up.stdout);
    const upDone = finish(up);
    await until('the control server', () => out.text.includes('control: '));
    up.kill('SIGINT');
    const r = await upDone;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopping \(SIGINT\)\.\.\./);
    assert.equal(existsSync(path.join(stateDir, 'fake-stopped')), true);
    assert.equal(existsSync(path.join(stateDir, 'control.json')), false);
    const status = await mcs(['--cluster', 'sigint', 'status'], env);
    assert.equal(status.stderr, `mcs: no multicomputer is running (no ${stateDir}/control.json)\n`);
  });
});
