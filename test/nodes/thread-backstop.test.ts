// The node's backstop for mutexes whose holder thread is gone (the kernel's
// robust-list walk normally does this at thread exit; the backstop must act when
// it did not, and never on a thread that is alive or not the node's own).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LockCode } from '../../runtime/gsm/native';
import { MUTEX_FIELDS } from '../../runtime/objects/mutex';
import { abandonMutexesOfDeadThreads, liveTids } from '../../runtime/nodes/threads';
import { createTestGsm } from '../helpers/gsm';

describe('thread backstop', () => {
  const t = createTestGsm('backstop');
  after(() => t.cleanup());
  const objects = t.objects(0);

  /** Leaves `mutex` looking held by thread `tid` of process `pid`, as a thread that vanished would. */
  function forgeHolder(offset: number, tid: number, pid: number) {
    t.gsm.map.store32(offset + MUTEX_FIELDS.word, tid);
    t.gsm.map.store32(offset + MUTEX_FIELDS.ownerPid, pid);
  }

  it('abandons a mutex held by a dead thread of this process, and only that one', async () => {
    const dead = await objects.createMutex('bs.dead');
    const alive = await objects.createMutex('bs.alive');
    const foreign = await objects.createMutex('bs.foreign');
    const unknown = await objects.createMutex('bs.unknown');
    const live = liveTids();
    const deadTid = 4_000_000; // above pid_max's default: no thread has it
    forgeHolder(dead.record.dataOffset, deadTid, process.pid);
    forgeHolder(alive.record.dataOffset, process.pid, process.pid);
    forgeHolder(foreign.record.dataOffset, deadTid + 1, process.pid + 1);
    forgeHolder(unknown.record.dataOffset, deadTid + 2, process.pid);
    const ours = new Set([...live, deadTid, deadTid + 1]);
    const found = abandonMutexesOfDeadThreads(t.gsm, objects.ns, process.pid, ours, live);
    assert.deepEqual(found.map((f) => f.name), ['bs.dead']);
    assert.equal(t.gsm.map.mutexLock(dead.record.dataOffset, 100), LockCode.ABANDONED, 'its next locker learns the holder died');
    t.gsm.map.mutexConsistent(dead.record.dataOffset);
    t.gsm.map.mutexUnlock(dead.record.dataOffset);
    assert.equal(alive.state().holder?.tid, process.pid, 'a live thread keeps its lock');
    assert.equal(foreign.state().holder?.tid, deadTid + 1, "another process's holder is not ours to abandon");
    assert.equal(unknown.state().holder?.tid, deadTid + 2, 'a tid never seen as ours is left alone (tids are reused)');
    for (const m of [alive, foreign, unknown]) t.gsm.map.store32(m.record.dataOffset + MUTEX_FIELDS.word, 0);
  });
});
