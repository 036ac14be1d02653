// CSV for event-log exports (RFC 4180), shared by the store's export and the CLI,
// which pages rows over the control API and writes them itself.
import type { LogRow } from './store';

export const LOG_CSV_HEADER = 'id,node,incarnation,seq,cluster_time_ns,wall_time_ms,wall_time,kind,object,details\r\n';

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A log row whose details are JSON text (store rows carry them so; API rows are re-serialised). */
export type CsvLogRow = Omit<LogRow, 'details'> & { detailsJson: string };

export function csvLogLine(r: CsvLogRow): string {
  return (
    [r.id, r.node, r.incarnation, r.seq, r.clusterTimeNs, r.wallTimeMs, isoTime(r.wallTimeMs), csvField(r.kind),
      r.object === null ? '' : csvField(r.object), csvField(r.detailsJson)].join(',') + '\r\n'
  );
}

/** ISO time, or empty for a time that is not one (never throws on a bad row). */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}
