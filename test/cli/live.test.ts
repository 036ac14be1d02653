// `mcs` against a real multicomputer: `mcs up` runs the supervisor
// (runtime/cluster/supervisor.ts) with three node processes running the counter
// app, and every other command talks to it as a user would. Checks what the user
// sees and what the system is left with: no supervisor, node process, control
// file or GSM object survives `mcs down`.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GenerationInfo, LogPage, NodeInfo, SectionBytes, SectionInfo } from '../../runtime/control/api';
import { isProcessAlive } from '../../runtime/control/connection-file';
import { tempDir, until } from '../control/helpers';
import { finish, mcs, mcsEnv, Output, startMcs, type RunResult } from './helpers';

const NAME = `live-${process.pid}`;
const SHM = `/dev/shm/mcs-${NAME}`;
const START_MS = 90_000;

describe('mcs against a real multicomputer', () => {
  let tmp: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let up: ChildProcessWithoutNullStreams | null = null;
  let upOut: Output;
  let upDone: Promise<RunResult>;
  /** Every node pid seen, so the after hook can end them whatever happened. */
  const nodePids = new Set<number>();

  const run = (...args: string[]) => mcs(['--cluster', NAME, ...args], env);
  async function json<T>(...args: string[]): Promise<T> {
    const r = await run(...args, '--json');
    assert.equal(r.code, 0, `mcs ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }
  async function nodes(): Promise<NodeInfo[]> {
    const list = await json<NodeInfo[]>('nodes');
    for (const n of list) if (n.pid !== null) nodePids.add(n.pid);
    return list;
  }
  const stateDir = () => path.join(tmp.dir, NAME);

  before(async () => {
    tmp = tempDir('mcs-live-');
    env = mcsEnv(tmp.dir);
    up = startMcs(['--cluster', NAME, 'up', '--nodes', '3', '--gsm-mb', '4', '--app', 'counter', '--restart', 'never'], env);
    upOut = new Output(up.stdout);
    const errOut = new Output(up.stderr);
    upDone = finish(up);
    await until(
      'mcs up to serve the multicomputer',
      () => {
        if (up!.exitCode !== null) throw new Error(`mcs up exited ${up!.exitCode}: ${errOut.text}`);
        return existsSync(path.join(stateDir(), 'control.json')) && upOut.text.includes('control: ');
      },
      START_MS,
    );
  });

  after(async () => {
    if (up && up.exitCode === null && up.signalCode === null) {
      up.kill('SIGKILL');
      await upDone.catch(() => undefined);
    }
    for (const pid of nodePids) {
      if (isProcessAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    rmSync(SHM, { force: true });
    tmp.remove();
  });

  test('up says what it started; status, nodes, sections, mutexes and log show the running multicomputer', async () => {
    assert.match(upOut.text, new RegExp(`^multicomputer '${NAME}' is up: 3 nodes, 4\\.0 MiB GSM contributed by each \\(/mcs-${NAME}, [\\d.]+ MiB mapped\\)$`, 'm'));

    const status = await run('status');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^multicomputer +${NAME} \\(supervisor pid ${up!.pid}, up `, 'm'));
    assert.match(status.stdout, /^members +0-2 \(3 of 3 nodes up\)$/m);
    assert.match(status.stdout, new RegExp(`^gsm +/mcs-${NAME}: `, 'm'));

    const list = await nodes();
    assert.deepEqual(
      list.map((n) => [n.id, n.state, n.incarnation]),
      [
        [0, 'up', 1],
        [1, 'up', 1],
        [2, 'up', 1],
      ],
    );
    for (const n of list) {
      assert.ok(n.pid !== null && isProcessAlive(n.pid), `node ${n.id} runs as a process`);
      assert.equal(n.gsmHousedBytes, 4 * 1024 * 1024);
      assert.deepEqual(n.apps, ['counter']);
    }

    // The counter app creates a section per node, a shared one, and the mutex guarding it.
    await until(
      'the counter app objects',
      async () => {
        const names = (await json<SectionInfo[]>('sections')).map((s) => s.name);
        return ['counter.node0', 'counter.node1', 'counter.node2', 'counter.value'].every((n) => names.includes(n));
      },
      START_MS,
    );
    const sections = await run('sections');
    assert.equal(sections.code, 0, sections.stderr);
    assert.match(sections.stdout, /^\d+\.\d+ +counter\.node0 +0 +1 +64 B +0:1 +yes /m);
    const mutexes = await run('mutexes');
    assert.equal(mutexes.code, 0, mutexes.stderr);
    assert.match(mutexes.stdout, /^\d+\.\d+ +counter\.lock /m);

    // The restart policy `up --restart never` chose, shown and changed from the CLI.
    assert.equal((await run('restart-policy')).stdout, 'restart policy: never\n');
    assert.equal((await run('restart-policy', 'on-failure')).stdout, 'restart policy: on-failure\n');
    assert.equal((await run('restart-policy', 'never')).stdout, 'restart policy: never\n');
    const badPolicy = await run('restart-policy', 'sometimes');
    assert.notEqual(badPolicy.code, 0);
    assert.match(badPolicy.stderr, /expected never or on-failure, not "sometimes"/);

    const log = await json<LogPage>('log', '--node', '0');
    assert.ok(log.rows.length > 0);
    assert.ok(log.rows.every((r) => r.node === 0));
    assert.ok(log.rows.some((r) => r.kind === 'node.start'));
    const everything = await json<LogPage>('log', '--limit', '1000');
    assert.ok(everything.rows.some((r) => r.node === -1 && r.kind === 'multicomputer.start'), 'supervisor rows are node -1');
    assert.ok(everything.rows.every((r) => r.clusterTimeNs < 3600e9), 'cluster time counts from the start');
  });

  test('kill-node fails the node and installs a new generation; restart-node brings up incarnation 2', async () => {
    const before = await nodes();
    const oldPid = before.find((n) => n.id === 1)!.pid!;
    const generation = (await json<{ generation: number }>('status')).generation;

    const kill = await run('kill-node', '1', '--yes');
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(kill.stdout, 'killed node 1; it is now failed\n');
    const afterKill = await nodes();
    const n1 = afterKill.find((n) => n.id === 1)!;
    assert.equal(n1.state, 'failed');
    assert.equal(n1.pid, null);
    assert.equal(n1.contributionFailed, true);
    await until('the old node 1 process to be gone', () => !isProcessAlive(oldPid));
    assert.deepEqual(
      afterKill.filter((n) => n.id !== 1).map((n) => n.state),
      ['up', 'up'],
    );
    const gens = await json<GenerationInfo[]>('generations');
    const last = gens[gens.length - 1]!;
    assert.ok(last.generation > generation);
    assert.deepEqual(last.members, [0, 2]);
    assert.match(last.cause, /^fail 1\b/);

    const restart = await run('restart-node', '1', '--yes');
    assert.equal(restart.code, 0, restart.stderr);
    assert.match(restart.stdout, /^restarted node 1: pid \d+, incarnation 2, up\n$/);
    const again = (await nodes()).find((n) => n.id === 1)!;
    assert.equal(again.state, 'up');
    assert.equal(again.incarnation, 2);
    assert.ok(again.pid !== null && again.pid !== oldPid && isProcessAlive(again.pid));
    assert.deepEqual((await json<{ members: number[] }>('status')).members, [0, 1, 2]);
  });

  test('log --export writes every matching row as JSON or CSV, oldest first', async () => {
    const all = await run('log', '--export', 'json');
    assert.equal(all.code, 0, all.stderr);
    const rows = JSON.parse(all.stdout) as { id: number; kind: string }[];
    assert.ok(rows.length > 10);
    assert.deepEqual(rows.map((r) => r.id), [...rows.map((r) => r.id)].sort((a, b) => a - b), 'oldest first');
    assert.equal(rows[0].kind, 'multicomputer.start');
    const file = path.join(tmp.dir, 'nodes.csv');
    const csv = await run('log', '--kind', 'node.*', '--export', 'csv', '--output', file);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stderr, /exported \d+ rows/);
    const lines = (await import('node:fs')).readFileSync(file, 'utf8').trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,node,incarnation,seq,cluster_time_ns,wall_time_ms,wall_time,kind,object,details');
    assert.ok(lines.length > 3 && lines.slice(1).every((l) => /^\d+,-?\d+,\d+,\d+,\d+,\d+,[^,]+,node\./.test(l)));
    const bad = await run('log', '--export', 'xml');
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim(), "mcs: --export: expected json or csv, got 'xml'");
  });

  test('dump-section shows the bytes of a live section', async () => {
    // counter.node0 holds how many increments node 0 made, as a u64 at offset 0.
    const bytes = await until('node 0 to count', async () => {
      const s = await json<SectionBytes>('dump-section', 'counter.node0');
      return Buffer.from(s.base64, 'base64').readBigUInt64LE(0) > 0n ? s : null;
    });
    assert.equal(bytes.size, 64);
    assert.equal(bytes.length, 64);
    assert.equal(bytes.failedBytes, 0);
    const hex = await run('dump-section', 'counter.node0', '--hex', '--length', '16');
    assert.equal(hex.code, 0, hex.stderr);
    assert.match(hex.stdout, /^00000000 {2}([0-9a-f]{2} ){8} ([0-9a-f]{2} ){8} \|.{16}\|\n00000010\n$/);
  });

  test('bad input: one line naming the problem, exit 1 (2 for a malformed argument)', async () => {
    const kill = await run('kill-node', '9', '--yes');
    assert.equal(kill.code, 1);
    assert.equal(kill.stderr, 'mcs: no node 9 (nodes are 0..2)\n');
    assert.equal(kill.stdout, '');

    const malformed = await run('dump-section', '1.x');
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /^mcs: .*'1\.x' is neither an object id like 12\.3 nor a name.*\n$/);

    const stale = await run('dump-section', '999.1', '--hex');
    assert.equal(stale.code, 1);
    assert.equal(stale.stderr, 'mcs: object id 999.1 is invalid: the object was deleted or reclaimed\n');

    const missing = await run('dump-section', 'no-such-section', '--hex');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'mcs: no global object named "no-such-section"\n');

    const recovery = await run('trigger-recovery', '--yes');
    assert.equal(recovery.code, 1);
    assert.equal(recovery.stderr, 'mcs: no recoverable components are running\n');
    // Nothing was harmed.
    assert.deepEqual(
      (await nodes()).map((n) => n.state),
      ['up', 'up', 'up'],
    );
  });

  test('down stops the supervisor and every node, and leaves no control file or GSM behind', async () => {
    const running = await nodes();
    const supervisorPid = (await json<{ supervisorPid: number }>('status')).supervisorPid;
    assert.equal(supervisorPid, up!.pid);
    assert.ok(existsSync(SHM), `the GSM is ${SHM} while running`);

    const down = await run('down', '--yes');
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, `stopping multicomputer '${NAME}'...\nmulticomputer '${NAME}' stopped\n`);
    const r = await upDone;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopping \(mcs down\)\.\.\.\nmulticomputer '.*' stopped\n$/);
    assert.equal(isProcessAlive(supervisorPid), false, 'the supervisor exited');
    assert.equal(existsSync(path.join(stateDir(), 'control.json')), false, 'control.json is removed');
    assert.equal(existsSync(SHM), false, 'the GSM object is unlinked');
    for (const n of running) await until(`node ${n.id} (pid ${n.pid}) to be gone`, () => !isProcessAlive(n.pid!));

    const status = await run('status');
    assert.equal(status.code, 1);
    assert.equal(status.stderr, `mcs: no multicomputer is running (no ${stateDir()}/control.json)\n`);
  });
});
