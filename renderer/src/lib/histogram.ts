// Event volume over time: rows counted into equal buckets of wall time.
import type { LogRow } from '../../../runtime/control/api';

export interface Bucket {
  startMs: number;
  endMs: number;
  count: number;
}

/** At most `n` buckets spanning the rows' time range (rows are oldest first). */
export function histogram(rows: readonly LogRow[], n = 60): Bucket[] {
  if (rows.length === 0) return [];
  const first = rows[0]!.wallTimeMs;
  const last = rows[rows.length - 1]!.wallTimeMs;
  const span = Math.max(1, last - first + 1);
  const width = Math.max(1, Math.ceil(span / n));
  const count = Math.min(n, Math.ceil(span / width));
  const buckets: Bucket[] = Array.from({ length: count }, (_, i) => ({ startMs: first + i * width, endMs: first + (i + 1) * width, count: 0 }));
  for (const r of rows) {
    const i = Math.min(count - 1, Math.max(0, Math.floor((r.wallTimeMs - first) / width)));
    buckets[i]!.count++;
  }
  return buckets;
}
