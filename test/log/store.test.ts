// The event log in SQLite: what goes in, what the console can get back out.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { csvField } from '../../runtime/log/csv';
import { EventQuery, cursorOf, type EventFilter } from '../../runtime/log/query';
import { EventStore, SUPERVISOR_NODE, type LogEvent, type LogRow } from '../../runtime/log/store';
import type { LogFilter } from '../../runtime/control/api';
import { matchesLogFilter } from '../../runtime/control/api/log-filter';
import { tempDir } from './helpers';

const T0 = Date.UTC(2026, 0, 1);

function ev(node: number, seq: number, kind: string, object: string | null = null, details: unknown = null, incarnation = 1): LogEvent {
  return { node, incarnation, seq, clusterTimeNs: seq * 1000 + node, wallTimeMs: T0 + seq * 10, kind, object, details };
}

/** Events from nodes 0..nodes-1, seqs 1..perNode each, interleaved as a supervisor drains them. */
function workload(nodes: number, perNode: number): LogEvent[] {
  const kinds = ['node.join', 'node.heartbeat.suspect', 'mutex.lock', 'mutex.abandoned', 'section.create'];
  const out: LogEvent[] = [];
  for (let seq = 1; seq <= perNode; seq++) {
    for (let n = 0; n < nodes; n++) out.push(ev(n, seq, kinds[(seq + n) % kinds.length], `obj-${seq % 7}`, { seq, n }));
  }
  return out;
}

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** A strict RFC 4180 reader, to check the export from the outside. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (c === '"') (quoted = false), i++;
      else (field += c), i++;
    } else if (c === '"' && field === '') (quoted = true), i++;
    else if (c === ',') row.push(field), (field = ''), i++;
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), (i += 2);
    else if (c === '"' || c === '\r' || c === '\n') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
    else (field += c), i++;
  }
  assert.equal(field, '', 'the last record ends with CRLF');
  assert.equal(row.length, 0);
  return rows;
}

function allPagesForward(q: EventQuery, filter: EventFilter, limit: number): LogRow[] {
  const out: LogRow[] = [];
  let after: string | undefined;
  for (;;) {
    const page = q.query(filter, after === undefined ? { fromStart: true, limit } : { after, limit });
    out.push(...page.rows);
    if (!page.next) return out;
    after = page.next;
  }
}

function allPagesBackward(q: EventQuery, filter: EventFilter, limit: number): LogRow[] {
  const pages: LogRow[][] = [];
  let page = q.query(filter, { limit });
  pages.unshift(page.rows);
  while (page.next) {
    page = q.query(filter, { before: page.next, limit });
    pages.unshift(page.rows);
  }
  return pages.flat();
}

describe('event store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let store: EventStore;
  let q: EventQuery;

  beforeEach(() => {
    tmp = tempDir();
    file = `${tmp.dir}/events.db`;
    store = EventStore.open(file);
    q = new EventQuery(store);
  });
  afterEach(() => {
    store.close();
    tmp.dispose();
  });

  it('stores a batch and gives each event back as it went in', () => {
    const batch = [ev(0, 1, 'node.join', null, { generation: 1 }), ev(1, 1, 'section.create', 'cache/index', { bytes: 4096 })];
    assert.equal(store.append(batch), 2);
    const { rows } = q.query({});
    assert.deepEqual(
      rows.map(({ id, ...r }) => (assert.ok(id > 0), r)),
      batch.map(({ node, incarnation, seq, clusterTimeNs, wallTimeMs, kind, object, details }) => ({
        node, incarnation, seq, clusterTimeNs, wallTimeMs, kind, object, details,
      })),
    );
  });

  it('ignores an event it already has (same node, incarnation, seq): a re-drain is harmless', () => {
    const batch = workload(3, 30);
    assert.equal(store.append(batch), 90);
    assert.equal(store.append(batch), 0);
    const fresh = Array.from({ length: 12 }, (_, i) => ev(0, 31 + i, 'node.leave'));
    assert.equal(store.append([...batch.slice(0, 20), ...fresh]), 12, 'old and new mixed in one batch');
    assert.equal(store.append([...batch.slice(0, 5), ev(0, 43, 'node.leave')]), 1);
    assert.equal(store.count(), 103);
    assert.deepEqual(new EventQuery(store).checkGaps(0, 1), []);
  });

  it('keeps an event whose times were scribbled into NaN instead of dropping it', () => {
    assert.equal(store.append([{ ...ev(2, 1, 'node.join'), clusterTimeNs: NaN, wallTimeMs: Infinity }]), 1);
    assert.deepEqual(q.query({}).rows.map((r) => [r.seq, r.clusterTimeNs, r.wallTimeMs]), [[1, 0, 0]]);
  });

  it('records supervisor and operator events as node -1 with a seq that continues across reopen', () => {
    assert.equal(store.record('operator.kill', 'node/3', { by: 'console' }), 1);
    assert.equal(store.record('recovery.start', 'component/webcache'), 2);
    store.close();
    store = EventStore.open(file);
    q = new EventQuery(store);
    assert.equal(store.record('recovery.end', 'component/webcache', { durationMs: 41 }), 3);
    const rows = q.query({ nodes: [SUPERVISOR_NODE] }).rows;
    assert.deepEqual(rows.map((r) => [r.seq, r.kind]), [[1, 'operator.kill'], [2, 'recovery.start'], [3, 'recovery.end']]);
    assert.deepEqual(q.checkGaps(SUPERVISOR_NODE, 0), []);
  });

  it('records several supervisor events in one commit, in order, and tells followers once', () => {
    store.record('node.failed', 'node1');
    const heard: number[] = [];
    store.onAppend((lastId) => heard.push(lastId));
    const seqs = store.recordAll([
      { kind: 'object.reclaimed', object: '3.1', details: { name: 'a' } },
      { kind: 'object.orphaned', object: '4.1', details: { refs: 2 } },
      { kind: 'object.refs-dropped', object: 'node1' },
    ]);
    assert.deepEqual(seqs, [2, 3, 4]);
    assert.deepEqual(heard, [4]);
    const rows = q.query({ nodes: [SUPERVISOR_NODE] }).rows;
    assert.deepEqual(rows.map((r) => [r.seq, r.kind, r.object]), [[1, 'node.failed', 'node1'], [2, 'object.reclaimed', '3.1'], [3, 'object.orphaned', '4.1'], [4, 'object.refs-dropped', 'node1']]);
    assert.deepEqual(rows[2].details, { refs: 2 });
    assert.deepEqual(store.recordAll([]), []);
    assert.deepEqual(heard, [4]);
  });

  it('opens a file twice and both see the same log (WAL), and refuses a future schema', () => {
    store.append(workload(1, 3));
    const other = EventStore.open(file);
    try {
      assert.equal(other.count(), 3);
      other.db.prepare('UPDATE schema_version SET version = 99').run();
    } finally {
      other.close();
    }
    store.close();
    assert.throws(() => EventStore.open(file), /schema version 99/);
    store = EventStore.open(`${tmp.dir}/fresh.db`);
  });

  it('pages forward and backward and returns every row exactly once', () => {
    store.append(workload(4, 250)); // 1000 rows
    for (const limit of [1, 7, 100, 1000, 5000]) {
      const fwd = allPagesForward(q, {}, limit);
      assert.equal(fwd.length, 1000);
      assert.ok(fwd.every((r, i) => i === 0 || r.id > fwd[i - 1].id));
      const back = allPagesBackward(q, {}, limit);
      assert.deepEqual(back.map((r) => r.id), fwd.map((r) => r.id));
    }
    const filter: EventFilter = { nodes: [2], kinds: ['mutex.*'] };
    const fwd = allPagesForward(q, filter, 13);
    assert.deepEqual(allPagesBackward(q, filter, 13).map((r) => r.id), fwd.map((r) => r.id));
    assert.deepEqual(fwd, q.query(filter, { limit: 10_000 }).rows);
  });

  it('without a cursor a page is the newest rows, oldest first, and next pages backwards', () => {
    store.append(workload(1, 50));
    const page = q.query({}, { limit: 5 });
    assert.deepEqual(page.rows.map((r) => r.seq), [46, 47, 48, 49, 50]);
    assert.ok(page.next);
    assert.deepEqual(q.query({}, { before: page.next, limit: 2 }).rows.map((r) => r.seq), [44, 45]);
    const first = q.query({}, { fromStart: true, limit: 2 });
    assert.deepEqual(first.rows.map((r) => r.seq), [1, 2]);
    assert.deepEqual(q.query({}, { after: first.next!, limit: 2 }).rows.map((r) => r.seq), [3, 4]);
  });

  it('filters by node, kind (exact and prefix), object, wall-time range and text', () => {
    store.append(workload(3, 20));
    store.append([ev(5, 1, 'memory.failed', 'gsm/node-5', { range: [4096, 8192], note: 'Contribution, "housed" by node 5' })]);
    const by = (f: EventFilter) => q.query(f, { limit: 10_000 }).rows;
    const all = by({});
    assert.equal(all.length, 61);

    assert.deepEqual(by({ nodes: [1] }), all.filter((r) => r.node === 1));
    assert.deepEqual(by({ nodes: [0, 2] }), all.filter((r) => r.node === 0 || r.node === 2));
    assert.deepEqual(by({ kinds: ['mutex.lock'] }), all.filter((r) => r.kind === 'mutex.lock'));
    assert.deepEqual(by({ kinds: ['node.*'] }), all.filter((r) => r.kind.startsWith('node.')));
    assert.deepEqual(by({ kinds: ['node.*', 'memory.failed'] }), all.filter((r) => r.kind.startsWith('node.') || r.kind === 'memory.failed'));
    assert.deepEqual(by({ kinds: ['mutex*'] }), all.filter((r) => r.kind.startsWith('mutex')));
    assert.equal(by({ kinds: ['mutex'] }).length, 0, 'without * a kind is exact');
    assert.deepEqual(by({ object: 'obj-3' }), all.filter((r) => r.object === 'obj-3'));
    assert.deepEqual(by({ object: 'gsm/*' }), all.filter((r) => r.object?.startsWith('gsm/')));
    assert.deepEqual(by({ sinceMs: T0 + 50, untilMs: T0 + 100 }), all.filter((r) => r.wallTimeMs >= T0 + 50 && r.wallTimeMs < T0 + 100));
    assert.deepEqual(by({ text: 'HOUSED' }).map((r) => r.node), [5], 'text matches details, ASCII case-insensitively');
    assert.deepEqual(by({ text: 'gsm/node' }).map((r) => r.node), [5], 'text matches object');
    assert.deepEqual(by({ text: 'abandoned' }), all.filter((r) => r.kind === 'mutex.abandoned'), 'text matches kind');
    assert.equal(by({ text: '100%' }).length, 0, '% is literal');
    store.append([ev(6, 1, 'operator.note', 'Straße', { note: 'NŒUD Été' })]);
    assert.deepEqual(by({ text: 'nœud été' }).map((r) => r.node), [6], 'beyond ASCII too, case-insensitively');
    assert.deepEqual(by({ text: 'STRASSE' }).length, 0);
    assert.deepEqual(by({ text: 'STRAßE' }).map((r) => r.node), [6]);
    assert.deepEqual(by({ nodes: [0], kinds: ['node.*'], sinceMs: T0 + 100 }).length > 0, true);
    assert.deepEqual(by({ nodes: [0], kinds: ['node.*'], sinceMs: T0 + 100 }),
      all.filter((r) => r.node === 0 && r.kind.startsWith('node.') && r.wallTimeMs >= T0 + 100));
  });

  it('filters exactly as the console matches rows live (control API matchesLogFilter)', () => {
    const kinds = ['node.join', 'node.fail', 'nodex', 'mutex.lock', 'mutex.abandoned', 'log.overflow', 'Operator.Kill'];
    const objects = [null, 'cache/index', 'cache/chain-1', 'Straße', '100%_done', 'node/3'];
    const texts = ['100%', 'o_d', 'ABANDON', 'straSSe', 'straße', 'ÉTÉ', '"n":3', 'cache', '\\'];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const events: LogEvent[] = [];
    for (let i = 1; i <= 400; i++) {
      const details = [null, { n: rnd(5) }, { note: 'été 100% done' }, { path: 'a\\b' }, ['ABANDONED']][rnd(5)];
      events.push({ ...ev(rnd(4), i, kinds[rnd(kinds.length)], objects[rnd(objects.length)], details), wallTimeMs: T0 + rnd(1000) });
    }
    store.append(events);
    const all = q.query({}, { limit: 10_000 }).rows;
    for (let k = 0; k < 200; k++) {
      const f: EventFilter = {};
      if (rnd(3) === 0) f.sinceMs = T0 + rnd(1000);
      if (rnd(3) === 0) f.untilMs = T0 + rnd(1000);
      if (rnd(3) === 0) f.nodes = [rnd(4), rnd(4)];
      if (rnd(2) === 0) f.kinds = [['node.*', 'mutex.lock', 'node*', 'Operator.*', '*', 'log.overflow'][rnd(6)]];
      if (rnd(4) === 0) f.object = objects[1 + rnd(objects.length - 1)]!;
      if (rnd(2) === 0) f.text = texts[rnd(texts.length)];
      const expected = all.filter((r) => matchesLogFilter(r, f as LogFilter));
      assert.deepEqual(q.query(f, { limit: 10_000 }).rows.map((r) => r.id), expected.map((r) => r.id), JSON.stringify(f));
    }
  });

  it('rejects a malformed cursor', () => {
    assert.throws(() => q.query({}, { after: 'x; DROP TABLE events' }), /not an event log cursor/);
    assert.equal(cursorOf({ id: 35 }), cursorOf({ id: 35 }));
  });

  it('follow delivers rows appended later that match, without polling, until stopped', async () => {
    store.append(workload(2, 5)); // history: not delivered
    const seen: LogRow[][] = [];
    const stop = q.follow({ kinds: ['node.*'] }, (rows) => seen.push(rows));
    store.append([ev(0, 6, 'node.leave'), ev(1, 6, 'mutex.lock')]);
    store.append([ev(1, 7, 'node.fail', null, { reason: 'heartbeat' })]);
    store.record('node.restart', 'node/1');
    await Promise.resolve(); // delivery runs after the appending call returns
    await new Promise((r) => setImmediate(r));
    const delivered = seen.flat().map((r) => [r.node, r.kind]);
    assert.deepEqual(delivered, [[0, 'node.leave'], [1, 'node.fail'], [SUPERVISOR_NODE, 'node.restart']]);
    stop();
    store.append([ev(0, 8, 'node.join')]);
    await new Promise((r) => setImmediate(r));
    assert.equal(seen.flat().length, 3, 'nothing after stop');
  });

  it('follow can start from a cursor, so a tail page and the live rows join without a gap', async () => {
    store.append(workload(1, 10));
    const tail = q.query({}, { limit: 3 });
    store.append([ev(0, 11, 'node.leave')]); // lands between the page and the follow
    const seen: number[] = [];
    const stop = q.follow({}, (rows) => seen.push(...rows.map((r) => r.seq)), { after: cursorOf(tail.rows[2]) });
    store.append([ev(0, 12, 'node.join')]);
    await new Promise((r) => setImmediate(r));
    stop();
    assert.deepEqual(seen, [11, 12]);
  });

  it('exports JSON that parses back to the same rows', async () => {
    store.append(workload(2, 30));
    store.append([ev(9, 1, 'weird', 'a,b "c"\nd', { s: 'line1\nline2, "q"', u: 'ü😀' })]);
    const sink = new Sink();
    const n = await q.exportJson({}, sink);
    assert.equal(n, 61);
    assert.deepEqual(JSON.parse(sink.text), q.query({}, { limit: 10_000 }).rows);
    const empty = new Sink();
    assert.equal(await q.exportJson({ nodes: [42] }, empty), 0);
    assert.deepEqual(JSON.parse(empty.text), []);
  });

  it('exports RFC 4180 CSV that parses back, commas, quotes and newlines included', async () => {
    store.append([
      ev(1, 1, 'mutex.lock', 'plain', { a: 1 }),
      ev(1, 2, 'section.create', 'a,b "c"\r\nd', { s: 'line1\nline2, "q"', empty: '' }),
      ev(1, 3, 'node.join', null, null),
    ]);
    const sink = new Sink();
    assert.equal(await q.exportCsv({}, sink), 3);
    const [header, ...records] = parseCsv(sink.text);
    assert.deepEqual(header, ['id', 'node', 'incarnation', 'seq', 'cluster_time_ns', 'wall_time_ms', 'wall_time', 'kind', 'object', 'details']);
    const rows = q.query({}).rows;
    assert.deepEqual(records.map((f) => [Number(f[0]), Number(f[3]), f[7], f[8], JSON.parse(f[9])]),
      rows.map((r) => [r.id, r.seq, r.kind, r.object ?? '', r.details]));
    assert.equal(records[0][6], new Date(T0 + 10).toISOString());
    assert.equal(csvField('a"b'), '"a""b"');
  });

  it('exports many rows in pages, waiting for a slow consumer', async () => {
    store.append(workload(10, 1000)); // 10,000 rows
    let chunks = 0;
    let bytes = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _e, done) {
        chunks++;
        bytes += chunk.length;
        setImmediate(done);
      },
    });
    assert.equal(await q.exportJson({}, slow), 10_000);
    assert.ok(chunks >= 10, `written page by page (${chunks} writes)`);
    assert.ok(bytes > 10_000 * 50);
  });

  it('retention by rows deletes the oldest and logs log.retention saying how many went', () => {
    store.close();
    store = EventStore.open(file, { retention: { maxRows: 100, checkEveryRows: 1_000_000 } });
    q = new EventQuery(store);
    store.append(workload(1, 250));
    assert.equal(store.applyRetention(), 151);
    assert.equal(store.count(), 100);
    const rows = q.query({}, { limit: 1000 }).rows;
    assert.deepEqual(rows.slice(0, 99).map((r) => r.seq), Array.from({ length: 99 }, (_, i) => 152 + i), 'the newest are kept');
    const last = rows[99];
    assert.equal(last.kind, 'log.retention');
    assert.equal(last.node, SUPERVISOR_NODE);
    assert.deepEqual(last.details, { deleted: 151, byAge: 0, byRows: 151, maxRows: 100, maxAgeMs: null });
    assert.equal(store.applyRetention(), 0, 'nothing more to do');
    assert.equal(q.query({ kinds: ['log.retention'] }).rows.length, 1, 'and nothing logged when nothing went');
  });

  it('retention runs by itself every N appended rows', () => {
    store.close();
    store = EventStore.open(file, { retention: { maxRows: 50, checkEveryRows: 100 } });
    for (let seq = 1; seq <= 300; seq++) {
      store.append([ev(0, seq, 't')]);
      assert.ok(store.count() <= 50 + 100, 'never more than maxRows + checkEveryRows');
    }
    const [latest] = new EventQuery(store).query({ kinds: ['log.retention'] }).rows;
    assert.ok((latest.details as { deleted: number }).deleted > 0);
  });

  it('retention by age deletes rows older than the limit', () => {
    store.close();
    store = EventStore.open(file, { retention: { maxAgeMs: 60_000 } });
    q = new EventQuery(store);
    const now = Date.now();
    const old = workload(2, 10).map((e) => ({ ...e, wallTimeMs: now - 3_600_000 }));
    const recent = [1, 2, 3].map((s) => ({ ...ev(0, 100 + s, 'node.join'), wallTimeMs: now - 1000 }));
    store.append([...old, ...recent]);
    assert.equal(store.applyRetention(), 20);
    const rows = q.query({}).rows;
    assert.deepEqual(rows.map((r) => r.kind), ['node.join', 'node.join', 'node.join', 'log.retention']);
    assert.deepEqual(rows[3].details, { deleted: 20, byAge: 20, byRows: 0, maxRows: null, maxAgeMs: 60_000 });
  });

  it('ids keep growing after retention emptied the log, so cursors stay valid', () => {
    store.close();
    store = EventStore.open(file, { retention: { maxAgeMs: 0 } });
    q = new EventQuery(store);
    store.append(workload(1, 5).map((e) => ({ ...e, wallTimeMs: 0 })));
    const before = store.lastId();
    store.applyRetention();
    store.append([ev(0, 6, 'node.join')]);
    assert.ok(q.query({ kinds: ['node.join'] }).rows[0].id > before);
  });

  it('checkGaps finds missing seq ranges of a node incarnation', () => {
    const seqsPresent = [1, 2, 3, 6, 7, 10, 11, 12];
    store.append(seqsPresent.map((s) => ev(4, s, 't', null, null, 2)));
    store.append([1, 2, 3, 4].map((s) => ev(4, s, 't', null, null, 3)));
    store.append([2, 3].map((s) => ev(5, s, 't')));
    assert.deepEqual(q.checkGaps(4, 2), [{ from: 4, to: 5 }, { from: 8, to: 9 }]);
    assert.deepEqual(q.checkGaps(4, 3), []);
    assert.deepEqual(q.checkGaps(4, 3, 6), [{ from: 5, to: 6 }], 'missing tail up to the expected last seq');
    assert.deepEqual(q.checkGaps(5, 1), [{ from: 1, to: 1 }], 'a missing first event is a gap');
    assert.deepEqual(q.checkGaps(7, 1), []);
  });
});
