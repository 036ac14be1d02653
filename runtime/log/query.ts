// Reading the event log: filtered pages, live follow, export, gap check.
//
// Everything pages by id (the log's insertion order) with `id > ?` / `id < ?` and a
// LIMIT, one short statement at a time: the console shows hundreds of thousands of
// rows without ever holding them, and no statement stays open across an await (a
// better-sqlite3 connection running an iterator cannot take the supervisor's appends).
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { LOG_CSV_HEADER, csvLogLine } from './csv';
import type { EventStore, LogRow, RawRow } from './store';

export interface EventFilter {
  /** Wall time lower bound, inclusive (ms since the epoch). */
  sinceMs?: number;
  /** Wall time upper bound, exclusive. */
  untilMs?: number;
  /** Any of these nodes (-1: supervisor/operator). Absent or empty: any node. */
  nodes?: readonly number[];
  /** Any of these kinds, each exact or a prefix ending in '*' ('node.*'). Absent or empty: any. */
  kinds?: readonly string[];
  /** The object, exact or a prefix ending in '*'. */
  object?: string;
  /** Case-insensitive substring of kind, object or details JSON (as matchesLogFilter in the control API). */
  text?: string;
}

/**
 * Where a page starts. As in the control API's `log` method: without a cursor, the
 * newest rows (a live tail's first page), and `next` then pages backwards.
 */
export interface PageOptions {
  /** Rows after this cursor, oldest first. */
  after?: string;
  /** The newest rows before this cursor, paging backwards (the page itself is still oldest first). */
  before?: string;
  /** Without a cursor: the oldest rows instead of the newest, and `next` pages forwards. */
  fromStart?: boolean;
  /** Page size, 1..10,000 (default 500). */
  limit?: number;
}

export interface Page {
  /** Oldest first, whatever the paging direction. */
  rows: LogRow[];
  /** Pass as the same option (`after` or `before`) to get the next page; null when there is none. */
  next: string | null;
}

export interface SeqRange {
  /** First missing seq. */
  from: number;
  /** Last missing seq (inclusive). */
  to: number;
}

const MAX_LIMIT = 10_000;
const CONTAINS_FN = 'mcs_log_contains';
const withContains = new WeakSet<object>();

/** The cursor that names a row's position (opaque to callers). */
export function cursorOf(row: { id: number }): string {
  return `e${row.id.toString(36)}`;
}

function idOf(cursor: string): number {
  const id = /^e[0-9a-z]{1,11}$/.test(cursor) ? parseInt(cursor.slice(1), 36) : NaN;
  if (!Number.isSafeInteger(id)) throw new TypeError(`not an event log cursor: ${JSON.stringify(cursor)}`);
  return id;
}

interface Sql {
  where: string[];
  params: unknown[];
}

/** Upper bound of the strings that start with `prefix`, for an index range scan. */
function prefixEnd(prefix: string): string | null {
  const cps = [...prefix];
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // skip the surrogate range
    if (next <= 0x10ffff) return cps.join('') + String.fromCodePoint(next);
  }
  return null; // every string is >= prefix
}

function matchClause(column: string, pattern: string, sql: Sql): string {
  if (!pattern.endsWith('*')) {
    sql.params.push(pattern);
    return `${column} = ?`;
  }
  const prefix = pattern.slice(0, -1);
  if (prefix === '') return `${column} IS NOT NULL`;
  const end = prefixEnd(prefix);
  sql.params.push(prefix);
  if (end === null) return `${column} >= ?`;
  sql.params.push(end);
  return `(${column} >= ? AND ${column} < ?)`;
}

function compile(filter: EventFilter): Sql {
  const sql: Sql = { where: [], params: [] };
  if (filter.sinceMs !== undefined) {
    sql.where.push('wall_time_ms >= ?');
    sql.params.push(filter.sinceMs);
  }
  if (filter.untilMs !== undefined) {
    sql.where.push('wall_time_ms < ?');
    sql.params.push(filter.untilMs);
  }
  if (filter.nodes && filter.nodes.length > 0) {
    // `+node`: not through the (node, incarnation, seq) index. A node's events are a
    // large share of the log, so walking ids until the page is full beats sorting
    // every one of that node's rows by id for each page.
    sql.where.push(`+node IN (${filter.nodes.map(() => '?').join(', ')})`);
    sql.params.push(...filter.nodes);
  }
  if (filter.kinds && filter.kinds.length > 0) {
    const parts = filter.kinds.map((k) => matchClause('kind', k, sql));
    sql.where.push(parts.length === 1 ? parts[0] : `(${parts.join(' OR ')})`);
  }
  if (filter.object !== undefined) sql.where.push(matchClause('object', filter.object, sql));
  if (filter.text) {
    if (/^[\x00-\x7f]*$/.test(filter.text)) {
      // LIKE folds ASCII case in SQLite's own loop: a full scan of 500k rows stays well
      // under 100 ms, where a JavaScript function per row would take several times that.
      const like = `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      sql.where.push("(kind LIKE ? ESCAPE '\\' OR object LIKE ? ESCAPE '\\' OR details LIKE ? ESCAPE '\\')");
      sql.params.push(like, like, like);
    } else {
      // Beyond ASCII, fold case the way the console does (String.toLowerCase).
      sql.where.push(`${CONTAINS_FN}(kind, object, details, ?)`);
      sql.params.push(filter.text.toLowerCase());
    }
  }
  return sql;
}

function whereWith(sql: Sql, extra: string): string {
  return `WHERE ${[...sql.where, extra].join(' AND ')}`;
}

function clampLimit(limit: number | undefined): number {
  const n = limit ?? 500;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`page limit must be a positive integer, got ${limit}`);
  return Math.min(n, MAX_LIMIT);
}

export class EventQuery {
  constructor(readonly store: EventStore) {
    if (!withContains.has(store.db)) {
      withContains.add(store.db);
      store.db.function(CONTAINS_FN, { deterministic: true }, (kind: unknown, object: unknown, details: unknown, needle: unknown) =>
        [kind, object, details].some((f) => typeof f === 'string' && f.toLowerCase().includes(needle as string)) ? 1 : 0,
      );
    }
  }

  /** One page of the rows matching `filter`. */
  query(filter: EventFilter, page: PageOptions = {}): Page {
    const limit = clampLimit(page.limit);
    const sql = compile(filter);
    if (page.after !== undefined && page.before !== undefined) throw new TypeError('page by `after` or by `before`, not both');
    if (page.before !== undefined || (page.after === undefined && !page.fromStart)) {
      const before = page.before !== undefined ? idOf(page.before) : Number.MAX_SAFE_INTEGER;
      const rows = this.store.rows(`${whereWith(sql, 'id < ?')} ORDER BY id DESC LIMIT ?`, [...sql.params, before, limit + 1]);
      const more = rows.length > limit;
      if (more) rows.pop();
      rows.reverse();
      return { rows, next: more ? cursorOf(rows[0]) : null };
    }
    const after = page.after !== undefined ? idOf(page.after) : 0;
    const rows = this.store.rows(`${whereWith(sql, 'id > ?')} ORDER BY id LIMIT ?`, [...sql.params, after, limit + 1]);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { rows, next: more ? cursorOf(rows[rows.length - 1]) : null };
  }

  /**
   * Calls `onRows` with rows matching `filter` as they are appended (after `after`, or
   * from now). Driven by the store's commit notification, not by polling; `onRows`
   * runs after the appending call returns. Returns the function that stops following.
   */
  follow(filter: EventFilter, onRows: (rows: LogRow[]) => void, opts: { after?: string } = {}): () => void {
    let last = opts.after !== undefined ? idOf(opts.after) : this.store.lastId();
    let committed = last;
    let scheduled = false;
    let stopped = false;
    const run = () => {
      scheduled = false;
      if (stopped) return;
      const upTo = committed;
      try {
        for (;;) {
          const page = this.query(filter, { after: cursorOf({ id: last }), limit: 1000 });
          if (page.rows.length > 0) {
            last = page.rows[page.rows.length - 1].id;
            onRows(page.rows);
          }
          if (!page.next || stopped) break;
        }
      } catch (err) {
        console.error('event log: follower failed:', err);
      }
      // Rows up to the notified id have all been looked at: the next query starts past
      // them even if none matched, so a quiet filter does not rescan a growing tail.
      last = Math.max(last, upTo);
    };
    const unsubscribe = this.store.onAppend((lastId) => {
      committed = Math.max(committed, lastId);
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(run);
      }
    });
    return () => {
      stopped = true;
      unsubscribe();
    };
  }

  /** Every matching row, oldest first, fetched `batch` rows at a time (details as JSON text). */
  *iterate(filter: EventFilter, opts: { after?: string; batch?: number } = {}): Generator<RawRow> {
    const batch = clampLimit(opts.batch ?? 1000);
    const sql = compile(filter);
    const shape = `${whereWith(sql, 'id > ?')} ORDER BY id LIMIT ?`;
    let after = opts.after !== undefined ? idOf(opts.after) : 0;
    for (;;) {
      const rows = this.store.rawRows(shape, [...sql.params, after, batch]);
      yield* rows;
      if (rows.length < batch) return;
      after = rows[rows.length - 1].id;
    }
  }

  /** Writes matching rows as one JSON array to `out` (not ended); returns the row count. */
  async exportJson(filter: EventFilter, out: Writable): Promise<number> {
    return exportRows(this.iterateBatches(filter), out, '[', ']\n', (r, first) =>
      `${first ? '\n' : ',\n'}{"id":${r.id},"node":${r.node},"incarnation":${r.incarnation},"seq":${r.seq},` +
      `"clusterTimeNs":${r.clusterTimeNs},"wallTimeMs":${r.wallTimeMs},"kind":${JSON.stringify(r.kind)},` +
      `"object":${JSON.stringify(r.object)},"details":${r.details}}`,
    );
  }

  /** Writes matching rows as CSV (RFC 4180: CRLF, quoted where needed) to `out` (not ended). */
  async exportCsv(filter: EventFilter, out: Writable): Promise<number> {
    return exportRows(this.iterateBatches(filter), out, LOG_CSV_HEADER, '', (r) => csvLogLine({ ...r, detailsJson: r.details }));
  }

  /**
   * Seq ranges missing from a node incarnation's events: holes between 1 and the
   * highest stored seq, and after it up to `expectedLast` when given.
   */
  checkGaps(node: number, incarnation: number, expectedLast?: number): SeqRange[] {
    const rows = this.store.statement(
      `SELECT prev + 1 AS "from", seq - 1 AS "to" FROM (
         SELECT seq, LAG(seq, 1, 0) OVER (ORDER BY seq) AS prev FROM events WHERE node = ? AND incarnation = ?
       ) WHERE seq > prev + 1 ORDER BY seq`,
    ).all(node, incarnation) as SeqRange[];
    if (expectedLast !== undefined) {
      const { top } = this.store.statement('SELECT coalesce(max(seq), 0) AS top FROM events WHERE node = ? AND incarnation = ?')
        .get(node, incarnation) as { top: number };
      if (expectedLast > top) rows.push({ from: top + 1, to: expectedLast });
    }
    return rows;
  }

  private *iterateBatches(filter: EventFilter, batch = 1000): Generator<RawRow[]> {
    let rows: RawRow[] = [];
    for (const r of this.iterate(filter, { batch })) {
      rows.push(r);
      if (rows.length === batch) {
        yield rows;
        rows = [];
      }
    }
    if (rows.length > 0) yield rows;
  }
}

async function exportRows(
  batches: Iterable<RawRow[]>,
  out: Writable,
  head: string,
  tail: string,
  line: (r: RawRow, first: boolean) => string,
): Promise<number> {
  let n = 0;
  if (head) await write(out, head);
  for (const rows of batches) {
    let chunk = '';
    for (const r of rows) chunk += line(r, n++ === 0);
    // One write per page, and wait when the consumer is slow: memory stays one page.
    await write(out, chunk);
  }
  if (tail) await write(out, n > 0 ? `\n${tail}` : tail);
  return n;
}

async function write(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

