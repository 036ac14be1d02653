// Decoded views of the structures an application keeps in its sections (the
// Web cache's hash table, its file headers). An application declares them as
// data, the SectionLayout below, and exports it from its module
// (`export const sectionLayouts = [...]`); the console's back end registers every
// running application's declarations, validated here, and decodes a section by
// the one whose pattern names it. Declarations rather than code: the decoder
// runs in the process hosting the console, which must not run an application's
// code on every inspection, and a declaration can be checked before it is used.
import { z } from 'zod';

/** Shown to people, so spaces are allowed ("file entry"). */
const Name = z.string().regex(/^[A-Za-z_][\w .-]{0,63}$/, 'a name of letters, digits, spaces, _ . - (at most 64), starting with a letter');
const Offset = z.number().int().min(0).max(2 ** 40);

export const FIELD_BYTES = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, f64: 8 } as const;
const FieldType = z.enum(['u8', 'u16', 'u32', 'i32', 'u64', 'f64', 'ascii']);

const Field = z.strictObject({
  name: Name,
  /** From the start of the record. */
  offset: Offset,
  type: FieldType,
  /** How the value reads: a number, hex, an absolute GSM offset, or a wall time (ms since the epoch). */
  format: z.enum(['dec', 'hex', 'gsm-offset', 'epoch-ms']).optional(),
  /** ascii only: at most this many bytes (required for ascii). */
  length: z.number().int().min(1).max(4096).optional(),
  /** ascii only: its length is the value of this earlier integer field (capped at `length`). */
  lengthFrom: Name.optional(),
  /** The value every well-formed record has here (a magic number); a record without it is reported. */
  expect: z.number().int().min(0).optional(),
});

const Struct = z.strictObject({
  name: Name,
  /** Bytes read for one record. */
  size: z.number().int().min(1).max(65_536),
  fields: z.array(Field).min(1).max(64),
});

const Part = z.discriminatedUnion('kind', [
  /** One record at a fixed offset (a header). */
  z.strictObject({ kind: z.literal('struct'), offset: Offset, struct: Struct }),
  /** Records one after another: a fixed count, or the value of a field of an earlier `struct` part. */
  z.strictObject({
    kind: z.literal('table'),
    offset: Offset,
    stride: z.number().int().min(1).max(65_536),
    count: z.union([z.number().int().min(0).max(1 << 24), z.strictObject({ field: Name })]),
    struct: Struct,
    /** Records whose this field is 0 are empty slots, left out. */
    skipWhenZero: Name.optional(),
  }),
  /**
   * Variable-size records packed from `offset` at `align`-byte boundaries, with free
   * space between them: a record is recognised by its `expect` fields and is as
   * long as its `sizeField` says.
   */
  z.strictObject({ kind: z.literal('blocks'), offset: Offset, align: z.number().int().min(8).max(65_536), sizeField: Name, struct: Struct }),
]);

export const SectionLayout = z
  .strictObject({
    title: z.string().min(1).max(80),
    /** The sections it describes: an exact name, or a prefix ending in '*'. */
    sections: z.string().regex(/^[^*\s]{1,127}\*?$/, 'a section name, or a prefix ending in *'),
    parts: z.array(Part).min(1).max(16),
  })
  .superRefine((layout, ctx) => {
    const headerFields = new Map<string, string>();
    layout.parts.forEach((part, p) => {
      const at = (...path: (string | number)[]) => ['parts', p, ...path];
      const fields = part.struct.fields;
      const integer = (name: string) => fields.find((f) => f.name === name && f.type !== 'ascii' && f.type !== 'f64');
      fields.forEach((f, i) => {
        const width = f.type === 'ascii' ? f.length : FIELD_BYTES[f.type];
        if (width === undefined) ctx.addIssue({ code: 'custom', path: at('struct', 'fields', i, 'length'), message: 'an ascii field needs a length' });
        else if (f.offset + width > part.struct.size) {
          ctx.addIssue({ code: 'custom', path: at('struct', 'fields', i), message: `${f.name} ends at ${f.offset + width}, past the record's ${part.struct.size} bytes` });
        }
        if (f.lengthFrom !== undefined && (f.type !== 'ascii' || !fields.slice(0, i).some((g) => g.name === f.lengthFrom && g.type !== 'ascii' && g.type !== 'f64'))) {
          ctx.addIssue({ code: 'custom', path: at('struct', 'fields', i, 'lengthFrom'), message: 'lengthFrom names an earlier integer field of an ascii field' });
        }
        if (fields.findIndex((g) => g.name === f.name) !== i) ctx.addIssue({ code: 'custom', path: at('struct', 'fields', i, 'name'), message: `two fields named ${f.name}` });
      });
      if (part.kind === 'table') {
        if (part.stride < part.struct.size) ctx.addIssue({ code: 'custom', path: at('stride'), message: `stride ${part.stride} is shorter than the record (${part.struct.size})` });
        if (typeof part.count === 'object' && !headerFields.has(part.count.field)) {
          ctx.addIssue({ code: 'custom', path: at('count', 'field'), message: `no earlier struct part has an integer field ${part.count.field}` });
        }
        if (part.skipWhenZero !== undefined && !integer(part.skipWhenZero)) ctx.addIssue({ code: 'custom', path: at('skipWhenZero'), message: `no integer field ${part.skipWhenZero}` });
      }
      if (part.kind === 'blocks') {
        if (!integer(part.sizeField)) ctx.addIssue({ code: 'custom', path: at('sizeField'), message: `no integer field ${part.sizeField}` });
        if (!fields.some((f) => f.expect !== undefined)) ctx.addIssue({ code: 'custom', path: at('struct', 'fields'), message: 'blocks are recognised by a field with `expect` (a magic number)' });
      }
      if (part.kind === 'struct') for (const f of fields) if (f.type !== 'ascii' && f.type !== 'f64') headerFields.set(f.name, part.struct.name);
    });
  });
export type SectionLayout = z.infer<typeof SectionLayout>;
/** What an application writes (the same shape; `z.input` keeps optional fields optional). */
export type SectionLayoutDeclaration = z.input<typeof SectionLayout>;
type Part = SectionLayout['parts'][number];
type Struct = Part['struct'];

export class SectionLayoutError extends Error {}

const matches = (pattern: string, name: string) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern);
/** Whether some section name could match both patterns. */
const overlap = (a: string, b: string) => {
  const pa = a.endsWith('*') ? a.slice(0, -1) : null;
  const pb = b.endsWith('*') ? b.slice(0, -1) : null;
  if (pa !== null && pb !== null) return pa.startsWith(pb) || pb.startsWith(pa);
  if (pa !== null) return b.startsWith(pa);
  if (pb !== null) return a.startsWith(pb);
  return a === b;
};

/** The layouts of the running applications, each checked when registered. */
export class SectionLayoutRegistry {
  private readonly byApp = new Map<string, SectionLayout[]>();

  /** Replaces `app`'s layouts; throws SectionLayoutError naming the first problems, registering nothing. */
  register(app: string, declared: unknown): void {
    const parsed = z.array(SectionLayout).max(32).safeParse(declared);
    if (!parsed.success) {
      const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || 'sectionLayouts'}: ${i.message}`);
      throw new SectionLayoutError(`${app}: section layouts rejected: ${issues.join('; ')}`);
    }
    const mine = parsed.data;
    for (const [other, layouts] of this.byApp) {
      for (const theirs of layouts) {
        const clash = other === app ? undefined : mine.find((l) => overlap(l.sections, theirs.sections));
        if (clash) throw new SectionLayoutError(`${app}: section layouts rejected: '${clash.sections}' overlaps ${other}'s '${theirs.sections}'`);
      }
    }
    mine.forEach((l, i) => {
      const twin = mine.findIndex((m) => overlap(m.sections, l.sections));
      if (twin !== i) throw new SectionLayoutError(`${app}: section layouts rejected: '${l.sections}' overlaps '${mine[twin]!.sections}'`);
    });
    this.byApp.set(app, mine);
  }

  has(app: string): boolean {
    return this.byApp.has(app);
  }

  forSection(name: string): { app: string; layout: SectionLayout } | null {
    for (const [app, layouts] of this.byApp) {
      const layout = layouts.find((l) => matches(l.sections, name));
      if (layout) return { app, layout };
    }
    return null;
  }
}

export interface DecodedField {
  name: string;
  /** Section offset. */
  offset: number;
  size: number;
  value: string;
}

export interface DecodedRecord {
  /** The struct's name. */
  struct: string;
  /** Position in its table (tables only). */
  index: number | null;
  offset: number;
  size: number;
  fields: DecodedField[];
  /** Why the record cannot be trusted (a magic number that does not match), or null. */
  problem: string | null;
  /** Bytes of the record that are in failed memory (they read as the dummy value). */
  failedBytes: number;
}

export interface SectionMemory {
  size: number;
  /** `length` bytes at section offset `offset` (never past the end). */
  read(offset: number, length: number): Uint8Array;
  /** How many of those bytes are failed memory. */
  failedIn(offset: number, length: number): number;
}

/** Bytes a `blocks` part scans per call at most: a large area is decoded page by page. */
export const SCAN_BYTES = 4 * 1024 * 1024;

function fieldValue(f: SectionLayout['parts'][number]['struct']['fields'][number], view: DataView, at: number, ints: Map<string, number>): { value: string; size: number; raw: number | null } {
  if (f.type === 'ascii') {
    const max = Math.min(f.length!, view.byteLength - at);
    const want = f.lengthFrom !== undefined ? Math.min(max, Math.max(0, ints.get(f.lengthFrom) ?? 0)) : max;
    let text = '';
    for (let i = 0; i < want; i++) {
      const b = view.getUint8(at + i);
      if (f.lengthFrom === undefined && b === 0) break;
      text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    return { value: JSON.stringify(text), size: want, raw: null };
  }
  const size = FIELD_BYTES[f.type];
  let n: number;
  switch (f.type) {
    case 'u8': n = view.getUint8(at); break;
    case 'u16': n = view.getUint16(at, true); break;
    case 'u32': n = view.getUint32(at, true); break;
    case 'i32': n = view.getInt32(at, true); break;
    case 'u64': n = Number(view.getBigUint64(at, true)); break;
    case 'f64': n = view.getFloat64(at, true); break;
  }
  const fmt = f.format ?? 'dec';
  const value =
    fmt === 'hex' || fmt === 'gsm-offset' ? `0x${n.toString(16)}`
    : fmt === 'epoch-ms' ? (Number.isFinite(n) && n > 0 && n < 8.64e15 ? new Date(n).toISOString() : String(n))
    : String(n);
  return { value, size, raw: f.type === 'f64' ? null : n };
}

function decodeRecord(struct: Struct, bytes: Uint8Array, offset: number, index: number | null, mem: SectionMemory): DecodedRecord & { ints: Map<string, number> } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ints = new Map<string, number>();
  const fields: DecodedField[] = [];
  let problem: string | null = null;
  for (const f of struct.fields) {
    if (f.offset >= bytes.length || (f.type !== 'ascii' && f.offset + FIELD_BYTES[f.type] > bytes.length)) continue; // cut off by the section's end
    const v = fieldValue(f, view, f.offset, ints);
    if (v.raw !== null) ints.set(f.name, v.raw);
    if (f.expect !== undefined && v.raw !== f.expect && problem === null) problem = `${f.name} is 0x${(v.raw ?? 0).toString(16)}, not 0x${f.expect.toString(16)}`;
    fields.push({ name: f.name, offset: offset + f.offset, size: v.size, value: v.value });
  }
  return { struct: struct.name, index, offset, size: bytes.length, fields, problem, failedBytes: mem.failedIn(offset, bytes.length), ints };
}

/**
 * Records of `layout` in a section, in offset order, starting with the first at or
 * after `from`; at most `limit` of them. `next` is where the following call starts.
 */
export function decodeSection(layout: SectionLayout, mem: SectionMemory, from = 0, limit = 200): { records: DecodedRecord[]; next: number | null } {
  const records: DecodedRecord[] = [];
  const header = new Map<string, number>();
  const parts = [...layout.parts].sort((a, b) => a.offset - b.offset);
  // Header fields that size tables are read whatever `from` is.
  for (const part of parts) {
    if (part.kind !== 'struct' || part.offset >= mem.size) continue;
    const r = decodeRecord(part.struct, mem.read(part.offset, Math.min(part.struct.size, mem.size - part.offset)), part.offset, null, mem);
    for (const [k, v] of r.ints) header.set(k, v);
  }
  const full = () => records.length >= limit;
  for (const part of parts) {
    if (full()) return { records, next: records[records.length - 1]!.offset + 1 };
    if (part.kind === 'struct') {
      if (part.offset >= from && part.offset < mem.size) {
        const { ints: _ints, ...r } = decodeRecord(part.struct, mem.read(part.offset, Math.min(part.struct.size, mem.size - part.offset)), part.offset, null, mem);
        records.push(r);
      }
    } else if (part.kind === 'table') {
      const count = typeof part.count === 'number' ? part.count : (header.get(part.count.field) ?? 0);
      const firstIndex = Math.max(0, Math.ceil((from - part.offset) / part.stride));
      for (let i = firstIndex; i < count; i++) {
        const at = part.offset + i * part.stride;
        if (at >= mem.size) break;
        if (full()) return { records, next: at };
        const { ints, ...r } = decodeRecord(part.struct, mem.read(at, Math.min(part.struct.size, mem.size - at)), at, i, mem);
        if (part.skipWhenZero !== undefined && ints.get(part.skipWhenZero) === 0) continue;
        records.push(r);
      }
    } else {
      const expects = part.struct.fields.filter((f) => f.expect !== undefined && f.type !== 'ascii');
      let at = Math.max(part.offset, part.offset + Math.ceil((from - part.offset) / part.align) * part.align);
      const stop = Math.min(mem.size, at + SCAN_BYTES);
      let chunkAt = -1;
      let chunk: Uint8Array = new Uint8Array(0);
      while (at < stop) {
        if (at < chunkAt || at + part.struct.size > chunkAt + chunk.length) {
          chunkAt = at;
          chunk = mem.read(at, Math.min(mem.size - at, Math.max(part.struct.size, 256 * 1024)));
        }
        const rel = at - chunkAt;
        const view = new DataView(chunk.buffer, chunk.byteOffset + rel, Math.min(chunk.length - rel, part.struct.size));
        const recognised = expects.every((f) => f.offset + FIELD_BYTES[f.type as keyof typeof FIELD_BYTES] <= view.byteLength && fieldValue(f, view, f.offset, new Map()).raw === f.expect);
        if (!recognised) {
          at += part.align;
          continue;
        }
        if (full()) return { records, next: at };
        const bytes = chunk.subarray(rel, rel + view.byteLength);
        const { ints, ...r } = decodeRecord(part.struct, bytes, at, null, mem);
        // The record is the whole block its size field claims (header, key and data), within the section.
        const extent = Math.max(part.align, Math.ceil((ints.get(part.sizeField) ?? 0) / part.align) * part.align);
        r.size = Math.min(extent, mem.size - at);
        r.failedBytes = mem.failedIn(at, r.size);
        records.push(r);
        at += extent;
      }
      if (at < mem.size) return { records, next: at };
    }
  }
  return { records, next: null };
}
