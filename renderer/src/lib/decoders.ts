// The raw fields at a selected offset, for sections no application describes
// (applications register layouts of their own structures with the back end:
// runtime/sdk/section-layout.ts, decodeSection in the control API).

export interface DecodedField {
  /** Byte offset within the section. */
  offset: number;
  size: number;
  name: string;
  value: string;
}

/** The bytes at `at` read as each fixed-size type (little-endian, as GSM words are). */
export function rawFields(bytes: Uint8Array, at: number, base: number): DecodedField[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const left = bytes.length - at;
  const out: DecodedField[] = [];
  const add = (size: number, name: string, read: () => string) => {
    if (left >= size) out.push({ offset: base + at, size, name, value: read() });
  };
  add(1, 'u8', () => String(view.getUint8(at)));
  add(1, 'i8', () => String(view.getInt8(at)));
  add(2, 'u16', () => String(view.getUint16(at, true)));
  add(4, 'u32', () => String(view.getUint32(at, true)));
  add(4, 'i32', () => String(view.getInt32(at, true)));
  add(4, 'f32', () => String(view.getFloat32(at, true)));
  add(8, 'u64', () => view.getBigUint64(at, true).toString());
  add(8, 'f64', () => String(view.getFloat64(at, true)));
  const end = bytes.indexOf(0, at);
  const text = Array.from(bytes.subarray(at, Math.min(end < 0 ? bytes.length : end, at + 64)), (b) =>
    b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.',
  ).join('');
  if (left > 0) out.push({ offset: base + at, size: text.length, name: 'ascii (to NUL)', value: JSON.stringify(text) });
  return out;
}

/** "0x1f0", "496" or "1f0h" as a byte offset; null if it is none of those. */
export function parseOffset(s: string): number | null {
  const t = s.trim().toLowerCase();
  const hex = /^0x([0-9a-f]+)$/.exec(t) ?? /^([0-9a-f]+)h$/.exec(t);
  if (hex) return parseInt(hex[1]!, 16);
  return /^\d+$/.test(t) ? Number(t) : null;
}
