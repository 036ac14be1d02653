// Section layouts: what an application declares about its sections is checked
// before the console uses it, and decoding follows the declaration exactly —
// headers, tables sized by a header field, variable-size blocks found by their
// magic number between free space, failed bytes and wrong magic numbers reported.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeSection, SectionLayout, SectionLayoutError, SectionLayoutRegistry, type SectionLayoutDeclaration, type SectionMemory } from '../../runtime/sdk/section-layout';

const MAGIC = 0xabcd1234;
const layout: SectionLayoutDeclaration = {
  title: 'test store',
  sections: 'store.*',
  parts: [
    { kind: 'struct', offset: 0, struct: { name: 'header', size: 8, fields: [{ name: 'magic', offset: 0, type: 'u32', format: 'hex', expect: MAGIC }, { name: 'slots', offset: 4, type: 'u32' }] } },
    {
      kind: 'table',
      offset: 16,
      stride: 16,
      count: { field: 'slots' },
      skipWhenZero: 'where',
      struct: { name: 'slot', size: 16, fields: [{ name: 'where', offset: 0, type: 'u64', format: 'gsm-offset' }, { name: 'when', offset: 8, type: 'f64', format: 'epoch-ms' }] },
    },
    {
      kind: 'blocks',
      offset: 256,
      align: 32,
      sizeField: 'bytes',
      struct: {
        name: 'item',
        size: 64,
        fields: [
          { name: 'magic', offset: 0, type: 'u32', expect: MAGIC },
          { name: 'bytes', offset: 4, type: 'u32' },
          { name: 'nameLength', offset: 8, type: 'u16' },
          { name: 'name', offset: 16, type: 'ascii', length: 48, lengthFrom: 'nameLength' },
        ],
      },
    },
  ],
};

function memoryOf(bytes: Uint8Array, failed: [number, number][] = []): SectionMemory {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.slice(offset, Math.min(bytes.length, offset + length)),
    failedIn: (offset, length) => failed.reduce((n, [o, l]) => n + Math.max(0, Math.min(offset + length, o + l) - Math.max(offset, o)), 0),
  };
}

function store(): Uint8Array {
  const b = new Uint8Array(1024);
  const v = new DataView(b.buffer);
  v.setUint32(0, MAGIC, true);
  v.setUint32(4, 3, true);
  v.setBigUint64(16, 0x1000n, true); // slot 0
  v.setFloat64(24, Date.UTC(2026, 0, 2), true);
  // slot 1 empty (where = 0): skipped
  v.setBigUint64(48, 0x2000n, true); // slot 2
  const item = (at: number, bytes: number, name: string) => {
    v.setUint32(at, MAGIC, true);
    v.setUint32(at + 4, bytes, true);
    v.setUint16(at + 8, name.length, true);
    b.set(new TextEncoder().encode(name), at + 16);
  };
  item(256, 96, 'first'); // 256..352
  // 352..416 free (stale bytes, no magic)
  b.fill(0x55, 352, 416);
  item(416, 40, 'second'); // rounded up to 64: next at 480
  item(480, 32, 'third');
  return b;
}

describe('section layouts: validation', () => {
  test('the example layout is valid', () => {
    assert.equal(SectionLayout.safeParse(layout).success, true);
  });

  const rejected = (mutate: (l: SectionLayoutDeclaration) => void, message: RegExp) => {
    const l = structuredClone(layout);
    mutate(l);
    const registry = new SectionLayoutRegistry();
    assert.throws(() => registry.register('app', [l]), (e: Error) => e instanceof SectionLayoutError && message.test(e.message));
    assert.equal(registry.forSection('store.x'), null, 'nothing of a rejected declaration is registered');
  };

  test('a field past the end of its record, a table counted by an unknown field, blocks without a magic number are rejected, naming the place', () => {
    rejected((l) => (l.parts[0]!.struct.fields[1]!.offset = 6), /parts\.0\.struct\.fields\.1: slots ends at 10, past the record's 8 bytes/);
    rejected((l) => ((l.parts[1] as { count: unknown }).count = { field: 'nope' }), /parts\.1\.count\.field: no earlier struct part has an integer field nope/);
    rejected((l) => delete l.parts[2]!.struct.fields[0]!.expect, /parts\.2\.struct\.fields: blocks are recognised by a field with `expect`/);
    rejected((l) => delete l.parts[2]!.struct.fields[3]!.length, /an ascii field needs a length/);
    rejected((l) => ((l.parts[2] as { sizeField: string }).sizeField = 'name'), /parts\.2\.sizeField: no integer field name/);
    rejected((l) => ((l.parts[0] as { kind: string }).kind = 'heap'), /parts\.0/);
    rejected((l) => (l.sections = 'store.**'), /sections/);
    assert.throws(() => new SectionLayoutRegistry().register('app', 'not a list'), /app: section layouts rejected/);
  });

  test('two applications cannot claim overlapping sections; an application may replace its own', () => {
    const registry = new SectionLayoutRegistry();
    registry.register('one', [layout]);
    assert.throws(() => registry.register('two', [{ ...layout, sections: 'store.items' }]), /two: .*'store.items' overlaps one's 'store.\*'/);
    registry.register('one', [{ ...layout, title: 'replaced' }]);
    assert.equal(registry.forSection('store.a')?.layout.title, 'replaced');
    assert.equal(registry.forSection('other'), null);
  });
});

describe('section layouts: decoding', () => {
  const parsed = SectionLayout.parse(layout);

  test('headers, table rows sized by the header (empty slots left out) and blocks found between free space, in offset order', () => {
    const { records, next } = decodeSection(parsed, memoryOf(store()));
    assert.equal(next, null);
    assert.deepEqual(
      records.map((r) => [r.struct, r.index, r.offset]),
      [['header', null, 0], ['slot', 0, 16], ['slot', 2, 48], ['item', null, 256], ['item', null, 416], ['item', null, 480]],
    );
    const slot0 = records[1]!;
    assert.deepEqual(slot0.fields.map((f) => [f.name, f.offset, f.value]), [['where', 16, '0x1000'], ['when', 24, '2026-01-02T00:00:00.000Z']]);
    assert.deepEqual(records.slice(3).map((r) => r.fields.find((f) => f.name === 'name')!.value), ['"first"', '"second"', '"third"']);
    assert.ok(records.every((r) => r.problem === null && r.failedBytes === 0));
  });

  test('a wrong magic number in a header is reported; failed bytes are counted per record', () => {
    const b = store();
    new DataView(b.buffer).setUint32(0, 0xffffffff, true);
    const { records } = decodeSection(parsed, memoryOf(b, [[0, 8], [420, 100]]));
    assert.equal(records[0]!.problem, 'magic is 0xffffffff, not 0xabcd1234');
    assert.equal(records[0]!.failedBytes, 8);
    // A block is as long as its size field says, rounded up to the alignment.
    assert.deepEqual(records.filter((r) => r.struct === 'item').map((r) => [r.size, r.failedBytes]), [[96, 0], [64, 60], [32, 32]]);
  });

  test('pages: `from` starts at the first record at or after it, `limit` stops early with where to go on', () => {
    const mem = memoryOf(store());
    const first = decodeSection(parsed, mem, 0, 4);
    assert.deepEqual(first.records.map((r) => r.offset), [0, 16, 48, 256]);
    const rest = decodeSection(parsed, mem, first.next!, 4);
    assert.deepEqual(rest.records.map((r) => r.offset), [416, 480]);
    assert.equal(rest.next, null);
    assert.deepEqual(decodeSection(parsed, mem, 40, 10).records.map((r) => r.offset), [48, 256, 416, 480]);
  });
});
