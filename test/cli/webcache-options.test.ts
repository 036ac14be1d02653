import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseArgs, UsageError } from '../../runtime/cli/args';
import { renderStatus } from '../../runtime/cli/commands';
import { webcacheConfig, webcacheFlags } from '../../runtime/cli/webcache-options';
import type { ClusterStatus, NodeInfo } from '../../runtime/control/api';

const dir = mkdtempSync(path.join(tmpdir(), 'mcs-wcopt-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const parse = (...argv: string[]) => parseArgs(argv, webcacheFlags, 'mcs up');
const notes: string[] = [];
const base = { stateDir: dir, gsmMb: 4, cwd: dir, note: (t: string) => void notes.push(t) };

describe('mcs up --app webcache options', () => {
  it('refuses Web cache flags without the webcache app', async () => {
    await assert.rejects(webcacheConfig(parse('--cache-mode', 'off'), { ...base, apps: ['counter'] }), /only apply with --app webcache/);
    assert.equal(await webcacheConfig(parse(), { ...base, apps: ['counter'] }), undefined);
  });

  it('validates the mode with the app schema, resolves the site, and refuses a global cache larger than the contribution', async () => {
    await assert.rejects(webcacheConfig(parse('--cache-mode', 'sideways', '--site', '.'), { ...base, apps: ['webcache'] }), (e: unknown) => e instanceof UsageError && /cache mode/.test((e as Error).message));
    await assert.rejects(webcacheConfig(parse('--cache-mode', 'global', '--cache-mb', '4', '--site', '.'), { ...base, apps: ['webcache'] }), /does not fit/);
    const c = await webcacheConfig(parse('--cache-mode', 'off', '--site', 'www', '--cache-mb', '3', '--http-port', '8100'), { ...base, apps: ['webcache'] });
    assert.deepEqual(c, { mode: 'off', site: path.join(dir, 'www'), cacheMb: 3, basePort: 8100, revalidateMs: 1000 });
  });

  it('without --site generates the sample site in the state dir, with files larger than a contribution', async () => {
    const c = await webcacheConfig(parse('--cache-mode', 'shared-nothing'), { ...base, gsmMb: 1, apps: ['webcache'] });
    assert.equal(c!.site, path.join(dir, 'site'));
    assert.ok(existsSync(path.join(dir, 'site', 'manifest.json')));
    assert.ok(notes.some((n) => /sample site/.test(n)));
  });

  it('mcs status shows each node endpoint', () => {
    const status = { name: 'x', supervisorPid: 1, startedAtMs: Date.now(), generation: 2, members: [0], nodeCount: 1, heartbeatPeriodMs: 100, heartbeatTimeoutMs: 250,
      gsm: { name: '/mcs-x', totalBytes: 1, systemBytes: 1, contributionBytes: 1, usedBytes: 0, memoryFailures: 0 },
      objects: { sections: 0, mutexes: 0, events: 0, hwlocks: 0, mailboxes: 0 }, logRows: 3, restartPolicy: 'never', detectorLagMs: 0 } satisfies ClusterStatus;
    const node = { id: 0, state: 'up', pid: 9, incarnation: 1, heartbeatAgeMs: 1, joinedGeneration: 2, gsmHousedBytes: 1, gsmUsedBytes: 0, contributionFailed: false, apps: ['webcache'], endpoints: [{ app: 'webcache', url: 'http://127.0.0.1:8100' }] } as NodeInfo;
    assert.match(renderStatus(status, [node]), /node 0 webcache\s+http:\/\/127\.0\.0\.1:8100/);
  });
});
