import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, kindPatterns, toLogFilter } from '../../renderer/src/lib/log-filter-form';
import { histogram } from '../../renderer/src/lib/histogram';
import { parseOffset, rawFields } from '../../renderer/src/lib/decoders';
import { row } from './fake-client';

describe('log filter form', () => {
  it('a bare kind family matches itself and its members, as a user expects', () => {
    expect(kindPatterns('node')).toEqual(['node', 'node.*']);
    expect(kindPatterns('node.failed, mutex.*')).toEqual(['node.failed', 'mutex.*']);
  });
  it('nodes take numbers and "sup" for the supervisor; anything else is refused by field', () => {
    expect(toLogFilter({ ...EMPTY_FORM, nodes: '0, 2 sup' })).toEqual({ filter: { nodes: [0, 2, -1] } });
    expect(toLogFilter({ ...EMPTY_FORM, nodes: 'x' })).toMatchObject({ problem: { field: 'nodes' } });
    expect(toLogFilter({ ...EMPTY_FORM, kinds: 'no spaces?' })).toMatchObject({ problem: { field: 'kinds' } });
  });
  it('an empty form is no filter at all', () => {
    expect(toLogFilter(EMPTY_FORM)).toEqual({ filter: {} });
  });
});

describe('volume histogram', () => {
  it('counts every row once, in buckets spanning the rows', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => row(i + 1));
    const b = histogram(rows, 60);
    expect(b.length).toBeLessThanOrEqual(60);
    expect(b.reduce((s, x) => s + x.count, 0)).toBe(1000);
    expect(b[0]!.startMs).toBe(rows[0]!.wallTimeMs);
    expect(b.at(-1)!.endMs).toBeGreaterThan(rows.at(-1)!.wallTimeMs);
  });
});

describe('hex viewer decoding', () => {
  it('reads little-endian fields at the selection', () => {
    const bytes = new Uint8Array([0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0x41, 0x42, 0]);
    const f = Object.fromEntries(rawFields(bytes, 0, 0x100).map((x) => [x.name, x]));
    expect(f.u32!.value).toBe(String(0x12345678));
    expect(f.u32!.offset).toBe(0x100);
    expect(f.u64!.value).toBe(String(0x12345678));
    expect(rawFields(bytes, 8, 0).find((x) => x.name.startsWith('ascii'))!.value).toBe('"AB"');
    expect(rawFields(bytes, 10, 0).map((x) => x.name)).toEqual(['u8', 'i8', 'ascii (to NUL)']);
  });
  it('go to offset takes decimal, 0x hex and h-suffixed hex', () => {
    expect(parseOffset('256')).toBe(256);
    expect(parseOffset('0x100')).toBe(256);
    expect(parseOffset('100h')).toBe(256);
    expect(parseOffset('-1')).toBeNull();
    expect(parseOffset('zz')).toBeNull();
  });
});
