// The one definition of what a LogFilter matches, shared by the event-log store,
// live subscriptions and the renderer, so a filtered page and a filtered tail
// never disagree.
import type { LogFilter, LogRow } from '../api';

export function kindMatches(kind: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? kind.startsWith(p.slice(0, -1)) : kind === p));
}

export function matchesLogFilter(row: LogRow, filter: LogFilter): boolean {
  if (filter.sinceMs !== undefined && row.wallTimeMs < filter.sinceMs) return false;
  if (filter.untilMs !== undefined && row.wallTimeMs >= filter.untilMs) return false;
  if (filter.nodes && filter.nodes.length > 0 && !filter.nodes.includes(row.node)) return false;
  if (filter.kinds && filter.kinds.length > 0 && !kindMatches(row.kind, filter.kinds)) return false;
  if (filter.object !== undefined && row.object !== filter.object) return false;
  if (filter.text !== undefined && filter.text !== '') {
    const needle = filter.text.toLowerCase();
    const hay = `${row.kind}\n${row.object ?? ''}\n${JSON.stringify(row.details) ?? ''}`.toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}
