// `mcs dump-section`: the bytes of a section, raw (for a pipe), as a hexdump -C
// style listing, or as SectionBytes JSON. Large ranges are read in 1 MiB slices,
// all by the id the first slice resolved, so a section deleted and re-created
// under the same name mid-dump is an error, not a splice of two sections.
import { MAX_READ_BYTES, type SectionBytes } from '../control/api';
import { boolFlag, integerFlag, parseObjectArg, UsageError } from './args';
import type { Command } from './context';
import { formatBytes, hex, hexdump } from './format';

export const dumpSectionCommand: Command = {
  name: 'dump-section',
  group: 'status',
  usage: 'NAME|ID [--offset N] [--length N] [--hex]',
  summary: 'the bytes of a section: raw to stdout, --hex as hexdump -C, --json as SectionBytes',
  required: ['NAME|ID'],
  flags: [
    { name: 'offset', kind: 'string', value: 'N', help: 'first byte (decimal or 0x hex; default 0)' },
    { name: 'length', kind: 'string', value: 'N', help: 'how many bytes (default: to the end of the section)' },
    { name: 'hex', kind: 'boolean', help: 'print as hexdump -C' },
  ],
  async run(ctx, args, [targetArg]) {
    const target = parseObjectArg(targetArg!);
    const offset = integerFlag(args, 'offset', { hex: true }) ?? 0;
    const length = integerFlag(args, 'length', { hex: true, min: 1 });
    const asHex = boolFlag(args, 'hex');
    if (!asHex && !ctx.json && ctx.io.stdout.isTTY) {
      throw new UsageError('dump-section: refusing to write raw bytes to a terminal; pass --hex, or redirect stdout');
    }
    const client = await ctx.client();
    const raw = !asHex && !ctx.json;
    const chunks: Buffer[] = [];
    let id = target;
    let size = 0;
    let failed = 0;
    const failedRanges: SectionBytes['failed'] = [];
    let pos = offset;
    let first = true;
    for (;;) {
      const end = length === undefined ? (first ? undefined : size) : offset + length;
      if (end !== undefined && pos >= end) break;
      const want = end === undefined ? undefined : Math.min(MAX_READ_BYTES, end - pos);
      const slice: SectionBytes = await client.readSection(want === undefined ? { target: id, offset: pos } : { target: id, offset: pos, length: want });
      const bytes = Buffer.from(slice.base64, 'base64');
      if (bytes.length !== slice.length) throw new Error(`readSection returned ${bytes.length} bytes but said ${slice.length}`);
      if (first) {
        id = slice.id;
        size = slice.size;
        first = false;
      }
      failed += slice.failedBytes;
      for (const f of slice.failed) {
        const last = failedRanges[failedRanges.length - 1];
        // Slices are contiguous: a range cut at a slice boundary is joined again.
        if (last && last.offset + last.length === f.offset) last.length += f.length;
        else failedRanges.push({ ...f });
      }
      if (raw) await ctx.write(bytes);
      else chunks.push(bytes);
      pos += bytes.length;
      if (bytes.length === 0) break; // past the end of the section: nothing more to read
    }
    if (length !== undefined && pos < offset + length) {
      ctx.note(`warning: the section is ${formatBytes(size)}; read ${pos - offset} of the ${length} bytes asked for`);
    }
    if (failed > 0) ctx.note(`warning: ${failed} of the bytes are in failed memory (they read as the dummy value)`);
    if (raw) return;
    const all = Buffer.concat(chunks);
    if (ctx.json) {
      const result: SectionBytes = { id, offset, length: all.length, size, base64: all.toString('base64'), failedBytes: failed, failed: failedRanges };
      return void (await ctx.printJson(result));
    }
    await ctx.write(hexdump(all, offset));
  },
};

// `mcs decode-section`: a section read through the layout its application
// registered (the Sections view's decoded records), one record a line.
export const decodeSectionCommand: Command = {
  name: 'decode-section',
  group: 'status',
  usage: 'NAME|ID [--from N] [--limit N]',
  summary: "a section's records as its application declared them (--json as DecodedSection)",
  required: ['NAME|ID'],
  flags: [
    { name: 'from', kind: 'string', value: 'N', help: 'the first record at or after this offset (decimal or 0x hex; default 0)' },
    { name: 'limit', kind: 'string', value: 'N', help: 'at most N records (1..500, default 200)' },
  ],
  async run(ctx, args, [targetArg]) {
    const target = parseObjectArg(targetArg!);
    const from = integerFlag(args, 'from', { hex: true });
    const limit = integerFlag(args, 'limit', { min: 1 });
    const client = await ctx.client();
    const d = await client.decodeSection({ target, ...(from === undefined ? {} : { from }), ...(limit === undefined ? {} : { limit }) });
    if (ctx.json) return void (await ctx.printJson(d));
    for (const p of d.problems) ctx.note(`warning: ${p}`);
    if (!d.layout) {
      await ctx.write(`section ${d.id}: no running application declares its layout (dump-section shows its bytes)\n`);
      return;
    }
    const lines = [`${d.layout.title} (declared by ${d.layout.app})`];
    for (const r of d.records) {
      const flags = [r.problem ? `PROBLEM: ${r.problem}` : '', r.failedBytes > 0 ? `FAILED: ${r.failedBytes} bytes` : ''].filter(Boolean);
      lines.push(`${hex(r.offset).padStart(10)}  ${r.struct}${r.index === null ? '' : ` ${r.index}`}  ${r.fields.map((f) => `${f.name}=${f.value}`).join('  ')}${flags.length ? `  ${flags.join('  ')}` : ''}`);
    }
    if (d.next !== null) lines.push(`more from ${hex(d.next)} (--from ${hex(d.next)})`);
    await ctx.write(`${lines.join('\n')}\n`);
  },
};
