// A ControlClient over an in-memory event log and fixed status, for store and
// component tests: pages with the real filter semantics (matchesLogFilter) and
// cursors, pushes subscriptions on demand, and records every call.
import type { ControlClient, LogFilter, LogRow, StatusUpdate } from '../../runtime/control/api';
import { matchesLogFilter } from '../../runtime/control/api/log-filter';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

export function row(id: number, kind = 'node.up', node = 0, details: unknown = { i: id }): LogRow {
  return { id, node, incarnation: 1, seq: id, clusterTimeNs: id * 1000, wallTimeMs: T0 + id, kind, object: null, details };
}

const idOf = (c: string) => parseInt(c.slice(1), 36);
const cursor = (id: number) => `e${id.toString(36)}`;

export interface FakeClient {
  client: ControlClient;
  rows: LogRow[];
  calls: { method: string; params: unknown }[];
  /** Appends rows to the log and pushes them to matching log subscriptions. */
  append(rows: LogRow[]): void;
  pushStatus(u: StatusUpdate): void;
  logSubscribers(): number;
}

export function fakeClient(initialRows: LogRow[] = []): FakeClient {
  const rows = initialRows.slice();
  const calls: { method: string; params: unknown }[] = [];
  const logSubs = new Set<{ filter: LogFilter; cb: (rows: LogRow[]) => void }>();
  const statusSubs = new Set<(u: StatusUpdate) => void>();

  const log = async (p: { filter: LogFilter; after?: string; before?: string; fromStart?: true; limit: number }) => {
    calls.push({ method: 'log', params: p });
    const matching = rows.filter((r) => matchesLogFilter(r, p.filter));
    if (p.after !== undefined) {
      const from = matching.filter((r) => r.id > idOf(p.after!));
      const page = from.slice(0, p.limit);
      return { rows: page, next: from.length > p.limit ? cursor(page[page.length - 1]!.id) : null };
    }
    if (p.fromStart) {
      const page = matching.slice(0, p.limit);
      return { rows: page, next: matching.length > p.limit ? cursor(page[page.length - 1]!.id) : null };
    }
    const upTo = p.before !== undefined ? matching.filter((r) => r.id < idOf(p.before!)) : matching;
    const page = upTo.slice(Math.max(0, upTo.length - p.limit));
    return { rows: page, next: upTo.length > p.limit ? cursor(page[0]!.id) : null };
  };

  const record = (method: string) => async (params?: unknown) => {
    calls.push({ method, params });
    if (method === 'killNode') return { id: (params as { node: number }).node, state: 'failed' };
    return {};
  };

  const client = new Proxy({} as Record<string, unknown>, {
    get(_t, name: string) {
      if (name === 'log') return log;
      if (name === 'subscribeLog') {
        return (filter: LogFilter, cb: (rows: LogRow[]) => void, options?: { onReady?: () => void }) => {
          const sub = { filter, cb };
          logSubs.add(sub);
          queueMicrotask(() => options?.onReady?.());
          return () => logSubs.delete(sub);
        };
      }
      if (name === 'subscribeStatus') {
        return (cb: (u: StatusUpdate) => void) => {
          statusSubs.add(cb);
          return () => statusSubs.delete(cb);
        };
      }
      if (name === 'close') return () => {};
      if (name === 'then') return undefined;
      return record(name);
    },
  }) as unknown as ControlClient;

  return {
    client,
    rows,
    calls,
    append(more) {
      rows.push(...more);
      for (const s of logSubs) {
        const m = more.filter((r) => matchesLogFilter(r, s.filter));
        if (m.length) s.cb(m);
      }
    },
    pushStatus(u) {
      for (const cb of statusSubs) cb(u);
    },
    logSubscribers: () => logSubs.size,
  };
}
