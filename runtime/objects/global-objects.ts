// The global APIs a node process uses (paper §2.3.1): create and open sections,
// mutexes, events, hardware locks and mailboxes by name or id. One instance per
// process, bound to the node and incarnation it runs as.
import type { Gsm } from '../gsm/gsm';
import { MUTEX_SIZE, ObjectType } from '../gsm/layout';
import { ObjectError } from './errors';
import { EVENT_BYTES, EventFlags, GlobalEvent } from './event';
import { HWLOCK_BYTES, HwLock } from './hwlock';
import { Mailbox, mailboxBytes } from './mailbox';
import { GlobalMutex } from './mutex';
import { Namespace, type Identity, type ObjectRecord } from './namespace';
import { Section } from './section';

export class GlobalObjects {
  readonly ns: Namespace;

  constructor(
    readonly gsm: Gsm,
    identity: Identity | null,
  ) {
    this.ns = new Namespace(gsm, identity);
    if (identity) gsm.setIdentity(identity.node, identity.incarnation);
  }

  async createSection(name: string, size: number): Promise<Section> {
    return new Section(this.ns, await this.ns.create(ObjectType.Section, name, size, 0));
  }
  async openSection(target: string): Promise<Section> {
    return new Section(this.ns, await this.ns.open(target, ObjectType.Section));
  }

  async createMutex(name: string): Promise<GlobalMutex> {
    return new GlobalMutex(this.ns, await this.ns.create(ObjectType.Mutex, name, MUTEX_SIZE, 0));
  }
  async openMutex(target: string): Promise<GlobalMutex> {
    return new GlobalMutex(this.ns, await this.ns.open(target, ObjectType.Mutex));
  }

  async createEvent(name: string, opts: { manualReset?: boolean; signaled?: boolean } = {}): Promise<GlobalEvent> {
    const flags = opts.manualReset ? EventFlags.ManualReset : 0;
    const rec = await this.ns.create(ObjectType.Event, name, EVENT_BYTES, flags, (at) => {
      if (opts.signaled) this.gsm.map.store32(at, 1);
    });
    return new GlobalEvent(this.ns, rec);
  }
  async openEvent(target: string): Promise<GlobalEvent> {
    return new GlobalEvent(this.ns, await this.ns.open(target, ObjectType.Event));
  }

  async createHwLock(name: string): Promise<HwLock> {
    return new HwLock(this.ns, await this.ns.create(ObjectType.HwLock, name, HWLOCK_BYTES, 0));
  }
  async openHwLock(target: string): Promise<HwLock> {
    return new HwLock(this.ns, await this.ns.open(target, ObjectType.HwLock));
  }

  /** A mailbox delivering to `targetNode` (default: the caller's node). */
  async createMailbox(name: string, opts: { targetNode?: number; capacity?: number } = {}): Promise<Mailbox> {
    const target = opts.targetNode ?? this.ns.identity?.node ?? 0;
    const capacity = opts.capacity ?? 64;
    if (!Number.isInteger(target) || target < 0 || target >= this.gsm.layout.maxNodes)
      throw new ObjectError('bad-argument', `mailbox target node must be 0..${this.gsm.layout.maxNodes - 1}`);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 4096)
      throw new ObjectError('bad-argument', 'mailbox capacity must be 1..4096 messages');
    const rec = await this.ns.create(ObjectType.Mailbox, name, mailboxBytes(capacity), target, (at) =>
      Mailbox.init(this.gsm.map, at, capacity),
    );
    return new Mailbox(this.ns, rec);
  }
  async openMailbox(target: string): Promise<Mailbox> {
    return new Mailbox(this.ns, await this.ns.open(target, ObjectType.Mailbox));
  }

  list(type?: ObjectType): ObjectRecord[] {
    return this.ns.list(type);
  }
}
