// Human output of the mcs command: aligned tables, durations, sizes, node sets,
// times and hexdumps. Pure functions of their input, so tests can pin them.

export type Align = 'left' | 'right';
export interface Column<T> {
  header: string;
  align?: Align;
  value: (row: T) => string;
}

/** Columns separated by two spaces; numbers right-aligned; no trailing blanks. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => c.value(r)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** "key  value" lines with the keys aligned. */
export function keyValues(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`.trimEnd()).join('\n') + '\n';
}

/** 850µs → "0.9ms"; 12 → "12ms"; 3400 → "3.4s"; 192000 → "3m12s"; 7380000 → "2h03m". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 0) return '-' + formatDuration(-ms);
  if (ms < 1) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${String(totalS % 60).padStart(2, '0')}s`;
  const totalM = Math.floor(totalS / 60);
  if (totalM < 24 * 60) return `${Math.floor(totalM / 60)}h${String(totalM % 60).padStart(2, '0')}m`;
  return `${Math.floor(totalM / 1440)}d${String(Math.floor((totalM % 1440) / 60)).padStart(2, '0')}h`;
}

/** 512 → "512 B"; 16777216 → "16.0 MiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** [0,1,2,3,5,7,8] → "0-3,5,7-8" (the HPDF way of naming a set). */
export function formatNodeSet(ids: readonly number[]): string {
  if (ids.length === 0) return '-';
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0]!;
  let prev = start;
  for (const id of [...sorted.slice(1), Infinity]) {
    if (id === prev + 1) {
      prev = id;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = prev = id;
  }
  return parts.join(',');
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Local time "2026-11-21 12:42:30.123": what an operator compares with their wall clock. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '-';
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`
  );
}

export function formatAge(atMs: number, nowMs = Date.now()): string {
  return `${formatDuration(Math.max(0, nowMs - atMs))} ago`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * `hexdump -C` layout: offset, 16 bytes in two groups of 8, printable ASCII, a
 * "*" line for runs of identical lines, and the end offset on the last line.
 * `start` is the offset of bytes[0] in the section, so offsets read as in the section.
 */
export function hexdump(bytes: Uint8Array, start = 0): string {
  const lines: string[] = [];
  let previous: string | null = null;
  let starred = false;
  for (let i = 0; i < bytes.length; i += 16) {
    const chunk = bytes.subarray(i, Math.min(i + 16, bytes.length));
    const key = Buffer.from(chunk).toString('hex');
    if (chunk.length === 16 && key === previous) {
      if (!starred) lines.push('*');
      starred = true;
      continue;
    }
    previous = chunk.length === 16 ? key : null;
    starred = false;
    let hexPart = '';
    for (let j = 0; j < 16; j++) {
      hexPart += j < chunk.length ? chunk[j]!.toString(16).padStart(2, '0') + ' ' : '   ';
      if (j === 7) hexPart += ' ';
    }
    const ascii = Array.from(chunk, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${(start + i).toString(16).padStart(8, '0')}  ${hexPart} |${ascii}|`);
  }
  lines.push((start + bytes.length).toString(16).padStart(8, '0'));
  return lines.join('\n') + '\n';
}
