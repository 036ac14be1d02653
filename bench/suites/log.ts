// Event log throughput and latency, end to end: a node process appends to its GSM
// event ring as fast as it can, this process (the supervisor) drains the ring into
// SQLite, as the running multicomputer does.
//
//   events_per_s      events committed to SQLite per second over the run; baseline:
//                     the same rows inserted by plain better-sqlite3 batches (same
//                     schema, same batch size) with no ring and no other process.
//   drain_lag_p99_ms  for every SAMPLE_EVERY-th event, cluster time from its append
//                     in the node to the commit of the batch holding it (queryable).
//
// This file is also the node: run with WRITER_FLAG it appends instead of measuring.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { attachMapping, createMapping, monotonicNs, unlinkMapping } from '../../runtime/gsm/native';
import { EventQuery } from '../../runtime/log/query';
import { EventRingReader, EventRingWriter, ringBytes } from '../../runtime/log/ring';
import { EventStore } from '../../runtime/log/store';
import { metric, quantile, type Suite } from '../metric';

const WRITER_FLAG = '--log-bench-writer';
const RUN_MS = 3000;
const CAPACITY = 8192; // 2 MiB of GSM per node; under saturation the lag is about 2 rings' worth
const FULL_BACKOFF_MS = 1;
const SAMPLE_EVERY = 100;
const DRAIN_IDLE_MS = 5;
const NODE = 1;
const INCARNATION = 1;
const self = fileURLToPath(import.meta.url);

/**
 * The node side: append as fast as the ring takes events for `ms`, then report how
 * many appends the ring took and refused. On a full ring it pauses FULL_BACKOFF_MS,
 * as a node goes on with its own work: spinning on the ring would only steal a core
 * from the supervisor on a 2-core machine and measure the machine, not the log.
 */
function writer(name: string, bytes: number, ms: number): never {
  const map = attachMapping(name);
  const ring = new EventRingWriter(map, 0, bytes);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  process.stdout.write('ready\n');
  const until = Date.now() + ms;
  let accepted = 0;
  let refused = 0;
  let i = 0;
  while (Date.now() < until) {
    for (let k = 0; k < 64; k++) {
      i++;
      const seq = i % SAMPLE_EVERY === 0
        ? ring.append('bench.sample', 'section/bench', { i })
        : ring.append('mutex.lock', 'section/bench', { i, holder: 3, waiters: 2 });
      if (seq !== 0) {
        accepted++;
        continue;
      }
      refused++;
      Atomics.wait(pause, 0, 0, FULL_BACKOFF_MS);
      break;
    }
  }
  process.stdout.write(`${JSON.stringify({ accepted, refused })}\n`);
  process.exit(0);
}

const suite: Suite = async (report) => {
  const name = `/mcs-bench-log-${process.pid}`;
  const bytes = ringBytes(CAPACITY);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcs-bench-log-'));
  const map = createMapping(name, Math.ceil(bytes / 4096) * 4096);
  const store = EventStore.open(path.join(dir, 'log.db'));
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const reader = new EventRingReader(map, 0, bytes, { maxBatch: CAPACITY });
    reader.reset(NODE, INCARNATION);

    child = spawn(process.execPath, ['--import', 'tsx', self, WRITER_FLAG, name, String(bytes), String(RUN_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    while (!out.includes('ready\n')) {
      if (done) throw new Error('log bench writer exited before starting');
      await sleep(1);
    }

    const start = monotonicNs();
    let committed = 0;
    let batches = 0;
    let drainNs = 0;
    let insertNs = 0;
    const lagsMs: number[] = [];
    for (;;) {
      const finished = done; // read before draining: after exit, one last drain empties the ring
      const t0 = monotonicNs();
      const events = reader.drain();
      if (events.length > 0) {
        const t1 = monotonicNs();
        committed += store.append(events);
        const t2 = monotonicNs();
        drainNs += t1 - t0;
        insertNs += t2 - t1;
        batches++;
        for (const e of events) if (e.kind === 'bench.sample') lagsMs.push((t2 - e.clusterTimeNs) / 1e6);
        continue;
      }
      if (finished) break;
      await sleep(DRAIN_IDLE_MS);
    }
    const elapsedS = (monotonicNs() - start) / 1e9;
    const counts = JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? '{}') as { accepted?: number; refused?: number };
    const gaps = new EventQuery(store).checkGaps(NODE, INCARNATION).length;
    const eventsPerS = committed / elapsedS;
    const avgBatch = Math.round(committed / Math.max(1, batches));

    const baseline = baselineInsertRate(store, path.join(dir, 'baseline.db'), Math.min(committed, 300_000), avgBatch);

    report(metric('log', 'events_per_s', 'ev/s', eventsPerS, baseline,
      `${committed} committed in ${elapsedS.toFixed(2)} s, ${batches} batches (avg ${avgBatch}); ` +
      `drain ${(drainNs / Math.max(1, committed)).toFixed(0)} ns/ev, insert ${(insertNs / Math.max(1, committed)).toFixed(0)} ns/ev; ` +
      `writer: ${counts.accepted} appended, ${counts.refused} refused on a full ring; gaps ${gaps}`));
    report(metric('log', 'drain_lag_p99_ms', 'ms', quantile(lagsMs, 0.99), null,
      `${lagsMs.length} samples, p50 ${quantile(lagsMs, 0.5).toFixed(1)} ms, max ${quantile(lagsMs, 1).toFixed(1)} ms; ring ${CAPACITY} slots`));
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    store.close();
    map.close();
    unlinkMapping(name);
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * Rows per second for plain better-sqlite3: the same rows (read back from the run's
 * log), the same schema, one prepared INSERT and one transaction per batch of `batch`.
 */
function baselineInsertRate(source: EventStore, file: string, rows: number, batch: number): number {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const ddl = source.db
      .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC")
      .all() as { sql: string }[];
    for (const { sql } of ddl) db.exec(sql);
    const data = source.db
      .prepare('SELECT node, incarnation, seq, cluster_time_ns, wall_time_ms, kind, object, details FROM events ORDER BY id LIMIT ?')
      .raw()
      .all(rows) as unknown[][];
    const insert = db.prepare(
      'INSERT OR IGNORE INTO events (node, incarnation, seq, cluster_time_ns, wall_time_ms, kind, object, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertBatch = db.transaction((slice: unknown[][]) => {
      for (const r of slice) insert.run(r);
    });
    const t0 = monotonicNs();
    for (let i = 0; i < data.length; i += batch) insertBatch(data.slice(i, i + batch));
    return data.length / ((monotonicNs() - t0) / 1e9);
  } finally {
    db.close();
  }
}

if (process.argv[2] === WRITER_FLAG && path.resolve(process.argv[1] ?? '') === self) {
  writer(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
}

export default suite;
