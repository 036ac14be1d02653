// The event log's durable half: SQLite through better-sqlite3, owned by the
// supervisor process. Nodes never write here (they append to their GSM ring, see
// ring.ts); the supervisor drains rings into `append` and logs its own and the
// operator's actions with `record`.
import Database from 'better-sqlite3';
import { monotonicNs } from '../gsm/native';

/** Node number of events the supervisor or an operator logs (not any node's ring). */
export const SUPERVISOR_NODE = -1;
/** Incarnation of supervisor events: its seq runs on across supervisor restarts. */
export const SUPERVISOR_INCARNATION = 0;

export const SCHEMA_VERSION = 1;

export interface LogEvent {
  node: number;
  incarnation: number;
  seq: number;
  clusterTimeNs: number;
  wallTimeMs: number;
  kind: string;
  object: string | null;
  details: unknown;
  /** Details already as JSON text (events drained from a ring carry it); used instead of `details`. */
  detailsJson?: string;
}

/** A stored event: `id` orders the whole log (insertion order) and is what cursors name. */
export interface LogRow extends Omit<LogEvent, 'detailsJson'> {
  id: number;
}

export interface RetentionPolicy {
  /** Keep at most this many rows (the newest). */
  maxRows?: number;
  /** Delete rows whose wall time is older than this. */
  maxAgeMs?: number;
  /** Apply the policy automatically after this many appended rows (default 10,000). */
  checkEveryRows?: number;
}

export interface EventStoreOptions {
  retention?: RetentionPolicy;
}

/** Told, after each commit that added rows, the highest id now in the log. */
export type AppendListener = (lastId: number) => void;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
-- AUTOINCREMENT: ids must never be reused, even when retention empties the table,
-- because cursors and live followers remember the last id they saw.
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  node INTEGER NOT NULL,
  incarnation INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  cluster_time_ns INTEGER NOT NULL,
  wall_time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  object TEXT NULL,
  details TEXT NOT NULL,
  -- A re-drained event is the same row: the supervisor may drain a ring again after
  -- a crash between its SQLite commit and freeing the ring's slots.
  UNIQUE (node, incarnation, seq)
);
CREATE INDEX IF NOT EXISTS events_wall_time ON events (wall_time_ms);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind);
CREATE INDEX IF NOT EXISTS events_object ON events (object) WHERE object IS NOT NULL;
`;

const ROW_COLUMNS =
  'id, node, incarnation, seq, cluster_time_ns AS clusterTimeNs, wall_time_ms AS wallTimeMs, kind, object, details';

export class EventStore {
  readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertBatch: (events: readonly LogEvent[]) => number;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly listeners = new Set<AppendListener>();
  private readonly retention: RetentionPolicy | undefined;
  private rowsSinceRetention = 0;
  private inRetention = false;
  private supervisorSeq: number;
  private closed = false;

  static open(file: string, opts: EventStoreOptions = {}): EventStore {
    return new EventStore(new Database(file), opts);
  }

  private constructor(db: Database.Database, opts: EventStoreOptions) {
    this.db = db;
    this.retention = opts.retention;
    validateRetention(this.retention);
    db.pragma('journal_mode = WAL');
    // NORMAL under WAL: a commit survives a crash of this process (the OS has it); an
    // OS crash may lose the last commits but never corrupts the file.
    db.pragma('synchronous = NORMAL');
    db.exec('BEGIN');
    try {
      db.exec(SCHEMA);
      const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
      if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
      else if (row.version !== SCHEMA_VERSION) {
        throw new Error(`event log schema version ${row.version} is not ${SCHEMA_VERSION} (this build)`);
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      db.close();
      throw err;
    }
    const insertInto = 'INSERT OR IGNORE INTO events (node, incarnation, seq, cluster_time_ns, wall_time_ms, kind, object, details) VALUES';
    const row = '(?, ?, ?, ?, ?, ?, ?, ?)';
    this.insert = db.prepare(`${insertInto} ${row}`);
    // Rows go in INSERT_ROWS at a time: one statement step per 32 rows instead of per row
    // cuts about a third of the cost of a batch (measured with this schema).
    const insertMany = db.prepare(`${insertInto} ${Array(INSERT_ROWS).fill(row).join(', ')}`);
    const params: unknown[] = new Array(INSERT_ROWS * COLUMNS);
    this.insertBatch = db.transaction((events: readonly LogEvent[]) => {
      let added = 0;
      let i = 0;
      for (; i + INSERT_ROWS <= events.length; i += INSERT_ROWS) {
        for (let k = 0; k < INSERT_ROWS; k++) bindRow(params, k * COLUMNS, events[i + k]!);
        added += insertMany.run(params).changes;
      }
      const one: unknown[] = new Array(COLUMNS);
      for (; i < events.length; i++) added += this.insert.run(bindRow(one, 0, events[i]!)).changes;
      return added;
    });
    this.supervisorSeq = this.maxSupervisorSeq();
  }

  /**
   * Inserts a batch in one transaction; events already stored (same node, incarnation,
   * seq) are skipped, so draining a ring twice is harmless. Returns rows added.
   */
  append(events: readonly LogEvent[]): number {
    if (events.length === 0) return 0;
    const added = this.insertBatch(events);
    if (added > 0) this.afterAppend(added);
    return added;
  }

  /** Logs a supervisor or operator event (node -1). Returns its seq. */
  record(kind: string, object: string | null = null, details?: unknown): number {
    const seq = this.insertSupervisorEvent(kind, object, toJson(details));
    this.afterAppend(1);
    return seq;
  }

  /**
   * Logs several supervisor events in one transaction: one commit for all (a
   * failed node's reclaimed objects are dozens of rows, written while its
   * survivors recover on the same cores). Returns the seq of each, in order.
   */
  recordAll(events: readonly { kind: string; object: string | null; details?: unknown }[]): number[] {
    if (events.length === 0) return [];
    const seqs = this.supervisorTransaction(() => events.map((e) => this.insertSupervisorEvent(e.kind, e.object, toJson(e.details))));
    this.afterAppend(events.length);
    return seqs;
  }

  /** Runs `fn` in one transaction; if it rolls back, the supervisor seqs it took were never stored. */
  private supervisorTransaction<T>(fn: () => T): T {
    const seqBefore = this.supervisorSeq;
    try {
      return this.db.transaction(fn)();
    } catch (err) {
      this.supervisorSeq = seqBefore;
      throw err;
    }
  }

  private insertSupervisorEvent(kind: string, object: string | null, json: string): number {
    for (;;) {
      const seq = this.supervisorSeq + 1;
      const { changes } = this.insert.run(
        SUPERVISOR_NODE, SUPERVISOR_INCARNATION, seq, Math.round(monotonicNs()), Date.now(), kind, object, json,
      );
      if (changes > 0) {
        this.supervisorSeq = seq;
        return seq;
      }
      // Another process sharing the file took this seq; continue after its highest.
      this.supervisorSeq = Math.max(seq, this.maxSupervisorSeq());
    }
  }

  /**
   * Applies the retention policy now: deletes rows past the age limit, then the oldest
   * rows past the row limit, and logs a `log.retention` event saying how many went.
   * Returns the number of rows deleted.
   */
  applyRetention(): number {
    const policy = this.retention;
    this.rowsSinceRetention = 0;
    if (!policy || (policy.maxRows === undefined && policy.maxAgeMs === undefined)) return 0;
    // The log.retention row is itself an append; it must not trigger another pass.
    if (this.inRetention) return 0;
    this.inRetention = true;
    try {
      return this.retain(policy);
    } finally {
      this.inRetention = false;
    }
  }

  private retain(policy: RetentionPolicy): number {
    let byAge = 0;
    let byRows = 0;
    // One transaction: rows never disappear without the log.retention row saying so.
    this.supervisorTransaction(() => {
      if (policy.maxAgeMs !== undefined) {
        const cutoff = Date.now() - policy.maxAgeMs;
        byAge = this.statement('DELETE FROM events WHERE wall_time_ms < ?').run(cutoff).changes;
      }
      if (policy.maxRows !== undefined) {
        const count = (this.statement('SELECT count(*) AS n FROM events').get() as { n: number }).n;
        // Leave room for the log.retention row itself, so the log ends at maxRows.
        const excess = count - (policy.maxRows - 1);
        if (excess > 0 && (byAge > 0 || count > policy.maxRows)) {
          const last = this.statement('SELECT id FROM events ORDER BY id LIMIT 1 OFFSET ?').get(excess - 1) as { id: number };
          byRows = this.statement('DELETE FROM events WHERE id <= ?').run(last.id).changes;
        }
      }
      if (byAge + byRows > 0) {
        const details = { deleted: byAge + byRows, byAge, byRows, maxRows: policy.maxRows ?? null, maxAgeMs: policy.maxAgeMs ?? null };
        this.insertSupervisorEvent('log.retention', null, JSON.stringify(details));
      }
    });
    if (byAge + byRows > 0) this.afterAppend(1);
    return byAge + byRows;
  }

  /** Subscribes to commits that added rows; returns the unsubscribe function. */
  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Highest id ever assigned (0 for an empty log); rows after it are the future. */
  lastId(): number {
    const row = this.statement("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  /** Number of rows in the log. */
  count(): number {
    return (this.statement('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  /** A prepared statement, compiled once per SQL text (queries build a few shapes). */
  statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      // Filters with many node lists make many shapes; an unbounded cache would leak.
      if (this.statements.size >= 256) this.statements.clear();
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Reads rows by SQL built on ROW_COLUMNS; details come back parsed. */
  rows(whereOrderLimit: string, params: readonly unknown[]): LogRow[] {
    const raw = this.statement(`SELECT ${ROW_COLUMNS} FROM events ${whereOrderLimit}`).all(...params) as RawRow[];
    for (const r of raw) (r as unknown as LogRow).details = JSON.parse(r.details);
    return raw as unknown as LogRow[];
  }

  /** Same rows with details left as JSON text (for export). */
  rawRows(whereOrderLimit: string, params: readonly unknown[]): RawRow[] {
    return this.statement(`SELECT ${ROW_COLUMNS} FROM events ${whereOrderLimit}`).all(...params) as RawRow[];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }

  private maxSupervisorSeq(): number {
    const row = this.statement('SELECT max(seq) AS seq FROM events WHERE node = ? AND incarnation = ?')
      .get(SUPERVISOR_NODE, SUPERVISOR_INCARNATION) as { seq: number | null };
    return row.seq ?? 0;
  }

  private afterAppend(added: number): void {
    const lastId = this.lastId();
    for (const l of this.listeners) {
      try {
        l(lastId);
      } catch (err) {
        // A broken follower must not make the log refuse events.
        console.error('event log: append listener failed:', err);
      }
    }
    this.rowsSinceRetention += added;
    const every = this.retention?.checkEveryRows ?? 10_000;
    if (this.retention && this.rowsSinceRetention >= every) this.applyRetention();
  }
}

const INSERT_ROWS = 32;
const COLUMNS = 8;

function bindRow(params: unknown[], at: number, e: LogEvent): unknown[] {
  params[at] = e.node;
  params[at + 1] = e.incarnation;
  params[at + 2] = e.seq;
  // A time scribbled into NaN would bind as NULL, and OR IGNORE would then drop the
  // whole event without a word: store 0 instead, which is visibly wrong but present.
  params[at + 3] = Number.isFinite(e.clusterTimeNs) ? Math.round(e.clusterTimeNs) : 0;
  params[at + 4] = Number.isFinite(e.wallTimeMs) ? Math.round(e.wallTimeMs) : 0;
  params[at + 5] = e.kind;
  params[at + 6] = e.object;
  params[at + 7] = e.detailsJson ?? toJson(e.details);
  return params;
}

/** A row as SQLite returns it, details still JSON text. */
export interface RawRow extends Omit<LogRow, 'details'> {
  details: string;
}

function toJson(details: unknown): string {
  if (details === undefined) return 'null';
  try {
    return JSON.stringify(details) ?? 'null';
  } catch (err) {
    return JSON.stringify({ unserializable: String((err as Error)?.message ?? err) });
  }
}

function validateRetention(p: RetentionPolicy | undefined): void {
  if (!p) return;
  if (p.maxRows !== undefined && (!Number.isInteger(p.maxRows) || p.maxRows < 1)) {
    throw new RangeError(`retention.maxRows must be a positive integer, got ${p.maxRows}`);
  }
  if (p.maxAgeMs !== undefined && !(p.maxAgeMs >= 0)) throw new RangeError(`retention.maxAgeMs must be >= 0, got ${p.maxAgeMs}`);
  if (p.checkEveryRows !== undefined && (!Number.isInteger(p.checkEveryRows) || p.checkEveryRows < 1)) {
    throw new RangeError(`retention.checkEveryRows must be a positive integer, got ${p.checkEveryRows}`);
  }
}
