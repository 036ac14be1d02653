// The control backend over a multicomputer (runtime/control/backend.ts): every
// method answered from a real GSM with real global objects and a real event log,
// behind a hand-made Multicomputer whose node table and operator actions the
// tests control. Every result goes through dispatch(), so it is validated by the
// API's schemas exactly as a console or CLI request would be.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { ChangeListener, GenerationRecord, Multicomputer, NodeView } from '../../runtime/cluster/types';
import { ControlError, StatusUpdate, type LogRow, type MethodName, type Params, type Result } from '../../runtime/control/api';
import { createControlBackend, toControlError } from '../../runtime/control/backend';
import { dispatch } from '../../runtime/control/dispatch';
import { contribution, ObjectType } from '../../runtime/gsm/layout';
import { monotonicNs, threadId } from '../../runtime/gsm/native';
import { EventQuery } from '../../runtime/log/query';
import { EventStore } from '../../runtime/log/store';
import { ObjectError } from '../../runtime/objects/errors';
import { Namespace } from '../../runtime/objects/namespace';
import { createTestGsm, startActor, type Actor, type TestGsm } from '../helpers/gsm';
import { until } from './helpers';

const MiB = 1024 * 1024;

function view(id: number, extra: Partial<NodeView> = {}): NodeView {
  return {
    id,
    state: 'up',
    pid: 5000 + id,
    incarnation: 1,
    heartbeatAgeMs: 10 + id,
    joinedGeneration: id + 2,
    gsmHousedBytes: MiB,
    gsmUsedBytes: 1000 * (id + 1),
    contributionFailed: false,
    apps: ['counter'],
    suspicion: 0,
    expectedIntervalMs: 100,
    deadlineMs: 276,
    detectorLagMs: 0.5,
    restarts: 0,
    restartGaveUp: false,
    endpoints: [],
    ...extra,
  };
}

/** A Multicomputer over a test GSM: views and actions are plain data the tests set and inspect. */
class FakeMulticomputer implements Multicomputer {
  readonly name = 'backend-test';
  readonly namespace: Namespace;
  readonly store: EventStore;
  readonly query: EventQuery;
  readonly startedAtMs = Date.now();
  readonly startedAtNs = monotonicNs();
  readonly heartbeatPeriodMs = 100;
  readonly heartbeatTimeoutMs = 250;
  restartPolicy: 'never' | 'on-failure' = 'never';
  setRestartPolicy(mode: 'never' | 'on-failure') {
    this.restartPolicy = mode;
  }
  detectorHealth() {
    return { detectorLagMs: 0.5, localHealth: 1, checks: 10, stalls: 0 };
  }
  views: NodeView[] = [0, 1, 2, 3].map((id) => view(id));
  history: GenerationRecord[] = [
    { generation: 1, members: [], cause: 'start', atMs: this.startedAtMs },
    { generation: 2, members: [2, 0, 1, 3], cause: 'join 3', atMs: this.startedAtMs + 1 },
  ];
  readonly calls: [string, unknown][] = [];
  /** The next action throws this. */
  throwNext: Error | null = null;
  private readonly listeners = new Set<ChangeListener>();

  constructor(
    readonly t: TestGsm,
    dir: string,
  ) {
    this.namespace = new Namespace(t.gsm, null);
    this.store = EventStore.open(path.join(dir, 'events.db'));
    this.query = new EventQuery(this.store);
  }
  get gsm() {
    return this.t.gsm;
  }

  nodes() {
    return this.views.map((v) => ({ ...v }));
  }
  generation() {
    return this.history[this.history.length - 1]!.generation;
  }
  members() {
    return [3, 1, 0, 2].filter((id) => this.views.find((v) => v.id === id)?.state === 'up');
  }
  generations() {
    return this.history;
  }
  private act(name: string, arg: unknown) {
    this.calls.push([name, arg]);
    const e = this.throwNext;
    this.throwNext = null;
    if (e) throw e;
  }
  private set(id: number, extra: Partial<NodeView>) {
    const v = this.views.find((x) => x.id === id)!;
    Object.assign(v, extra);
  }
  async killNode(node: number) {
    this.act('killNode', node);
    this.set(node, { state: 'failed', pid: null, heartbeatAgeMs: null, contributionFailed: true });
    this.history.push({ generation: this.generation() + 1, members: this.members(), cause: `fail ${node} (exit SIGKILL)`, atMs: Date.now() });
  }
  async killThread(node: number, _name: string, _holding: boolean) {
    this.act('killThread', node);
    return { tid: 4242 };
  }
  stopNode(node: number) {
    this.act('stopNode', node);
    this.set(node, { state: 'stopped' });
  }
  contNode(node: number) {
    this.act('contNode', node);
    this.set(node, { state: 'up' });
  }
  async restartNode(node: number) {
    this.act('restartNode', node);
    const v = this.views.find((x) => x.id === node)!;
    this.set(node, { state: 'up', pid: 6000 + node, incarnation: v.incarnation + 1, contributionFailed: false });
  }
  async addNode() {
    this.act('addNode', null);
    const id = this.views.length;
    this.views.push(view(id));
    return id;
  }
  async failMemory(target: { node: number } | { offset: number; length: number }) {
    this.act('failMemory', target);
  }
  async releaseMutex(target: string) {
    this.act('releaseMutex', target);
    const r = this.namespace.resolve(target, ObjectType.Mutex);
    this.gsm.map.mutexAbandon(r.dataOffset, this.gsm.map.load32(r.dataOffset) & 0x3fffffff);
  }
  async signalEvent(target: string) {
    this.act('signalEvent', target);
    const r = this.namespace.resolve(target, ObjectType.Event);
    this.gsm.map.store32(r.dataOffset, 1);
    this.gsm.map.wake32(r.dataOffset, 2 ** 31 - 1);
  }
  async resetEvent(target: string) {
    this.act('resetEvent', target);
    const r = this.namespace.resolve(target, ObjectType.Event);
    this.gsm.map.store32(r.dataOffset, 0);
  }
  onChange(listener: ChangeListener) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  changed() {
    for (const l of this.listeners) l();
  }
  async stop() {}
}

interface Setup {
  t: TestGsm;
  mc: FakeMulticomputer;
  call<M extends MethodName>(method: M, params?: Params<M>): Promise<Result<M>>;
  /** The ControlError a call fails with. */
  fails(method: MethodName, params: unknown): Promise<ControlError>;
  cleanup(): void;
}

const setups: Setup[] = [];
after(() => {
  for (const s of setups) s.cleanup();
});

function setup(tag: string): Setup {
  const t = createTestGsm(`backend-${tag}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mcs-backend-'));
  const mc = new FakeMulticomputer(t, dir);
  const backend = createControlBackend(mc);
  let cleaned = false;
  const s: Setup = {
    t,
    mc,
    call: (method, params) => dispatch(backend, method, params ?? {}) as never,
    async fails(method, params) {
      try {
        await dispatch(backend, method, params);
      } catch (e) {
        assert.ok(e instanceof ControlError, `expected a ControlError, got ${String(e)}`);
        return e;
      }
      assert.fail(`${method} ${JSON.stringify(params)} should have failed`);
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      mc.store.close();
      t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  setups.push(s);
  return s;
}

describe('control backend: status tools', () => {
  test('status: GSM geometry, used bytes summed over nodes, memory failures, object counts and log rows', async () => {
    const s = setup('status');
    const n0 = s.t.objects(0);
    const n1 = s.t.objects(1);
    await n0.createSection('a', 100);
    await n1.createSection('b', 200);
    await n0.createMutex('m');
    await n1.createEvent('e');
    await n1.createHwLock('h');
    await n0.createMailbox('box', { targetNode: 1 });
    s.mc.store.record('test.one');
    s.mc.store.record('test.two');
    const st = await s.call('status');
    const { layout } = s.t.gsm;
    assert.equal(st.name, 'backend-test');
    assert.equal(st.supervisorPid, process.pid);
    assert.equal(st.startedAtMs, s.mc.startedAtMs);
    assert.equal(st.generation, 2);
    assert.deepEqual(st.members, [0, 1, 2, 3], 'members sorted');
    assert.equal(st.nodeCount, 4);
    assert.equal(st.heartbeatPeriodMs, 100);
    assert.equal(st.heartbeatTimeoutMs, 250);
    assert.equal(st.restartPolicy, 'never');
    assert.equal(st.detectorLagMs, 0.5, "the detector's own lag is part of the status");
    assert.deepEqual(await s.call('setRestartPolicy', { policy: 'on-failure' }), { policy: 'on-failure' });
    assert.equal((await s.call('status')).restartPolicy, 'on-failure');
    assert.deepEqual(st.gsm, {
      name: s.t.name,
      totalBytes: layout.totalBytes,
      systemBytes: layout.systemBytes,
      contributionBytes: layout.contributionBytes,
      usedBytes: 1000 + 2000 + 3000 + 4000,
      memoryFailures: 0,
    });
    assert.deepEqual(st.objects, { sections: 2, mutexes: 1, events: 1, hwlocks: 1, mailboxes: 1 });
    assert.equal(st.logRows, 2);

    // A read of failed memory counts as a memory failure (paper §3.3.2).
    s.t.gsm.failRegion(contribution(layout, 1), layout.contributionBytes);
    await s.call('readSection', { target: 'b' });
    assert.ok((await s.call('status')).gsm.memoryFailures > 0);
  });

  test('nodes and generations: the supervisor views, sorted, as the API data', async () => {
    const s = setup('nodes');
    const failed = { suspicion: null, expectedIntervalMs: null, deadlineMs: null, restarts: 2, restartGaveUp: true };
    s.mc.views = [view(2), view(0, { state: 'failed', pid: null, heartbeatAgeMs: null, contributionFailed: true, apps: [], ...failed }), view(1)];
    const nodes = await s.call('nodes');
    assert.deepEqual(
      nodes.map((n) => n.id),
      [0, 1, 2],
    );
    assert.deepEqual(nodes[0], {
      id: 0,
      state: 'failed',
      pid: null,
      incarnation: 1,
      heartbeatAgeMs: null,
      joinedGeneration: 2,
      gsmHousedBytes: MiB,
      gsmUsedBytes: 1000,
      contributionFailed: true,
      apps: [],
      suspicion: null,
      expectedIntervalMs: null,
      deadlineMs: null,
      detectorLagMs: 0.5,
      restarts: 2,
      restartGaveUp: true,
      threads: [],
      endpoints: [],
    });
    assert.deepEqual(nodes[2], { ...view(2), threads: [] });
    const gens = await s.call('generations');
    assert.deepEqual(gens, [
      { generation: 1, members: [], cause: 'start', atMs: s.mc.startedAtMs },
      { generation: 2, members: [0, 1, 2, 3], cause: 'join 3', atMs: s.mc.startedAtMs + 1 },
    ]);
  });

  test('sections: owner, size, who has them open, and whether their memory is still good', async () => {
    const s = setup('sections');
    const n0 = s.t.objects(0);
    const n2 = s.t.objects(2, 3);
    const a = await n0.createSection('shared', 4096);
    await s.t.objects(1).openSection('shared');
    await n2.openSection('shared');
    await n2.openSection(a.id);
    const lost = await n2.createSection('lost', 10);
    s.t.gsm.failRegion(contribution(s.t.gsm.layout, 2), s.t.gsm.layout.contributionBytes);
    const list = await s.call('sections');
    const shared = list.find((x) => x.name === 'shared')!;
    assert.equal(shared.id, a.id);
    assert.equal(shared.ownerNode, 0);
    assert.equal(shared.ownerIncarnation, 1);
    assert.equal(shared.size, 4096);
    assert.ok(Math.abs(shared.createdAtMs - Date.now()) < 60_000);
    assert.deepEqual(shared.openBy, [
      { node: 0, refs: 1 },
      { node: 1, refs: 1 },
      { node: 2, refs: 2 },
    ]);
    assert.equal(shared.accessible, true);
    const l = list.find((x) => x.name === 'lost')!;
    assert.deepEqual(
      { id: l.id, ownerNode: l.ownerNode, ownerIncarnation: l.ownerIncarnation, size: l.size, openBy: l.openBy, accessible: l.accessible },
      { id: lost.id, ownerNode: 2, ownerIncarnation: 3, size: 10, openBy: [{ node: 2, refs: 1 }], accessible: false },
    );
  });

  test('mutexes: free, held, waited for, abandoned by a killed holder, and in failed memory', async () => {
    const s = setup('mutexes');
    const n0 = s.t.objects(0);
    const n1 = s.t.objects(1);
    await n0.createMutex('free-one');
    const held = await n1.createMutex('held-here');
    await n0.createMutex('contended');
    await n0.createMutex('left-abandoned');
    await s.t.objects(3).createMutex('in-failed-memory');
    let actor: Actor | null = null;
    try {
      assert.equal(held.lockSync(), 'OK');
      actor = await startActor(s.t.name, 2);
      for (const name of ['contended', 'left-abandoned']) {
        await actor.call('openMutex', { name });
        void actor.send('lockAndHold', { name });
        await actor.mark(`holding:${name}:OK`);
      }
      const mine = await n0.openMutex('contended');
      const waited = mine.lock(60_000);
      const byName = async () => new Map((await s.call('mutexes')).map((m) => [m.name, m]));
      await until('the waiter to show', async () => (await byName()).get('contended')!.waiters.length === 1);
      s.t.gsm.failRegion(contribution(s.t.gsm.layout, 3), s.t.gsm.layout.contributionBytes);

      let m = await byName();
      assert.equal(m.size, 5);
      const free = m.get('free-one')!;
      assert.deepEqual(
        { ...free, id: undefined },
        {
          id: undefined,
          name: 'free-one',
          ownerNode: 0,
          state: 'free',
          holder: null,
          waiters: [],
          waiterCount: 0,
          abandonCount: 0,
          lockCount: 0,
          maxHoldMs: 0,
          totalHoldMs: 0,
        },
      );
      const h = m.get('held-here')!;
      assert.equal(h.state, 'held');
      assert.equal(h.ownerNode, 1);
      assert.deepEqual({ ...h.holder!, heldMs: 0 }, { node: 1, pid: process.pid, tid: threadId(), incarnation: 1, heldMs: 0 });
      assert.ok(h.holder!.heldMs >= 0);
      assert.equal(h.lockCount, 1);
      const c = m.get('contended')!;
      assert.equal(c.state, 'held');
      assert.equal(c.holder?.node, 2);
      assert.equal(c.holder?.pid, actor.pid);
      assert.equal(c.waiters.length, 1);
      assert.equal(c.waiters[0]!.node, 0);
      assert.equal(c.waiters[0]!.pid, process.pid);
      assert.equal(c.waiterCount, 1);
      const f = m.get('in-failed-memory')!;
      assert.equal(f.state, 'not-recoverable', 'a mutex in failed memory cannot be locked any more');
      assert.equal(f.holder, null);

      await actor.kill('SIGKILL');
      actor = null;
      assert.equal(await waited, 'ABANDONED');
      m = await byName();
      assert.equal(m.get('contended')!.state, 'inconsistent', 'held ABANDONED by its new holder until repaired');
      assert.equal(m.get('contended')!.holder?.pid, process.pid);
      assert.equal(m.get('contended')!.abandonCount, 1);
      assert.equal(m.get('left-abandoned')!.state, 'abandoned');
      assert.equal(m.get('left-abandoned')!.holder, null);
      mine.markConsistent();
      mine.unlock();
      assert.equal((await byName()).get('contended')!.state, 'free');
    } finally {
      await actor?.kill();
      held.unlock();
    }
  });

  test('events, hardware locks and mailboxes', async () => {
    const s = setup('objects');
    const n0 = s.t.objects(0);
    const n1 = s.t.objects(1);
    const manual = await n0.createEvent('manual', { manualReset: true, signaled: true });
    const auto = await n1.createEvent('auto');
    const waiting = auto.wait(60_000);
    const ticket = await n1.createHwLock('ticket');
    ticket.write(2n ** 64n - 2n);
    assert.equal(ticket.tryAcquire(), true);
    const counter = await n0.createHwLock('counter');
    counter.write(42n);
    const box = await n0.createMailbox('to-one', { targetNode: 1, capacity: 2 });
    for (let i = 0; i < 3; i++) await box.send(new Uint8Array([i]));
    await n1.createMailbox('to-zero', { targetNode: 0, capacity: 8 });

    const events = await s.call('events');
    assert.deepEqual(events.find((e) => e.name === 'manual'), { id: manual.id, name: 'manual', ownerNode: 0, mode: 'manual', signaled: true, waiterCount: 0 });
    assert.deepEqual(events.find((e) => e.name === 'auto'), { id: auto.id, name: 'auto', ownerNode: 1, mode: 'auto', signaled: false, waiterCount: 1 });

    const hw = await s.call('hwlocks');
    assert.deepEqual(hw.find((h) => h.name === 'ticket'), { id: ticket.id, name: 'ticket', ownerNode: 1, value: '18446744073709551614', held: true });
    assert.deepEqual(hw.find((h) => h.name === 'counter'), { id: counter.id, name: 'counter', ownerNode: 0, value: '42', held: false });

    const boxes = await s.call('mailboxes');
    assert.deepEqual(boxes.find((b) => b.name === 'to-one'), { id: box.id, name: 'to-one', ownerNode: 0, targetNode: 1, queued: 2, capacity: 2, dropped: 1 });
    assert.deepEqual(boxes.find((b) => b.name === 'to-zero')?.queued, 0);
    assert.deepEqual(boxes.find((b) => b.name === 'to-zero')?.capacity, 8);

    // The operator signals the auto-reset event: its waiter is released and consumes it.
    const after = await s.call('signalEvent', { target: 'auto' });
    assert.equal(await waiting, 'SIGNALED');
    assert.equal(after.name, 'auto');
    assert.deepEqual(s.mc.calls.at(-1), ['signalEvent', auto.id], 'the supervisor is given the resolved id');
    assert.equal((await s.call('resetEvent', { target: manual.id })).signaled, false);
    assert.equal((await s.call('signalEvent', { target: 'manual' })).signaled, true);

    // Failed memory: nothing in it is the object's state.
    s.t.gsm.failRegion(contribution(s.t.gsm.layout, 1), s.t.gsm.layout.contributionBytes);
    assert.equal((await s.call('hwlocks')).find((h) => h.name === 'ticket')!.held, false);
    assert.deepEqual(
      (await s.call('mailboxes')).find((b) => b.name === 'to-zero'),
      { id: (await s.call('mailboxes')).find((b) => b.name === 'to-zero')!.id, name: 'to-zero', ownerNode: 1, targetNode: 0, queued: 0, capacity: 8, dropped: 0 },
    );
    assert.equal((await s.call('events')).find((e) => e.name === 'auto')!.waiterCount, 0);
    assert.deepEqual(await s.call('components'), []);
  });
});

describe('control backend: readSection', () => {
  test('reads by name or id, from an offset, to the end capped at 1 MiB; counts failed bytes', async () => {
    const s = setup('read');
    const n0 = s.t.objects(0);
    const sec = await n0.createSection('data', 300);
    const content = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    sec.write(0, content);
    const all = await s.call('readSection', { target: 'data' });
    assert.deepEqual({ ...all, base64: '' }, { id: sec.id, offset: 0, length: 300, size: 300, base64: '', failedBytes: 0, failed: [] });
    assert.deepEqual(Buffer.from(all.base64, 'base64'), Buffer.from(content));
    const mid = await s.call('readSection', { target: sec.id, offset: 100, length: 50 });
    assert.deepEqual(Buffer.from(mid.base64, 'base64'), Buffer.from(content.subarray(100, 150)));
    assert.equal(mid.length, 50);
    const tail = await s.call('readSection', { target: 'data', offset: 250, length: 1000 });
    assert.equal(tail.length, 50, 'a length past the end is cut off at the end');
    const end = await s.call('readSection', { target: 'data', offset: 300 });
    assert.equal(end.length, 0);
    assert.equal(end.base64, '');

    const big = await n0.createSection('big', MiB - 4096);
    const bigRead = await s.call('readSection', { target: big.id, offset: 10 });
    assert.equal(bigRead.length, MiB - 4096 - 10);
    assert.equal(Buffer.from(bigRead.base64, 'base64').length, bigRead.length);

    s.t.gsm.failRegion(contribution(s.t.gsm.layout, 0), s.t.gsm.layout.contributionBytes);
    const failed = await s.call('readSection', { target: 'data', offset: 0, length: 16 });
    assert.equal(failed.failedBytes, 16);
    assert.deepEqual(Buffer.from(failed.base64, 'base64'), Buffer.alloc(16, 0xff), 'failed memory reads as the dummy value');
    assert.deepEqual(failed.failed, [{ offset: 0, length: 16 }]);
  });

  test('names exactly which bytes are failed, as section offsets, when a region under part of the section fails', async () => {
    const s = setup('read-failed-part');
    const sec = await s.t.objects(0).createSection('part', 256);
    sec.write(0, Buffer.alloc(256, 0xff)); // good bytes that happen to read 0xFF: not failed
    const at = s.mc.namespace.resolve('part', ObjectType.Section).dataOffset;
    s.t.gsm.failRegion(at + 64, 32);
    s.t.gsm.failRegion(at + 80, 40); // overlapping regions are merged
    const r = await s.call('readSection', { target: 'part', offset: 16, length: 200 });
    assert.equal(r.failedBytes, 120 - 64);
    assert.deepEqual(r.failed, [{ offset: 64, length: 56 }]);
    const before = await s.call('readSection', { target: 'part', offset: 0, length: 64 });
    assert.deepEqual([before.failedBytes, before.failed], [0, []]);
    const inside = await s.call('readSection', { target: 'part', offset: 100, length: 8 });
    assert.deepEqual(inside.failed, [{ offset: 100, length: 8 }]);
  });

  test('bad targets and offsets: not-found, invalid-id, bad-request, each naming the problem', async () => {
    const s = setup('read-errors');
    const n0 = s.t.objects(0);
    const sec = await n0.createSection('data', 64);
    await n0.createMutex('a-mutex');
    const gone = await n0.createSection('gone', 64);
    await gone.delete();

    let e = await s.fails('readSection', { target: 'nope' });
    assert.equal(e.code, 'not-found');
    assert.match(e.message, /no global object named "nope"/);
    e = await s.fails('readSection', { target: gone.id });
    assert.equal(e.code, 'invalid-id');
    assert.match(e.message, new RegExp(`object id ${gone.id.replace('.', '\\.')} is invalid`));
    e = await s.fails('readSection', { target: '99999.1' });
    assert.equal(e.code, 'invalid-id');
    e = await s.fails('readSection', { target: 'a-mutex' });
    assert.equal(e.code, 'bad-request');
    assert.match(e.message, /is not a section/);
    e = await s.fails('readSection', { target: 'data', offset: 65 });
    assert.equal(e.code, 'bad-request');
    assert.equal(e.message, `offset 65 is past the end of section data (${sec.id}, 64 bytes)`);
    e = await s.fails('readSection', { target: 'data', length: MiB + 1 });
    assert.equal(e.code, 'bad-request');
  });
});

describe('control backend: event log', () => {
  test('pages of rows with cluster time since the start; supervisor rows are node -1', async () => {
    const s = setup('log');
    const t0 = s.mc.startedAtNs;
    s.mc.store.append([
      { node: 2, incarnation: 1, seq: 1, clusterTimeNs: t0 + 5000, wallTimeMs: Date.now(), kind: 'node.start', object: null, details: { pid: 1 } },
      { node: 2, incarnation: 1, seq: 2, clusterTimeNs: t0 + 9000, wallTimeMs: Date.now(), kind: 'mutex.locked', object: '3.1', details: {} },
      { node: 0, incarnation: 1, seq: 1, clusterTimeNs: t0 - 10, wallTimeMs: Date.now(), kind: 'node.start', object: null, details: {} },
    ]);
    s.mc.store.record('operator.kill', 'node1', { node: 1 });

    const page = await s.call('log', { filter: {}, limit: 10 });
    assert.equal(page.next, null);
    assert.deepEqual(
      page.rows.map((r) => [r.node, r.incarnation, r.seq, r.kind]),
      [
        [2, 1, 1, 'node.start'],
        [2, 1, 2, 'mutex.locked'],
        [0, 1, 1, 'node.start'],
        [-1, 0, 1, 'operator.kill'],
      ],
    );
    assert.equal(page.rows[0]!.clusterTimeNs, 5000);
    assert.equal(page.rows[1]!.clusterTimeNs, 9000);
    assert.equal(page.rows[2]!.clusterTimeNs, 0, 'never before the start');
    assert.ok(page.rows[3]!.clusterTimeNs > 0 && page.rows[3]!.clusterTimeNs < 3600e9);
    assert.deepEqual(page.rows[1]!.object, '3.1');
    assert.deepEqual(page.rows[3]!.details, { node: 1 });

    const supervisor = await s.call('log', { filter: { nodes: [-1] }, limit: 10 });
    assert.deepEqual(
      supervisor.rows.map((r) => r.kind),
      ['operator.kill'],
    );
    const kinds = await s.call('log', { filter: { kinds: ['node.*'], nodes: [2] }, limit: 10 });
    assert.equal(kinds.rows.length, 1);
    const object = await s.call('log', { filter: { object: '3.1' }, limit: 10 });
    assert.deepEqual(
      object.rows.map((r) => r.kind),
      ['mutex.locked'],
    );

    // Newest first pages back with `before`, `after` pages forward from a cursor.
    const newest = await s.call('log', { filter: {}, limit: 2 });
    assert.deepEqual(
      newest.rows.map((r) => r.seq),
      [1, 1],
    );
    assert.ok(newest.next);
    const older = await s.call('log', { filter: {}, limit: 2, before: newest.next! });
    assert.deepEqual(
      older.rows.map((r) => r.kind),
      ['node.start', 'mutex.locked'],
    );
    assert.equal(older.next, null);
    const e = await s.fails('log', { filter: {}, limit: 2, after: 'not-a-cursor' });
    assert.equal(e.code, 'bad-request');
    assert.match(e.message, /cursor/);
  });

  test('subscribeLog pushes matching rows as they are appended; unsubscribe stops it', async () => {
    const s = setup('follow');
    const backend = createControlBackend(s.mc);
    s.mc.store.record('before.subscribe');
    const got: LogRow[] = [];
    const off = backend.subscribeLog({ kinds: ['fault.*'], nodes: [-1] }, (rows) => got.push(...rows));
    s.mc.store.record('fault.kill', 'node1', { node: 1 });
    s.mc.store.record('other.kind');
    s.mc.store.record('fault.memory', null, { offset: 1 });
    await until('two rows', () => got.length >= 2);
    assert.deepEqual(
      got.map((r) => [r.node, r.kind]),
      [
        [-1, 'fault.kill'],
        [-1, 'fault.memory'],
      ],
    );
    assert.ok(got.every((r) => r.clusterTimeNs >= 0 && r.clusterTimeNs < 3600e9));
    off();
    s.mc.store.record('fault.after');
    await new Promise((r) => setImmediate(r));
    assert.equal(got.length, 2);
  });
});

describe('control backend: modification tools and errors', () => {
  test('node actions return the node afterwards; unknown nodes are not-found, naming the nodes there are', async () => {
    const s = setup('actions');
    const killed = await s.call('killNode', { node: 1 });
    assert.equal(killed.state, 'failed');
    assert.equal(killed.pid, null);
    assert.deepEqual(s.mc.calls.at(-1), ['killNode', 1]);
    assert.equal((await s.call('stopNode', { node: 2 })).state, 'stopped');
    assert.equal((await s.call('contNode', { node: 2 })).state, 'up');
    const restarted = await s.call('restartNode', { node: 1 });
    assert.deepEqual([restarted.state, restarted.pid, restarted.incarnation], ['up', 6001, 2]);
    assert.deepEqual(await s.call('addNode'), { node: 4 });

    const calls = s.mc.calls.length;
    for (const method of ['killNode', 'stopNode', 'contNode', 'restartNode'] as const) {
      const e = await s.fails(method, { node: 7 });
      assert.equal(e.code, 'not-found');
      assert.equal(e.message, 'no node 7 (nodes are 0..4)');
    }
    assert.equal((await s.fails('failMemory', { node: 9 })).message, 'no node 9 (nodes are 0..4)');
    assert.equal(s.mc.calls.length, calls, 'the supervisor was not asked');
    s.mc.views = [view(0), view(2)];
    assert.equal((await s.fails('killNode', { node: 1 })).message, 'no node 1 (nodes are 0, 2)');
    s.mc.views = [view(0)];
    assert.equal((await s.fails('killNode', { node: 1 })).message, 'no node 1 (the only node is 0)');
  });

  test("the supervisor's errors keep their code; anything else is internal", async () => {
    const s = setup('errors');
    s.mc.throwNext = Object.assign(new Error('node 1 is not running (it is failed)'), { code: 'conflict' });
    let e = await s.fails('killNode', { node: 1 });
    assert.deepEqual(e.toJSON(), { code: 'conflict', message: 'node 1 is not running (it is failed)' });
    s.mc.throwNext = Object.assign(new Error('all 16 node slots are in use'), { code: 'conflict' });
    assert.equal((await s.fails('addNode', {})).code, 'conflict');
    s.mc.throwNext = Object.assign(new Error('node 2 failed to start'), { code: 'unavailable' });
    assert.equal((await s.fails('restartNode', { node: 2 })).code, 'unavailable');
    s.mc.throwNext = new Error('something broke');
    e = await s.fails('stopNode', { node: 0 });
    assert.deepEqual(e.toJSON(), { code: 'internal', message: 'something broke' });
    s.mc.throwNext = Object.assign(new Error('weird'), { code: 'ENOENT' });
    assert.equal((await s.fails('contNode', { node: 0 })).code, 'internal');

    const cases: [ObjectError['code'], string][] = [
      ['not-found', 'not-found'],
      ['invalid-id', 'invalid-id'],
      ['wrong-type', 'bad-request'],
      ['bad-argument', 'bad-request'],
      ['exists', 'conflict'],
      ['not-owner', 'conflict'],
      ['unavailable', 'unavailable'],
    ];
    for (const [from, to] of cases) assert.equal(toControlError(new ObjectError(from, 'x')).code, to, from);
  });

  test('failMemory: a node contribution or a range inside the contributions', async () => {
    const s = setup('fail-memory');
    const { layout } = s.t.gsm;
    assert.deepEqual(await s.call('failMemory', { node: 2 }), { offset: contribution(layout, 2), length: layout.contributionBytes });
    assert.deepEqual(s.mc.calls.at(-1), ['failMemory', { node: 2 }]);
    const offset = contribution(layout, 1) + 4096;
    assert.deepEqual(await s.call('failMemory', { offset, length: 100 }), { offset, length: 100 });
    assert.deepEqual(s.mc.calls.at(-1), ['failMemory', { offset, length: 100 }]);
    const e = await s.fails('failMemory', { offset: 0, length: 100 });
    assert.equal(e.code, 'bad-request');
    assert.match(e.message, /system area/);
    assert.equal((await s.fails('failMemory', { offset: layout.totalBytes - 10, length: 100 })).code, 'bad-request');
  });

  test('releaseMutex: only a held mutex, by its resolved id; the result shows it abandoned', async () => {
    const s = setup('release');
    const n1 = s.t.objects(1);
    const m = await n1.createMutex('stuck');
    await n1.createMutex('idle');
    await n1.createEvent('not-a-mutex');
    assert.equal(m.lockSync(), 'OK');
    const r = await s.call('releaseMutex', { target: 'stuck' });
    assert.deepEqual(s.mc.calls.at(-1), ['releaseMutex', m.id]);
    assert.equal(r.id, m.id);
    assert.equal(r.state, 'abandoned');
    assert.equal(r.holder, null);
    let e = await s.fails('releaseMutex', { target: 'idle' });
    assert.equal(e.code, 'conflict');
    assert.match(e.message, /^mutex idle \(\d+\.\d+\) is not held \(free\)$/);
    e = await s.fails('releaseMutex', { target: 'stuck' });
    assert.equal(e.code, 'conflict');
    e = await s.fails('releaseMutex', { target: 'not-a-mutex' });
    assert.equal(e.code, 'bad-request');
    e = await s.fails('signalEvent', { target: 'idle' });
    assert.equal(e.code, 'bad-request');
    e = await s.fails('resetEvent', { target: 'nothing' });
    assert.equal(e.code, 'not-found');
    assert.equal(s.mc.calls.length, 1, 'refused requests never reach the supervisor');
  });

  test('triggerRecovery is a conflict until recoverable components exist', async () => {
    const s = setup('recovery');
    const e = await s.fails('triggerRecovery', {});
    assert.deepEqual(e.toJSON(), { code: 'conflict', message: 'no recoverable components are running' });
  });

  test('subscribeStatus pushes {status, nodes} on every change; after stop the backend is unavailable', async () => {
    const s = setup('subscribe');
    const backend = createControlBackend(s.mc);
    const updates: StatusUpdate[] = [];
    const off = backend.subscribeStatus((u) => updates.push(u));
    s.mc.changed();
    await s.call('killNode', { node: 3 });
    s.mc.changed();
    assert.equal(updates.length, 2);
    for (const u of updates) StatusUpdate.parse(u);
    assert.deepEqual(updates[0]!.status.members, [0, 1, 2, 3]);
    assert.deepEqual(updates[1]!.status.members, [0, 1, 2]);
    assert.equal(updates[1]!.nodes[3]!.state, 'failed');
    off();
    s.mc.changed();
    assert.equal(updates.length, 2);

    const again = backend.subscribeStatus((u) => updates.push(u));
    s.cleanup();
    s.mc.changed();
    assert.equal(updates.length, 2, 'no push from a stopped multicomputer');
    again();
    const e = await s.fails('status', {});
    assert.equal(e.code, 'unavailable');
    assert.equal(e.message, "multicomputer 'backend-test' has stopped");
  });
});
