// Mailboxes (paper §2.2): "control registers, such as mailboxes to pass small
// messages between nodes". A mailbox belongs to one target node, which receives;
// any node may send. Senders serialize on a robust mutex inside the mailbox, so a
// sender killed mid-send leaves the lock ABANDONED and the ring intact: a message
// becomes visible only when `head` moves, which is the sender's last store.
//
// Data: [0, MUTEX_SIZE) sender mutex; then u32 head, u32 tail, u32 capacity,
// u32 dropped, u32 sequence (the futex word receivers sleep on); then slots of
// { u32 length, u32 fromNode, u64 sentAtMs, bytes[MAILBOX_MESSAGE_MAX] }.
import { LockCode, MUTEX_SIZE } from '../gsm/native';
import { ObjectError } from './errors';
import { GlobalHandle } from './handle';

export const MAILBOX_MESSAGE_MAX = 240;
export const MAILBOX_SLOT_BYTES = 16 + MAILBOX_MESSAGE_MAX;
const SLOT_BYTES = MAILBOX_SLOT_BYTES;
/** Field offsets in a mailbox's data (status tools decode them too). */
export const MAILBOX_FIELDS = {
  head: MUTEX_SIZE,
  tail: MUTEX_SIZE + 4,
  capacity: MUTEX_SIZE + 8,
  dropped: MUTEX_SIZE + 12,
  sequence: MUTEX_SIZE + 16,
  slots: MUTEX_SIZE + 64,
} as const;
const { head: HEAD, tail: TAIL, capacity: CAPACITY, dropped: DROPPED, sequence: SEQUENCE, slots: SLOTS } = MAILBOX_FIELDS;
const SEND_LOCK_TIMEOUT_MS = 5000;

export const mailboxBytes = (capacity: number) => SLOTS + capacity * SLOT_BYTES;
export const MailboxFlags = { targetMask: 0xffff } as const;

export interface MailboxMessage {
  fromNode: number;
  sentAtMs: number;
  data: Uint8Array;
}

export class Mailbox extends GlobalHandle {
  get targetNode(): number {
    return this.record.flags & MailboxFlags.targetMask;
  }
  private get base() {
    return this.record.dataOffset;
  }

  /** Initialises a freshly allocated (zeroed) mailbox. */
  static init(map: import('../gsm/native').Mapping, dataOffset: number, capacity: number) {
    map.store32(dataOffset + CAPACITY, capacity);
  }

  /** Sends one message; returns false (and counts it dropped) if the mailbox is full. */
  async send(data: Uint8Array): Promise<boolean> {
    this.check();
    if (!(data instanceof Uint8Array) || data.length > MAILBOX_MESSAGE_MAX)
      throw new ObjectError('bad-argument', `a mailbox message is a Uint8Array of at most ${MAILBOX_MESSAGE_MAX} bytes`);
    const code = await this.mem.mutexLockAsync(this.base, SEND_LOCK_TIMEOUT_MS, this.guardOffset, this.generation);
    if (code === LockCode.STALE) throw new ObjectError('invalid-id', `mailbox ${this.name} (${this.id}) was deleted or reclaimed`);
    if (code === LockCode.TIMED_OUT) throw new ObjectError('unavailable', `mailbox ${this.name} is busy`);
    if (code === LockCode.MEMORY_FAILED) throw new ObjectError('unavailable', `mailbox ${this.name} is in failed memory`);
    // ABANDONED needs no repair: a dead sender never moved head.
    if (code === LockCode.ABANDONED) this.mem.mutexConsistent(this.base);
    try {
      const m = this.mem;
      const head = m.load32(this.base + HEAD);
      const tail = m.load32(this.base + TAIL);
      const capacity = m.load32(this.base + CAPACITY);
      if (((head - tail) >>> 0) >= capacity) {
        m.add32(this.base + DROPPED, 1);
        return false;
      }
      const slot = this.base + SLOTS + (head % capacity) * SLOT_BYTES;
      const header = new Uint8Array(16);
      const v = new DataView(header.buffer);
      v.setUint32(0, data.length, true);
      v.setUint32(4, this.ns.identity?.node ?? 0xffffffff, true);
      v.setBigUint64(8, BigInt(Date.now()), true);
      m.write(slot, header);
      m.write(slot + 16, data);
      m.store32(this.base + HEAD, (head + 1) >>> 0);
      m.add32(this.base + SEQUENCE, 1);
      m.wake32(this.base + SEQUENCE, 1);
      return true;
    } finally {
      this.mem.mutexUnlock(this.base);
    }
  }

  /** Takes the oldest message, waiting up to timeoutMs; null on timeout. Target node only. */
  async receive(timeoutMs = Infinity): Promise<MailboxMessage | null> {
    this.check();
    if (this.ns.identity && this.ns.identity.node !== this.targetNode)
      throw new ObjectError('not-owner', `mailbox ${this.name} delivers to node ${this.targetNode}; only it may receive`);
    const deadline = performance.now() + timeoutMs;
    const m = this.mem;
    for (;;) {
      const seq = m.load32(this.base + SEQUENCE);
      const head = m.load32(this.base + HEAD);
      const tail = m.load32(this.base + TAIL);
      if (head !== tail) {
        const capacity = m.load32(this.base + CAPACITY);
        const slot = this.base + SLOTS + (tail % capacity) * SLOT_BYTES;
        const header = new Uint8Array(16);
        m.read(slot, header);
        const v = new DataView(header.buffer);
        const length = Math.min(v.getUint32(0, true), MAILBOX_MESSAGE_MAX);
        const data = new Uint8Array(length);
        m.read(slot + 16, data);
        m.store32(this.base + TAIL, (tail + 1) >>> 0);
        return { fromNode: v.getUint32(4, true), sentAtMs: Number(v.getBigUint64(8, true)), data };
      }
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const r = await m.wait32Async(this.base + SEQUENCE, seq, left);
      if (r === 'failed') throw new ObjectError('unavailable', `mailbox ${this.name} is in failed memory`);
    }
  }

  state(): { queued: number; capacity: number; dropped: number } {
    const m = this.mem;
    return {
      queued: (m.load32(this.base + HEAD) - m.load32(this.base + TAIL)) >>> 0,
      capacity: m.load32(this.base + CAPACITY),
      dropped: m.load32(this.base + DROPPED),
    };
  }
}
