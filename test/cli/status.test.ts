// `mcs` status commands against a control server over the fixture backend:
// aligned tables for people, JSON for scripts, the deadlock report, the event log
// and section dumps.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { methods } from '../../runtime/control/api';
import { sectionContent } from '../control/fixture-backend';
import { startHarness, tempDir, until, type Harness } from '../control/helpers';
import { finish, mcs, mcsEnv, Output, startMcs } from './helpers';

let h: Harness;
let env: NodeJS.ProcessEnv;
before(async () => {
  h = await startHarness();
  env = mcsEnv(h.home);
});
after(() => h.close());

/** Column start offsets of a header line, by header word. */
function columnStarts(header: string, names: string[]): number[] {
  return names.map((n) => header.indexOf(n));
}

describe('mcs status tools', () => {
  test('status prints the cluster summary', async () => {
    const r = await mcs(['status'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^multicomputer\s+default \(supervisor pid \d+, up /m);
    assert.match(r.stdout, /^generation\s+5$/m);
    assert.match(r.stdout, /^members\s+0-2 \(3 of 4 nodes up\)$/m);
    assert.match(r.stdout, /^gsm\s+mcs-default: 65\.0 MiB total, 1\.0 MiB system, 16\.0 MiB per node, 3\.2 MiB used$/m);
    assert.match(r.stdout, /^objects\s+2 sections, 5 mutexes, 2 events, 1 hwlock, 1 mailbox$/m);
    assert.equal(r.stderr, '');
  });

  test('nodes is a table with aligned columns, sizes and durations in human units', async () => {
    const r = await mcs(['nodes'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, /^NODE\s+STATE\s+PID\s+INC\s+HEARTBEAT\s+SUSPICION\s+EXPECTED\s+DEADLINE\s+JOINED\s+GSM HOUSED\s+GSM USED\s+RESTARTS\s+APPS\s+THREADS$/);
    // Left-aligned columns start where their header starts; right-aligned ones end where it ends.
    const [state, apps] = columnStarts(lines[0]!, ['STATE', 'APPS']);
    const pidEnd = lines[0]!.indexOf('PID') + 3;
    for (const line of lines.slice(1)) {
      assert.match(line.slice(state!), /^(up|failed)\b/);
      assert.match(line.slice(apps!), /^(webcache|-)\s+(main:\d+|-)$/);
      assert.match(line.slice(0, pidEnd), /(\d+|-)$/);
    }
    assert.match(lines[1]!, /^\s+0\s+up\s+1000\s+1\s+3ms\s+0\.0\s+20ms\s+110ms\s+gen 1\s+16\.0 MiB\s+1\.0 KiB\s+0\s+webcache\s+main:1000$/);
    assert.match(lines[4]!, /16\.0 MiB \(failed\)/);
    assert.match(lines[4]!, /\s5 \(gave up\)\s/, 'a node the restart policy gave up on says so');
  });

  test('--json prints exactly the API result, which parses', async () => {
    for (const [cmd, method] of [
      ['nodes', 'nodes'],
      ['sections', 'sections'],
      ['mutexes', 'mutexes'],
      ['events', 'events'],
      ['hwlocks', 'hwlocks'],
      ['mailboxes', 'mailboxes'],
      ['components', 'components'],
      ['generations', 'generations'],
      ['status', 'status'],
    ] as const) {
      const r = await mcs([cmd, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const parsed = methods[method].result.safeParse(JSON.parse(r.stdout));
      assert.ok(parsed.success, `${cmd} --json is a valid ${method} result`);
    }
    const hw = JSON.parse((await mcs(['--json', 'hwlocks'], env)).stdout);
    assert.equal(hw[0].value, '18446744073709551615', 'u64 values survive as strings');
  });

  test('every list command prints a table with its headers', async () => {
    const headers: Record<string, RegExp> = {
      generations: /^GEN\s+MEMBERS\s+CAUSE\s+AT$/m,
      sections: /^ID\s+NAME\s+OWNER\s+INC\s+SIZE\s+OPEN BY \(NODE:REFS\)\s+ACCESSIBLE\s+CREATED$/m,
      mutexes: /^ID\s+NAME\s+OWNER\s+STATE\s+HOLDER \(NODE\/PID\/TID\)\s+HELD\s+WAITERS\s+ABANDONED\s+LOCKS\s+MAX HOLD\s+AVG HOLD$/m,
      events: /^ID\s+NAME\s+OWNER\s+MODE\s+SIGNALED\s+WAITERS$/m,
      hwlocks: /^ID\s+NAME\s+OWNER\s+VALUE\s+HELD$/m,
      mailboxes: /^ID\s+NAME\s+OWNER\s+TARGET\s+QUEUED\s+CAPACITY\s+DROPPED$/m,
    };
    for (const [cmd, re] of Object.entries(headers)) {
      const r = await mcs([cmd], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, re, cmd);
    }
    assert.equal((await mcs(['components'], env)).stdout, 'no components\n');
    assert.match((await mcs(['sections'], env)).stdout, /^6\.1\s+lost\s+3\s+1\s+100 B\s+-\s+NO \(failed memory\)/m);
  });

  test('mutexes --waits reports who waits for whom and the deadlock, like a Java thread dump', async () => {
    const r = await mcs(['mutexes', '--waits'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"node 3 pid 1003 tid 1003" waits for mutex 4\.1 \(queue\), held by "node 1 pid 1001 tid 1005"/);
    const report = r.stdout.slice(r.stdout.indexOf('Found one deadlock:'));
    assert.equal(
      report,
      [
        'Found one deadlock:',
        '=============================',
        '"node 0 pid 1000 tid 1000": waiting to lock mutex 2.1 (chain:b), which is held by "node 1 pid 1001 tid 1001"',
        '"node 1 pid 1001 tid 1001": waiting to lock mutex 3.1 (chain:c), which is held by "node 2 pid 1002 tid 1002"',
        '"node 2 pid 1002 tid 1002": waiting to lock mutex 1.1 (chain:a), which is held by "node 0 pid 1000 tid 1000"',
        '',
        'Found one deadlock.',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await mcs(['mutexes', '--waits', '--json'], env)).stdout);
    assert.equal(json.mutexes.length, 5);
    assert.equal(json.waitGraph.cycles.length, 1);
    assert.equal(json.waitGraph.cycles[0].length, 3);
  });
});

describe('mcs log', () => {
  test('prints the newest matching rows, oldest first, filtered by kind and node', async () => {
    const r = await mcs(['log', '--kind', 'node.*', '--node', '0,1', '--limit', '3'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  n[01]\.1 #\d+\s+node\.joined\s+-\s+\{"i":\d+\}$/);
    const ids = lines.map((l) => Number(/"i":(\d+)/.exec(l)![1]));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    const sent = h.backend.calledWith('log').at(-1) as { filter: unknown; limit: number };
    assert.deepEqual(sent, { filter: { nodes: [0, 1], kinds: ['node.*'] }, limit: 3 });
  });

  test('--since takes a duration or an ISO time; --json prints the LogPage', async () => {
    const r = await mcs(['log', '--since', '2026-11-21T12:00:25Z', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const page = JSON.parse(r.stdout);
    assert.ok(methods.log.result.safeParse(page).success);
    assert.ok(page.rows.every((row: { wallTimeMs: number }) => row.wallTimeMs >= Date.parse('2026-11-21T12:00:25Z')));
    const ago = await mcs(['log', '--since', '10m'], env);
    assert.equal(ago.code, 0, ago.stderr);
    assert.equal(ago.stdout, 'no matching log rows\n', 'the fixture rows are older than 10 minutes');
  });

  test('--follow prints the page, then new rows as they are appended, until interrupted', async () => {
    const child = startMcs(['log', '--follow', '--kind', 'recovery.*'], env);
    const out = new Output(child.stdout);
    const done = finish(child);
    await until('the live subscription', () => h.backend.logSubscribers > 0);
    await until('the initial page', () => out.text.includes('no matching') || h.backend.calledWith('log').length > 0);
    h.backend.appendLog('node.joined', 1);
    h.backend.appendLog('recovery.started', 2, { component: 'webcache' });
    await until('the appended row', () => out.text.includes('recovery.started'));
    assert.doesNotMatch(out.text, /node\.joined/);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /n2\.1 #\d+\s+recovery\.started\s+-\s+\{"component":"webcache"\}/);
    await until('the subscription to end', () => h.backend.logSubscribers === 0);
  });
});

describe('mcs dump-section', () => {
  const content = sectionContent(4096);

  test('writes the raw bytes to a pipe', async () => {
    const r = await mcs(['dump-section', 'webcache:buckets'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.bytes, content);
    const part = await mcs(['dump-section', '5.2', '--offset', '0x10', '--length', '16'], env);
    assert.deepEqual(part.bytes, content.subarray(16, 32));
  });

  test('--hex is byte for byte what hexdump -C prints', { skip: !existsSync('/usr/bin/hexdump') && 'no hexdump here' }, async () => {
    const r = await mcs(['dump-section', 'webcache:buckets', '--hex'], env);
    assert.equal(r.code, 0, r.stderr);
    const expected = spawnSync('/usr/bin/hexdump', ['-C'], { input: content, encoding: 'utf8' }).stdout;
    assert.equal(r.stdout, expected);
    const tail = await mcs(['dump-section', 'webcache:buckets', '--hex', '--offset', '4000', '--length', '90'], env);
    // hexdump -s cannot seek a pipe: give it a file.
    const tmp = tempDir();
    try {
      const file = path.join(tmp.dir, 'section.bin');
      writeFileSync(file, content);
      const expectedTail = spawnSync('/usr/bin/hexdump', ['-C', '-s', '4000', '-n', '90', file], { encoding: 'utf8' }).stdout;
      assert.equal(tail.stdout, expectedTail);
    } finally {
      tmp.remove();
    }
  });

  test('--json gives the SectionBytes', async () => {
    const r = await mcs(['dump-section', 'webcache:buckets', '--json', '--length', '11'], env);
    const bytes = JSON.parse(r.stdout);
    assert.ok(methods.readSection.result.safeParse(bytes).success);
    assert.equal(Buffer.from(bytes.base64, 'base64').toString(), 'Hello, MCS!');
    assert.equal(bytes.size, 4096);
    assert.equal(bytes.id, '5.2');
  });

  test('a section in failed memory is dumped with a warning on stderr', async () => {
    const r = await mcs(['dump-section', 'lost', '--hex'], env);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, 'warning: 100 of the bytes are in failed memory (they read as the dummy value)\n');
  });
});

describe('mcs decode-section', () => {
  test("one record a line, flagged when a magic number is wrong or bytes failed; a rejected layout warns; where to go on", async () => {
    const r = await mcs(['decode-section', 'webcache:buckets', '--from', '0x0', '--limit', '2'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      'Web cache: buckets (declared by webcache)',
      '       0x0  header  buckets=2',
      '      0x20  chain 1  head=0x5000  PROBLEM: magic is 0x0, not 0x57434531  FAILED: 16 bytes',
      'more from 0x30 (--from 0x30)',
    ]);
    assert.equal(r.stderr, 'warning: tally: section layouts rejected: 0.title: too short\n');
    assert.deepEqual(h.backend.calledWith('decodeSection').at(-1), { target: 'webcache:buckets', from: 0, limit: 2 });
  });

  test('a section no application describes says so; --json prints the DecodedSection', async () => {
    const r = await mcs(['decode-section', 'lost'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'section 6.1: no running application declares its layout (dump-section shows its bytes)\n');
    const j = await mcs(['decode-section', '5.2', '--json'], env);
    assert.ok(methods.decodeSection.result.safeParse(JSON.parse(j.stdout)).success);
  });
});
