// Global memory sections (paper §2.3.1): a range of GSM from the creator's
// contribution, opened by name or id and mapped in byte ranges. Copies are
// bounded by the section (RangeError outside it) and guarded by its generation.
import { ObjectError } from './errors';
import { GlobalHandle } from './handle';

function checkRange(what: string, offset: number, length: number, size: number) {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size)
    throw new RangeError(`${what} [${offset}, +${length}) is outside the section's ${size} bytes`);
}

function stale(err: unknown, what: string): never {
  if ((err as { code?: string }).code === 'ERR_GSM_STALE')
    throw new ObjectError('invalid-id', `${what} is invalid: the section was deleted or reclaimed`);
  throw err;
}

export class Section extends GlobalHandle {
  get size(): number {
    return this.record.dataBytes;
  }
  /** Absolute GSM offset of byte 0 (status tools and views). */
  get gsmOffset(): number {
    return this.record.dataOffset;
  }

  /** Copies section bytes [offset, offset+into.length) into `into`; returns failed-memory bytes. */
  read(offset: number, into: Uint8Array): number {
    this.check();
    checkRange('read', offset, into.length, this.size);
    try {
      return this.mem.read(this.gsmOffset + offset, into, this.guardOffset, this.generation);
    } catch (err) {
      stale(err, `section ${this.name} (${this.id})`);
    }
  }

  readBytes(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.read(offset, out);
    return out;
  }

  /** Copies `from` into the section at `offset`; returns bytes dropped as failed memory. */
  write(offset: number, from: Uint8Array): number {
    this.check();
    checkRange('write', offset, from.length, this.size);
    try {
      return this.mem.write(this.gsmOffset + offset, from, this.guardOffset, this.generation);
    } catch (err) {
      stale(err, `section ${this.name} (${this.id})`);
    }
  }

  /** Maps [offset, offset+length) of the section: a bounded window with atomics. */
  map(offset = 0, length = this.size - offset): SectionView {
    this.check();
    checkRange('map', offset, length, this.size);
    return new SectionView(this, offset, length);
  }

  /** The GSM mapping, for this section's views (checks the handle is open). */
  mapping() {
    this.check();
    return this.mem;
  }

  /** Paper §7.2: is this section's memory still accessible? */
  isAccessible(): boolean {
    return this.ns.gsm.isAccessible(this.gsmOffset, this.size);
  }
}

/** A mapped byte range of a section; offsets are relative to the view. */
export class SectionView {
  constructor(
    readonly section: Section,
    readonly offset: number,
    readonly length: number,
  ) {}

  private at(offset: number, bytes: number, align = 1): number {
    checkRange('view access', offset, bytes, this.length);
    const abs = this.section.gsmOffset + this.offset + offset;
    if (abs % align) throw new RangeError(`atomic access at view offset ${offset} is not ${align}-byte aligned`);
    return abs;
  }
  private get gsm() {
    return this.section.mapping();
  }

  read(offset: number, into: Uint8Array): number {
    return this.section.read(this.offset + offset, into);
  }
  write(offset: number, from: Uint8Array): number {
    return this.section.write(this.offset + offset, from);
  }
  load32(offset: number): number {
    return this.gsm.load32(this.at(offset, 4, 4));
  }
  store32(offset: number, value: number): void {
    this.gsm.store32(this.at(offset, 4, 4), value);
  }
  cas32(offset: number, expected: number, desired: number): number {
    return this.gsm.cas32(this.at(offset, 4, 4), expected, desired);
  }
  add32(offset: number, delta: number): number {
    return this.gsm.add32(this.at(offset, 4, 4), delta);
  }
  load64n(offset: number): number {
    return this.gsm.load64n(this.at(offset, 8, 8));
  }
  store64n(offset: number, value: number): void {
    this.gsm.store64n(this.at(offset, 8, 8), value);
  }
}
