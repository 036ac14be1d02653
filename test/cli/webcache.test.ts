// The face of the product, as a newcomer runs it: `mcs up --app webcache` on a
// generated site, `mcs status` shows each node's Web server, `mcs load` drives
// traffic over all of them and reports hits and misses.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateSampleSite } from '../../runtime/apps/webcache/sample-site';
import type { NodeInfo } from '../../runtime/control/api';
import { isProcessAlive } from '../../runtime/control/connection-file';
import type { LoadReport } from '../../runtime/cli/load-command';
import { tempDir, until } from '../control/helpers';
import { rawRequest } from '../helpers/http';
import { finish, mcs, mcsEnv, Output, startMcs, type RunResult } from './helpers';

const NAME = `wc-${process.pid}`;

describe('mcs up --app webcache and mcs load', () => {
  let tmp: ReturnType<typeof tempDir>;
  let env: NodeJS.ProcessEnv;
  let up: ChildProcessWithoutNullStreams | null = null;
  let upOut: Output;
  let upDone: Promise<RunResult>;
  const nodePids = new Set<number>();
  const ports: number[] = [];
  const run = (...args: string[]) => mcs(['--cluster', NAME, ...args], env);

  before(async () => {
    tmp = tempDir('mcs-wc-');
    env = mcsEnv(tmp.dir);
    const site = path.join(tmp.dir, 'site');
    await generateSampleSite(site, { files: 60, largeBytes: 4 * 1024 * 1024, largeFiles: 1 });
    up = startMcs(['--cluster', NAME, 'up', '--nodes', '2', '--gsm-mb', '4', '--app', 'webcache', '--cache-mode', 'shared-nothing', '--cache-mb', '1', '--site', site], env);
    upOut = new Output(up.stdout);
    const errOut = new Output(up.stderr);
    upDone = finish(up);
    await until('mcs up to say where the Web servers are', () => {
      if (up!.exitCode !== null) throw new Error(`mcs up exited ${up!.exitCode}: ${errOut.text}`);
      return /web cache \(shared-nothing, 1 MiB per node\):\n\s+node \d: http:\/\/127\.0\.0\.1:\d+\/\n/.test(upOut.text);
    }, 90_000);
  });

  after(async () => {
    if (up && up.exitCode === null) {
      await run('down', '--yes');
      await upDone.catch(() => undefined);
    }
    for (const pid of nodePids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(`/dev/shm/mcs-${NAME}`, { force: true });
    tmp.remove();
  });

  test('status and nodes show each node endpoint, and each serves the site', async () => {
    let nodes: NodeInfo[] = [];
    await until('both nodes publish their Web server', async () => {
      nodes = JSON.parse((await run('nodes', '--json')).stdout) as NodeInfo[];
      return nodes.length === 2 && nodes.every((n) => n.endpoints?.length);
    }, 60_000);
    for (const n of nodes) if (n.pid) nodePids.add(n.pid);
    assert.equal(nodes.length, 2);
    const status = await run('status');
    for (const n of nodes) {
      const url = n.endpoints?.find((e) => e.app === 'webcache')?.url;
      assert.ok(url, `node ${n.id} has an endpoint`);
      assert.match(status.stdout, new RegExp(`^node ${n.id} webcache +${url}$`, 'm'));
      ports.push(Number(new URL(url).port));
      const r = await rawRequest(Number(new URL(url).port), '/index.html');
      assert.equal(r.status, 200);
    }
  });

  test('mcs load reports requests, hits, misses and latencies, with no errors', async () => {
    const r = await run('load', '--duration', '2s', '--concurrency', '4', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as LoadReport;
    assert.equal(report.nodes, 2);
    assert.ok(report.requests > 0);
    assert.equal(report.errors, 0);
    assert.equal(report.hits + report.misses + report.bypass, report.ok);
    assert.ok(report.hits > 0, 'popular files are served from the cache');
    assert.ok(report.latencyMs.p99 >= report.latencyMs.p50);
    const human = await run('load', '--duration', '500ms', '--zipf', '1.2');
    assert.match(human.stdout, /^cache +\d+ hits, \d+ misses/m);
    assert.match((await run('load', '--zipf', 'x')).stderr, /--zipf/);
  });

  test('down stops every Web server', async () => {
    assert.equal(ports.length, 2);
    assert.equal((await run('down', '--yes')).code, 0);
    await upDone;
    for (const p of ports) await assert.rejects(rawRequest(p, '/index.html', { timeoutMs: 2000 }));
    assert.ok(!existsSync(path.join(tmp.dir, NAME, 'control.json')));
  });
});
