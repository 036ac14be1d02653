// The component record's own rules, on a bare GSM: how a change is announced to
// the instances waiting on it, and which instances count as live.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { H, N, nodeRecord } from '../../runtime/gsm/layout';
import { I, InstanceState, liveInstances, registerComponent, type ComponentRecord } from '../../runtime/sdk/component-record';
import { createTestGsm, type TestGsm } from '../helpers/gsm';

describe('component record', () => {
  let t: TestGsm;
  let rec: ComponentRecord;
  before(async () => {
    t = createTestGsm('comprec');
    rec = await registerComponent(t.gsm.map, t.gsm.layout, 'probe', 0);
  });
  after(() => t?.cleanup());

  it('bump() wakes every instance waiting on the record, not one of them', async () => {
    // Each recovery phase is a barrier every member waits at; a wake for one left
    // the others to sleep out their timeout. 'timed-out' here is that bug.
    const seq = rec.seq;
    const waits = [rec.waitChange(seq, 10_000), rec.waitChange(seq, 10_000), rec.waitChange(seq, 10_000)];
    await new Promise((r) => setTimeout(r, 50)); // the waiting threads are in the kernel
    rec.bump();
    assert.deepEqual(await Promise.all(waits), ['ok', 'ok', 'ok']);
  });

  it('an instance whose node is fenced (revoked) is not live, even before the new membership is published', () => {
    const { map, layout } = t.gsm;
    map.store32(H.memberMask, 0b11);
    for (const n of [0, 1]) {
      map.store32(nodeRecord(layout, n) + N.incarnation, 3);
      rec.setInst(n, I.incarnation, 3);
      rec.setInst(n, I.state, InstanceState.Joined);
    }
    assert.deepEqual(liveInstances(rec, map, layout), [0, 1]);
    // Fencing's first step; the mask still lists node 1 until it publishes.
    map.store32(nodeRecord(layout, 1) + N.revokedIncarnation, 3);
    assert.deepEqual(liveInstances(rec, map, layout), [0]);
    // A later incarnation of the node is live again once it joins.
    map.store32(nodeRecord(layout, 1) + N.incarnation, 4);
    rec.setInst(1, I.incarnation, 4);
    assert.deepEqual(liveInstances(rec, map, layout), [0, 1]);
  });
});
