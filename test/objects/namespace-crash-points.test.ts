// The namespace survives a kill at every step of create, open, close and delete:
// a process is SIGKILLed at an injected crash point inside the namespace lock, the
// next locker repairs, and then the object table, the name index, every
// contribution's allocator and every id agree (checkNamespace finds nothing).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ObjectError } from '../../runtime/objects/errors';
import { checkNamespace } from '../../runtime/objects/namespace';
import { createTestGsm, startActor } from '../helpers/gsm';

describe('the namespace after a kill at each step of an operation', () => {
  const t = createTestGsm('crashpoints');
  after(() => t.cleanup());
  const here = t.objects(0);
  let n = 0;

  /** Runs `op` in a node process set to die at `label`, then repairs and checks. */
  async function crashAt(label: string, setup: string[], op: [string, Record<string, unknown>]) {
    const actor = await startActor(t.name, 1, 1, { MCS_CRASH_AT: label });
    for (const name of setup) await actor.call('createSection', { name, size: 200 });
    const died = actor.call(op[0], op[1]).then(
      () => 'returned',
      () => 'died',
    );
    assert.equal(await died, 'died', `the actor reached ${label}`);
    assert.equal(actor.child.signalCode, 'SIGKILL');
    // The next locker finds the lock ABANDONED and repairs.
    await (await here.createSection(`probe-${++n}`, 64)).delete();
    assert.deepEqual(checkNamespace(here.ns), [], `consistent after a kill at ${label}`);
  }

  for (const label of ['create.creating', 'create.allocated', 'create.initialised', 'create.indexed', 'create.live']) {
    it(`create, killed at ${label}: the object is either whole or gone, and its name is free or taken by it`, async () => {
      const name = `c-${label}`;
      await crashAt(label, [], ['createSection', { name, size: 300 }]);
      try {
        const s = await here.openSection(name);
        assert.equal(s.size, 300, 'whole');
        await s.close();
      } catch (err) {
        assert.ok(err instanceof ObjectError && err.code === 'not-found', 'gone');
        await (await here.createSection(name, 10)).delete();
      }
    });
  }

  it('open, killed after counting its reference: the object and the count stay consistent', async () => {
    const mine = await here.createSection('o-target', 100);
    await crashAt('open.referenced', [], ['openSection', { name: 'o-target' }]);
    const r = here.ns.resolve('o-target');
    assert.equal(r.refs[1], 1, "the dead node's reference is there until its failure is handled");
    await mine.close();
  });

  for (const label of ['delete.unlinked', 'close.unreferenced', 'free.slot-freed', 'free.unindexed']) {
    it(`delete, killed at ${label}: the name is gone and no block or record is leaked`, async () => {
      const name = `d-${label}`;
      await crashAt(label, [name], ['delete', { name }]);
      assert.throws(() => here.ns.resolve(name), (e) => e instanceof ObjectError && e.code === 'not-found');
      assert.ok(!here.ns.list().some((r) => r.name === name && r.refs.some((c) => c > 0) === false), 'nothing unreferenced is left');
    });
  }

  it('a repair that fails hands the lock on still ABANDONED: the next locker repairs', async () => {
    const dier = await startActor(t.name, 1);
    void dier.send('holdNamespaceLock');
    await dier.mark('namespace-held:0');
    await dier.kill('SIGKILL');
    const failing = await startActor(t.name, 2, 1, { MCS_FAIL_AT: 'repair' });
    try {
      await assert.rejects(failing.call('createSection', { name: 'never', size: 10 }), /injected failure at repair/);
      const s = await here.createSection('after-failed-repair', 10); // would wait 10 s and fail if the lock were kept
      await s.delete();
      assert.deepEqual(checkNamespace(here.ns), []);
    } finally {
      await failing.kill();
    }
  });

  it('a held mutex is not freed when its last reference goes; a sweep frees it once released', async () => {
    const m = await here.createMutex('held-then-deleted');
    assert.equal(m.tryLock(), 'OK');
    const offset = m.record.dataOffset;
    await m.delete();
    assert.ok(here.ns.list().some((r) => r.name === 'held-then-deleted'), 'kept while held: its block carries our robust-list link');
    // Unlock through the raw mapping: the handle is closed, the lock is still ours.
    assert.equal(here.gsm.map.mutexUnlock(offset), 0);
    const swept = await here.ns.sweep();
    assert.deepEqual(swept.map((r) => r.name), ['held-then-deleted']);
    assert.deepEqual(checkNamespace(here.ns), []);
  });
});
