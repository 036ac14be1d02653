import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TALLY } from '../../runtime/apps/tally';
import { ComponentInfo } from '../../runtime/control/api';
import { createControlBackend } from '../../runtime/control/backend';
import { LockCode } from '../../runtime/gsm/native';
import { findComponent, viewComponent } from '../../runtime/sdk/component-record';
import { startTestMulticomputer, until, type TestMulticomputer } from '../helpers/multicomputer';

/** The tally's global state read under its own mutex: total and each member's count. */
function snapshot(t: TestMulticomputer) {
  const { gsm, namespace } = t.mc;
  const rec = findComponent(gsm.map, gsm.layout, 'tally')!;
  const view = viewComponent(rec, gsm.map, gsm.layout);
  const area = namespace.resolve(view.masterAreaId!);
  const at = area.dataOffset;
  const mutex = namespace.resolve(`${gsm.map.load32(at + TALLY.mutexSlot)}.${gsm.map.load32(at + TALLY.mutexGeneration)}`);
  const code = gsm.map.mutexLock(mutex.dataOffset, 2000);
  assert.ok(code === LockCode.OK || code === LockCode.ABANDONED, `tally mutex: ${code}`);
  try {
    const counts = view.members.map((n) => gsm.map.load64n(at + TALLY.counts + 8 * n));
    return { view, total: gsm.map.load64n(at + TALLY.total), counts, areaOwner: area.ownerNode };
  } finally {
    if (code === LockCode.ABANDONED) gsm.map.mutexConsistent(mutex.dataOffset);
    gsm.map.mutexUnlock(mutex.dataOffset);
  }
}

const settled = (t: TestMulticomputer, members: number) => () => {
  const rec = findComponent(t.mc.gsm.map, t.mc.gsm.layout, 'tally');
  if (!rec) return false;
  const v = viewComponent(rec, t.mc.gsm.map, t.mc.gsm.layout);
  return !v.recovering && v.members.length === members && v.masterAreaId !== null;
};

describe('McsComponent: a recoverable component across node failures (the tally example)', () => {
  let t: TestMulticomputer;
  before(async () => {
    t = await startTestMulticomputer({ nodes: 3, apps: ['tally'], heartbeatTimeoutMs: 1000 });
  });
  after(async () => {
    await t?.stop();
  });

  it('joins every instance, elects one master whose contribution houses the master area, and keeps total = sum of counts', async () => {
    await until('three members, recovered', settled(t, 3));
    await until('ticks counted', () => snapshot(t).total > 10);
    const s = snapshot(t);
    assert.deepEqual(s.view.members, [0, 1, 2]);
    assert.equal(s.areaOwner, s.view.master, 'the master area is allocated in the master contribution');
    assert.equal(s.total, s.counts.reduce((a, b) => a + b, 0));
  });

  it('the control API shows the component (members, master, master area, recovery generation and durations) and triggerRecovery runs a recovery on every member', async () => {
    const backend = createControlBackend(t.mc);
    const [info] = (await backend.components({})) as ComponentInfo[];
    ComponentInfo.parse(info);
    assert.equal(info.name, 'tally');
    assert.deepEqual(info.members, [0, 1, 2]);
    assert.equal(info.recoveryState, 'ready');
    assert.equal(t.mc.namespace.resolve(info.masterArea!).ownerNode, info.master);
    assert.ok(info.recoveryDurations.length >= 1 && info.lastRecoveryMs !== null);
    assert.deepEqual(await backend.triggerRecovery({ component: 'tally' }), { components: ['tally'] });
    await until('the operator recovery completed', () => {
      const [now] = backend.components({}) as ComponentInfo[];
      return now.completedGeneration > info.recoveryGeneration && now.recoveryState === 'ready';
    });
    const ends = () => [...t.mc.query.iterate({ kinds: ['recovery.end'] })].filter((r) => JSON.parse(r.details).cause === 'operator');
    await until('every member logged the operator recovery', () => new Set(ends().map((r) => r.node)).size === 3).catch((err: Error) => {
      // Say what each member logged instead (a newer recovery that overtook the operator's, say).
      const rows = [...t.mc.query.iterate({ kinds: ['recovery.start', 'recovery.end'] })].slice(-12);
      throw new Error(`${err.message}; last recovery events: ${rows.map((r) => `node ${r.node} ${r.kind} ${r.details}`).join(' | ')}`);
    });
    await assert.rejects(async () => backend.triggerRecovery({ component: 'nope' }), /no recoverable component named "nope"/);
    const s = snapshot(t);
    assert.equal(s.total, s.counts.reduce((a, b) => a + b, 0));
  });

  it('a SIGKILLed master: a survivor becomes master, the area is relocated to it, total is rebuilt from the survivors, recovery is logged with its duration', async () => {
    const before = snapshot(t);
    const oldMaster = before.view.master!;
    await t.mc.killNode(oldMaster);
    await until('two members, recovered', settled(t, 2));
    await until('ticks after recovery', () => snapshot(t).total > 0);
    const s = snapshot(t);
    assert.notEqual(s.view.master, oldMaster);
    assert.ok(s.view.members.includes(s.view.master!));
    assert.equal(s.areaOwner, s.view.master, 'the master area moved to the new master');
    assert.equal(s.total, s.counts.reduce((a, b) => a + b, 0), 'total rebuilt from the survivors contributions');
    assert.ok(s.view.recoveryGeneration > before.view.recoveryGeneration);
    assert.ok(s.view.durations.length >= 2 && s.view.durations.every((d) => d.ms >= 0));
    const ends = () => [...t.mc.query.iterate({ kinds: ['recovery.end'] })].map((r) => JSON.parse(r.details) as { durationMs: number; cause: string });
    await until('the failure recovery is in the event log', () => ends().some((e) => /instance left|abandoned|memory|timeout/i.test(e.cause)));
    assert.ok(ends().every((e) => e.durationMs >= 0));
    await t.mc.restartNode(oldMaster);
    await until('three members again', settled(t, 3));
    const after = snapshot(t);
    assert.equal(after.view.master, s.view.master, 'the master is sticky: a rejoining node does not take it back');
    assert.equal(after.total, after.counts.reduce((a, b) => a + b, 0));
  });
});
