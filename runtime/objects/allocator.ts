// The allocator inside each node's GSM contribution. All of it runs under the
// namespace lock (see namespace.ts), so it needs no locking of its own; what it
// must survive is a process dying at any instruction while holding that lock.
//
// The heap is a chain of blocks, each starting with a header whose size leads to
// the next. Invariant kept at every store: the chain from the contribution's start
// is walkable. A split writes the new tail's header first and shrinks the block
// last, so a crash in between leaves the old, larger block intact. A block is
// marked Used with the (slot, generation) of the object it belongs to; the repair
// pass frees any Used block whose object is not live (a crash between allocation
// and publishing the object).
import type { Gsm } from '../gsm/gsm';
import { B, BLOCK_ALIGN, BLOCK_HEADER_BYTES, BLOCK_MAGIC, BlockState, N, contribution, nodeRecord } from '../gsm/layout';

/** A block's object slot while it is pinned under a live holder's mutex (see resetKeeping). */
export const PINNED_SLOT = 0xffffffff;
import { ObjectError } from './errors';
import { MUTEX_WORD } from './mutex';

const MIN_SPLIT = BLOCK_HEADER_BYTES + BLOCK_ALIGN;

export interface Block {
  offset: number; // of the header
  size: number; // including the header
  state: BlockState;
  objectSlot: number;
  objectGeneration: number;
}

const alignUp = (v: number, a: number) => Math.ceil(v / a) * a;

/** Bytes a `dataBytes` object really takes from its contribution. */
export const blockBytesFor = (dataBytes: number) => alignUp(BLOCK_HEADER_BYTES + Math.max(dataBytes, 1), BLOCK_ALIGN);

/**
 * A process's copy of one contribution's block chain, good while the chain's
 * version in GSM (N.heapVersion) is the one it was taken at. Only the node's own
 * processes allocate in it, often many objects in a row (a Web cache's new master
 * creates 64 chain mutexes), and a walk is one native read per block.
 */
export interface ChainCopy {
  version: number;
  blocks: Block[];
}

export class ContributionHeap {
  constructor(
    private readonly gsm: Gsm,
    readonly node: number,
    /** Where this process keeps its copy of the chain (Namespace keeps one per node). */
    private readonly copy: { current: ChainCopy | null } = { current: null },
  ) {}

  private get versionAt() {
    return nodeRecord(this.gsm.layout, this.node) + N.heapVersion;
  }

  /** Every change to the chain bumps its version first: a crash halfway still invalidates every copy. */
  private changing(): number {
    return (this.gsm.map.add32(this.versionAt, 1) + 1) >>> 0;
  }

  private get base() {
    return contribution(this.gsm.layout, this.node);
  }
  private get end() {
    return this.base + this.gsm.layout.contributionBytes;
  }

  private readonly header = new Uint8Array(24);
  private readonly headerView = new DataView(this.header.buffer);

  /** One copy per header: the walk is the allocator's hot loop. */
  private readHeader(at: number): Block | null {
    this.gsm.map.read(at, this.header);
    const v = this.headerView;
    const size = Number(v.getBigUint64(B.size, true));
    if (v.getUint32(B.magic, true) !== BLOCK_MAGIC || size < BLOCK_HEADER_BYTES || size % BLOCK_ALIGN || at + size > this.end)
      return null;
    return {
      offset: at,
      size,
      state: v.getUint32(B.state, true),
      objectSlot: v.getUint32(B.objectSlot, true),
      objectGeneration: v.getUint32(B.objectGeneration, true),
    };
  }

  /** Every block in chain order; stops (and says so) at a header that is not valid. */
  walk(): { blocks: Block[]; brokenAt: number | null } {
    const blocks: Block[] = [];
    for (let at = this.base; at < this.end; ) {
      const b = this.readHeader(at);
      if (!b) return { blocks, brokenAt: at };
      blocks.push(b);
      at += b.size;
    }
    return { blocks, brokenAt: null };
  }

  /**
   * First fit over the chain (this process's copy of it when the version says
   * it is current), merging the run of free blocks it takes. Returns the data
   * offset.
   */
  allocate(dataBytes: number, slot: number, generation: number): number {
    const need = blockBytesFor(dataBytes);
    const m = this.gsm.map;
    const known = this.copy.current;
    const blocks = known && known.version === m.load32(this.versionAt) ? known.blocks : this.walk().blocks;
    for (let k = 0; k < blocks.length; k++) {
      if (blocks[k].state !== BlockState.Free) continue;
      let run = 1;
      let size = blocks[k].size;
      while (size < need && k + run < blocks.length && blocks[k + run].state === BlockState.Free) size += blocks[k + run++].size;
      if (size < need) {
        k += run - 1;
        continue;
      }
      const at = blocks[k].offset;
      const version = this.changing();
      if (size !== blocks[k].size) m.store64n(at + B.size, size);
      const taken = size - need >= MIN_SPLIT ? need : size;
      const replaced: Block[] = [{ offset: at, size: taken, state: BlockState.Used, objectSlot: slot, objectGeneration: generation }];
      if (taken === need && size !== need) {
        const tail = at + need;
        m.store64n(tail + B.size, size - need);
        m.store32(tail + B.state, BlockState.Free);
        m.store32(tail + B.magic, BLOCK_MAGIC);
        m.store64n(at + B.size, need);
        replaced.push({ offset: tail, size: size - need, state: BlockState.Free, objectSlot: 0, objectGeneration: 0 });
      }
      m.store32(at + B.objectSlot, slot);
      m.store32(at + B.objectGeneration, generation);
      m.store32(at + B.state, BlockState.Used);
      this.adjust(taken, 1);
      this.copy.current = { version, blocks: [...blocks.slice(0, k), ...replaced, ...blocks.slice(k + run)] };
      return at + BLOCK_HEADER_BYTES;
    }
    const rec = nodeRecord(this.gsm.layout, this.node);
    throw new ObjectError(
      'no-space',
      `node ${this.node}'s GSM contribution has no free block of ${need} bytes ` +
        `(${m.load64n(rec + N.usedBytes)} of ${this.gsm.layout.contributionBytes} bytes used)`,
    );
  }

  free(dataOffset: number): void {
    const at = dataOffset - BLOCK_HEADER_BYTES;
    const b = at >= this.base && at < this.end ? this.readHeader(at) : null;
    if (!b || b.state !== BlockState.Used)
      throw new ObjectError('bad-argument', `no allocated block of node ${this.node} at ${dataOffset}`);
    this.changing();
    this.gsm.map.store32(at + B.state, BlockState.Free);
    this.adjust(-b.size, -1);
  }

  /**
   * Makes the contribution empty again for a new incarnation, except the blocks
   * at `pinned` (header offsets, whose headers are intact): mutexes a live thread
   * elsewhere still holds. Their words carry that thread's robust-list link, so
   * they keep their place, owned by no object, until `unpinReleased` finds them
   * released. Written front to back, each free header before the pinned one after
   * it, so the chain stays walkable at every store.
   */
  resetKeeping(pinned: number[]): void {
    const m = this.gsm.map;
    this.changing();
    let at = this.base;
    const free = (from: number, to: number) => {
      if (to <= from) return;
      m.store64n(from + B.size, to - from);
      m.store32(from + B.state, BlockState.Free);
      m.store32(from + B.objectSlot, 0);
      m.store32(from + B.objectGeneration, 0);
      m.store32(from + B.magic, BLOCK_MAGIC);
    };
    for (const p of [...pinned].sort((a, b) => a - b)) {
      const b = p >= at ? this.readHeader(p) : null;
      if (!b) continue;
      free(at, p);
      m.store32(p + B.objectSlot, PINNED_SLOT);
      m.store32(p + B.objectGeneration, 0);
      m.store32(p + B.state, BlockState.Used);
      at = p + b.size;
    }
    free(at, this.end);
    this.account();
  }

  /** Frees pinned blocks (see resetKeeping) whose mutex no live thread holds any more. */
  unpinReleased(holderLives: (tid: number) => boolean): number {
    let n = 0;
    for (const b of this.walk().blocks) {
      if (b.state !== BlockState.Used || b.objectSlot !== PINNED_SLOT) continue;
      const tid = this.gsm.map.load32(b.offset + BLOCK_HEADER_BYTES) & MUTEX_WORD.FUTEX_TID_MASK;
      if (tid && holderLives(tid)) continue;
      this.changing();
      this.gsm.map.store32(b.offset + B.state, BlockState.Free);
      n++;
    }
    if (n) this.account();
    return n;
  }

  /**
   * After a crash inside the namespace lock: frees blocks whose object is not
   * live, and truncates a broken chain into one Free block (only reachable by a
   * store this module never makes, but a wild write must not wedge the node).
   */
  repair(isLive: (slot: number, generation: number) => boolean): void {
    const m = this.gsm.map;
    this.changing();
    const { blocks, brokenAt } = this.walk();
    for (const b of blocks)
      if (b.state === BlockState.Used && b.objectSlot !== PINNED_SLOT && !isLive(b.objectSlot, b.objectGeneration))
        m.store32(b.offset + B.state, BlockState.Free);
    if (brokenAt !== null) {
      m.store64n(brokenAt + B.size, this.end - brokenAt);
      m.store32(brokenAt + B.state, BlockState.Free);
      m.store32(brokenAt + B.magic, BLOCK_MAGIC);
    }
    this.account();
  }

  /** Keeps the node record's used-bytes and block count current for status tools. */
  private adjust(bytes: number, blocks: number): void {
    const rec = nodeRecord(this.gsm.layout, this.node);
    const m = this.gsm.map;
    m.store64n(rec + N.usedBytes, Math.max(0, m.load64n(rec + N.usedBytes) + bytes));
    m.store32(rec + N.blockCount, Math.max(0, m.load32(rec + N.blockCount) + blocks));
  }

  /** Recounts from the chain (after repair, when increments may have been lost). */
  private account(): void {
    let used = 0;
    let count = 0;
    for (const b of this.walk().blocks) {
      if (b.state === BlockState.Used) {
        used += b.size;
        count++;
      }
    }
    const rec = nodeRecord(this.gsm.layout, this.node);
    this.gsm.map.store64n(rec + N.usedBytes, used);
    this.gsm.map.store32(rec + N.blockCount, count);
  }
}
