// The per-node event ring in GSM: what the supervisor gets back from a node's ring,
// while the node lives and after it was SIGKILLed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  EventRingReader,
  EventRingWriter,
  H,
  KIND_MAX,
  OBJECT_MAX,
  ringBytes,
  type RingEvent,
  type TruncatedDetails,
} from '../../runtime/log/ring';
import { EventQuery } from '../../runtime/log/query';
import { EventStore } from '../../runtime/log/store';
import { ringWriterScript, spawnTs, tempDir, tempMapping, type Child } from './helpers';

const OFFSET = 128; // not at 0, so offset arithmetic is exercised

function ring(capacity: number, opts: { maxBatch?: number } = {}) {
  const bytes = ringBytes(capacity);
  const m = tempMapping(OFFSET + bytes);
  const reader = new EventRingReader(m.map, OFFSET, bytes, opts);
  return { ...m, bytes, reader };
}

function seqs(events: RingEvent[]): number[] {
  return events.map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('event ring', () => {
  it('returns appended events in seq order, with the node and incarnation set by reset', () => {
    const r = ring(16);
    try {
      r.reader.reset(4, 2);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      const before = Date.now();
      assert.equal(w.append('node.join', null, { generation: 7 }), 1);
      assert.equal(w.append('section.create', 'cache/index', { bytes: 4096, owner: 4 }), 2);
      assert.equal(w.append('mutex.abandoned', 'cache/chain-17'), 3);
      const events = r.reader.drain();
      assert.deepEqual(seqs(events), [1, 2, 3]);
      assert.deepEqual(
        events.map((e) => [e.node, e.incarnation, e.kind, e.object, e.details]),
        [
          [4, 2, 'node.join', null, { generation: 7 }],
          [4, 2, 'section.create', 'cache/index', { bytes: 4096, owner: 4 }],
          [4, 2, 'mutex.abandoned', 'cache/chain-17', null],
        ],
      );
      assert.ok(events[0].wallTimeMs >= before && events[0].wallTimeMs <= Date.now());
      assert.ok(events[0].clusterTimeNs <= events[1].clusterTimeNs && events[1].clusterTimeNs <= events[2].clusterTimeNs);
      assert.equal(events[1].detailsJson, '{"bytes":4096,"owner":4}');
      assert.deepEqual(r.reader.drain(), [], 'drained events are gone');
    } finally {
      r.dispose();
    }
  });

  it('keeps seqs continuous across wrap-around and partial drains', () => {
    const r = ring(8, { maxBatch: 3 });
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      const got: number[] = [];
      for (let i = 0; i < 100; i++) {
        assert.ok(w.append('t', null, { i }) > 0);
        if (i % 5 === 4) got.push(...seqs(r.reader.drain(5))); // more than one batch of 3
      }
      for (let e = r.reader.drain(); e.length; e = r.reader.drain()) got.push(...seqs(e));
      assert.deepEqual(got, range(1, 100));
    } finally {
      r.dispose();
    }
  });

  it('a new reader (a restarted supervisor) carries on where the last one stopped', () => {
    const r = ring(8);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      for (let i = 0; i < 5; i++) w.append('t', null);
      assert.deepEqual(seqs(r.reader.drain(2)), [1, 2]);
      const again = new EventRingReader(r.map, OFFSET, r.bytes);
      assert.deepEqual(seqs(again.drain()), [3, 4, 5]);
    } finally {
      r.dispose();
    }
  });

  it('reset starts a new incarnation at seq 1', () => {
    const r = ring(8);
    try {
      r.reader.reset(2, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      w.append('a', null);
      w.append('b', null);
      r.reader.drain();
      r.reader.reset(2, 2);
      const w2 = new EventRingWriter(r.map, OFFSET, r.bytes);
      assert.equal(w2.append('c', null), 1);
      const [e] = r.reader.drain();
      assert.deepEqual([e.incarnation, e.seq, e.kind], [2, 1, 'c']);
    } finally {
      r.dispose();
    }
  });

  it('a writer refuses a ring that was never reset', () => {
    const r = ring(8);
    try {
      assert.throws(() => new EventRingWriter(r.map, OFFSET, r.bytes), /reset\(\) was never run/);
    } finally {
      r.dispose();
    }
  });

  it('truncates what does not fit in a slot, visibly, and keeps UTF-8 whole', () => {
    const r = ring(8);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      const longKind = 'k'.repeat(KIND_MAX + 10);
      const longObject = 'é'.repeat(OBJECT_MAX); // 2 bytes each
      const bigDetails = { text: '😀'.repeat(200) };
      w.append(longKind, longObject, bigDetails);
      w.append('unicode', 'nœud/ß', { s: 'ü😀' });
      const [cut, whole] = r.reader.drain();
      assert.ok(cut.kind.endsWith('…') && longKind.startsWith(cut.kind.slice(0, -1)));
      assert.ok(cut.object!.endsWith('…') && longObject.startsWith(cut.object!.slice(0, -1)));
      const d = cut.details as TruncatedDetails;
      assert.equal(d.truncated, true);
      assert.equal(d.length, JSON.stringify(bigDetails).length);
      assert.ok(JSON.stringify(bigDetails).startsWith(d.partial) && d.partial.length > 0);
      assert.deepEqual(JSON.parse(cut.detailsJson), d, 'the stored JSON is valid JSON');
      assert.deepEqual([whole.object, whole.details], ['nœud/ß', { s: 'ü😀' }]);
    } finally {
      r.dispose();
    }
  });

  it('does not throw on details it cannot serialise', () => {
    const r = ring(8);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      assert.equal(w.append('weird', null, cycle), 1);
      assert.equal(w.append('big', null, { n: 10n }), 2);
      const events = r.reader.drain();
      assert.ok(events.every((e) => typeof (e.details as { unserializable: string }).unserializable === 'string'));
    } finally {
      r.dispose();
    }
  });

  it('a full ring drops new events but counts them, and the reader logs log.overflow with the number lost', () => {
    const r = ring(8);
    try {
      r.reader.reset(3, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      const results = Array.from({ length: 13 }, (_, i) => w.append('t', null, { i }));
      assert.deepEqual(results, [...range(1, 8), 0, 0, 0, 0, 0]);
      assert.equal(r.map.load32(OFFSET + H.overflow), 5);
      const events: RingEvent[] = [];
      for (let e = r.reader.drain(); e.length; e = r.reader.drain()) events.push(...e);
      assert.deepEqual(seqs(events), range(1, 9), 'the overflow event takes the next seq: no hole');
      assert.deepEqual(events.slice(0, 8).map((e) => (e.details as { i: number }).i), range(0, 7));
      assert.deepEqual([events[8].kind, events[8].details], ['log.overflow', { lost: 5 }]);
      assert.equal(r.map.load32(OFFSET + H.overflow), 0);
      assert.equal(w.append('t', null), 10, 'appends succeed again once drained');
    } finally {
      r.dispose();
    }
  });

  it('the overflow event gets a slot even while the writer keeps the ring full', () => {
    const r = ring(4);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      for (let i = 0; i < 6; i++) w.append('t', null); // 4 in, 2 dropped
      const first = r.reader.drain(4); // frees 4 slots, one of them taken for the marker
      for (let i = 0; i < 10; i++) w.append('t', null); // refill: 3 fit, 7 dropped
      const rest = [...r.reader.drain(), ...r.reader.drain()];
      const all = [...first, ...rest];
      assert.deepEqual(seqs(all), range(1, all.length));
      const lost = all.filter((e) => e.kind === 'log.overflow').map((e) => (e.details as { lost: number }).lost);
      assert.equal(lost.reduce((a, b) => a + b, 0), 2 + 7);
    } finally {
      r.dispose();
    }
  });

  it('drain stops at a slot reserved but not yet published (its writer is mid-append)', () => {
    const r = ring(8);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      w.append('a', null);
      r.map.add64n(OFFSET + H.reserved, 1); // seq 2 reserved by a writer that has not published yet
      w.append('c', null); // seq 3, published
      assert.deepEqual(seqs(r.reader.drain()), [1]);
      assert.deepEqual(r.reader.drain(), [], 'still waiting for seq 2');
      // That writer was SIGKILLed: the dead producer's ring gives up seq 2 as lost, not silently.
      const dead = r.reader.drainAfterDeath();
      assert.equal(dead.lost, 1);
      assert.deepEqual(dead.events.map((e) => [e.seq, e.kind]), [[2, 'log.lost'], [3, 'c']]);
      assert.equal(r.reader.pending(), 0, 'the ring is left empty');
    } finally {
      r.dispose();
    }
  });

  it('drainAfterDeath does not trust a corrupted reserve counter: one log.corrupt event, no unbounded loop', () => {
    const r = ring(8);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      w.append('a', null);
      assert.deepEqual(seqs(r.reader.drain()), [1]);
      r.map.store64n(OFFSET + H.reserved, 2 ** 52); // a wild write
      const dead = r.reader.drainAfterDeath();
      assert.deepEqual(dead.events.map((e) => [e.seq, e.kind]), [[2, 'log.corrupt']]);
      assert.equal(r.reader.pending(), 0);
    } finally {
      r.dispose();
    }
  });

  it('drainAfterDeath reports a dead producer\'s dropped events as log.overflow', () => {
    const r = ring(4);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      for (let i = 0; i < 7; i++) w.append('t', null);
      const dead = r.reader.drainAfterDeath();
      assert.deepEqual(dead.events.map((e) => [e.seq, e.kind]), [[1, 't'], [2, 't'], [3, 't'], [4, 't'], [5, 'log.overflow']]);
      assert.deepEqual(dead.events[4].details, { lost: 3 });
      assert.deepEqual([dead.lost, dead.overflow], [0, 3]);
    } finally {
      r.dispose();
    }
  });

  it('round-trips events appended by another process: seqs 1..N, no gap', async () => {
    const N = 5000;
    const r = ring(N); // room for all: this test is about crossing processes, not overflow
    let c: Child | undefined;
    try {
      r.reader.reset(6, 3);
      c = spawnTs(ringWriterScript, [r.name, String(OFFSET), String(r.bytes), 'count', String(N)]);
      const events: RingEvent[] = [];
      let exit: { code: number | null } | null = null;
      void c.exited.then((e) => (exit = e));
      while (events.length < N && exit === null) {
        events.push(...r.reader.drain());
        await tick();
      }
      assert.equal((await c.exited).code, 0);
      events.push(...r.reader.drain());
      assert.deepEqual(seqs(events), range(1, N));
      assert.ok(events.every((e, i) => e.node === 6 && e.incarnation === 3 && e.object === `obj-${i + 1}`));
      assert.deepEqual(events[N - 1].details, { i: N });
    } finally {
      c?.kill();
      r.dispose();
    }
  });

  it('several writers appending at once (threads or processes of one node) share one gapless seq stream', async () => {
    const N = 3000;
    const r = ring(2 * N);
    const writers: Child[] = [];
    try {
      r.reader.reset(7, 1);
      for (const tag of ['a', 'b']) {
        writers.push(spawnTs(ringWriterScript, [r.name, String(OFFSET), String(r.bytes), 'count', String(N), tag]));
      }
      const events: RingEvent[] = [];
      let running = writers.length;
      for (const w of writers) void w.exited.then(() => running--);
      while (running > 0) {
        events.push(...r.reader.drain());
        await tick();
      }
      for (const w of writers) assert.equal((await w.exited).code, 0);
      events.push(...r.reader.drain());
      assert.deepEqual(seqs(events), range(1, 2 * N));
      for (const tag of ['a', 'b']) {
        const mine = events.map((e) => e.details as { i: number; tag: string }).filter((d) => d.tag === tag);
        assert.deepEqual(mine.map((d) => d.i), range(1, N), `writer ${tag}: all its events, in its order`);
      }
    } finally {
      for (const w of writers) w.kill();
      r.dispose();
    }
  });

  it('a scribbled slot comes out marked, never as garbage that breaks the log', () => {
    const r = ring(8);
    try {
      r.reader.reset(1, 1);
      const w = new EventRingWriter(r.map, OFFSET, r.bytes);
      w.append('mutex.lock', 'm', { holder: 3 });
      // Another node's stray write lands on the slot body after it was published.
      const slot = OFFSET + ringBytes(8) - 8 * 256;
      r.map.write(slot + 28, new Uint8Array([250, 250, 0xff, 0xff]));
      r.map.write(slot + 32 + 200, new TextEncoder().encode('{not json'));
      const [e] = r.reader.drain();
      assert.equal(e.seq, 1);
      assert.equal(typeof (e.details as { corrupt: string }).corrupt, 'string');
      assert.deepEqual(JSON.parse(e.detailsJson), e.details);
    } finally {
      r.dispose();
    }
  });

  it('a producer SIGKILLed while appending in a tight loop loses no published event; its in-flight slot is reported lost', async () => {
    const r = ring(512);
    const t = tempDir();
    const store = EventStore.open(`${t.dir}/log.db`);
    let c: Child | undefined;
    try {
      r.reader.reset(2, 5);
      c = spawnTs(ringWriterScript, [r.name, String(OFFSET), String(r.bytes), 'loop']);
      await c.waitFor('ready');
      const live: RingEvent[] = [];
      while (live.length < 20_000) {
        const got = r.reader.drain();
        live.push(...got);
        store.append(got);
        if (got.length === 0) await tick();
      }
      c.kill(); // mid-loop: an "OS crash" of the node
      assert.equal((await c.exited).signal, 'SIGKILL');
      const reservedAtDeath = r.map.load64n(OFFSET + H.reserved);
      const dead = r.reader.drainAfterDeath();
      store.append(dead.events);
      const all = [...live, ...dead.events];
      // Every seq the producer took is accounted for: published, overflow marker, or lost marker.
      const last = all[all.length - 1].seq;
      assert.deepEqual(seqs(all), range(1, last));
      assert.ok(last >= reservedAtDeath);
      const lostMarkers = dead.events.filter((e) => e.kind === 'log.lost');
      assert.equal(lostMarkers.length, dead.lost);
      assert.ok(dead.lost <= 1, 'one thread has at most one slot in flight');
      // The producer's own events kept their order and none repeats.
      const is = all.filter((e) => e.kind === 'test.loop').map((e) => (e.details as { i: number }).i);
      assert.ok(is.every((v, k) => k === 0 || v > is[k - 1]));
      // And the log has every one of them: no gap.
      assert.deepEqual(new EventQuery(store).checkGaps(2, 5, last), []);
      assert.equal(store.count(), all.length);
    } finally {
      c?.kill();
      store.close();
      t.dispose();
      r.dispose();
    }
  });
});
