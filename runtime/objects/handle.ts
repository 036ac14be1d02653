// What every open global object has in common: its record, a guard on its
// generation (so a handle to a reclaimed object fails clearly) and close/delete.
import { O, objectRecord } from '../gsm/layout';
import { ObjectError } from './errors';
import type { Namespace, ObjectRecord } from './namespace';

export abstract class GlobalHandle {
  private closedFlag = false;
  /** The generation word this handle's accesses are guarded by. */
  protected readonly guardOffset: number;

  constructor(
    protected readonly ns: Namespace,
    readonly record: ObjectRecord,
  ) {
    this.guardOffset = objectRecord(ns.gsm.layout, record.slot) + O.generation;
    this.generation = record.generation;
  }

  get id(): string {
    return this.record.id;
  }
  get name(): string {
    return this.record.name;
  }
  get closed(): boolean {
    return this.closedFlag;
  }
  protected get mem() {
    return this.ns.gsm.map;
  }
  protected readonly generation: number;

  protected check(): void {
    if (this.closedFlag) throw new ObjectError('closed', `${this.name} (${this.id}) was closed by this process`);
  }

  /** True while the id still names this object (it was not reclaimed or deleted). */
  get valid(): boolean {
    return !this.closedFlag && this.mem.load32(this.guardOffset) === this.generation;
  }

  /** Drops this process's reference; closing twice is an error, like any handle. */
  async close(): Promise<void> {
    this.check();
    this.closedFlag = true;
    await this.ns.close(this.record);
  }

  /** Removes the name; the object goes away when its last reference closes. */
  async delete(): Promise<void> {
    this.check();
    await this.ns.delete(this.record);
    await this.close();
  }
}
