import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gsm } from '../../runtime/gsm/gsm';
import { DUMMY_BYTE, contribution } from '../../runtime/gsm/layout';
import { ObjectError } from '../../runtime/objects/errors';
import { GlobalObjects } from '../../runtime/objects/global-objects';
import { isAlive, sleep, startTestMulticomputer, testApp, until, type TestMulticomputer } from '../helpers/multicomputer';

/** Every node incarnation's installed generations, from the log, in seq order. */
function installsByIncarnation(t: TestMulticomputer) {
  const out = new Map<string, { generation: number; members: number[] | null }[]>();
  for (const row of t.mc.query.iterate({ kinds: ['membership.install'] })) {
    const key = `${row.node}/${row.incarnation}`;
    const d = JSON.parse(row.details) as { generation: number; members: number[] | null };
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(d);
  }
  return out;
}

describe('a multicomputer under node failures', () => {
  let t: TestMulticomputer;
  before(async () => {
    // Four churning nodes can starve each other's event loops on a 2-core machine;
    // these tests are about kills, so a generous timeout keeps a starved node from
    // being fenced as hung (the SIGSTOP test still exercises that path).
    t = await startTestMulticomputer({ nodes: 4, apps: [testApp('churn')], heartbeatTimeoutMs: 1000 });
  });
  after(async () => {
    await t?.stop();
  });

  it('survives SIGKILLs at random moments (two at once too): survivors install one ordered generation sequence and no node log has a gap', async () => {
    const { mc } = t;
    let rng = 42;
    const random = () => ((rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 6; round++) {
      await sleep(50 + random() * 250);
      const running = mc.nodes().filter((n) => n.state === 'up');
      const victims = round % 3 === 2 ? running.slice(0, 2) : [running[Math.floor(random() * running.length)]];
      for (const v of victims) process.kill(v.pid!, 'SIGKILL');
      await until('the victims are failed', () => victims.every((v) => mc.nodes().find((n) => n.id === v.id)!.state === 'failed'));
      for (const v of victims) assert.equal(isAlive(v.pid!), false);
      await Promise.all(victims.map((v) => mc.restartNode(v.id)));
    }
    await sleep(200);
    assert.ok(mc.generations().length >= 4 + 6 * 2, 'every failure and rejoin made a generation');

    const history = new Map(mc.generations().map((g) => [g.generation, g.members]));
    for (const [who, installs] of installsByIncarnation(t)) {
      const gens = installs.map((i) => i.generation);
      for (let i = 1; i < gens.length; i++) assert.equal(gens[i], gens[i - 1] + 1, `${who} installed generations in order without skipping: ${gens}`);
      for (const i of installs) assert.deepEqual(i.members, history.get(i.generation), `${who} agrees on generation ${i.generation}`);
    }
    const incarnations = new Set<string>();
    for (const row of mc.query.iterate({ kinds: ['node.start'] })) incarnations.add(`${row.node}/${row.incarnation}`);
    assert.ok(incarnations.size >= 4 + 7);
    for (const key of incarnations) {
      const [node, inc] = key.split('/').map(Number);
      assert.deepEqual(mc.query.checkGaps(node, inc), [], `node ${node} incarnation ${inc} has no gap in its event sequence`);
    }
    assert.ok(mc.nodes().every((n) => n.state === 'up'), 'the supervisor kept running and every node is back');
  });

  it('a SIGKILLed holder: its waiter gets ABANDONED, its memory reads the dummy pattern, its ids are invalid', async () => {
    const h = await startTestMulticomputer({ nodes: 2, apps: [testApp('holder')] });
    const gsm = Gsm.attach(`/mcs-${h.name}`);
    try {
      const { mc } = h;
      await until('both holders hold', () => mc.query.query({ kinds: ['holder.locked'] }).rows.length === 2);
      // This test process waits as node 9 (a slot the supervisor does not use).
      const observer = new GlobalObjects(gsm, { node: 9, incarnation: 1 });
      const held = await observer.openMutex('held.node1');
      assert.equal(held.state().state, 'held');
      const waited = held.lock(10_000);
      await until('we are queued', () => held.state().waiters.length === 1);
      const idsOfVictim = mc.namespace.list().filter((r) => r.ownerNode === 1).map((r) => r.id);
      assert.ok(idsOfVictim.length >= 1);
      process.kill(mc.nodes().find((n) => n.id === 1)!.pid!, 'SIGKILL');
      // The kernel marks the dead thread's robust mutexes owner-died at exit and
      // wakes a waiter: it learns of the death before any heartbeat could.
      assert.equal(await waited, 'ABANDONED');
      await until('node 1 failed and its objects were handled', () =>
        mc.query.query({ kinds: ['object.orphaned', 'object.reclaimed'] }).rows.length > 0,
      );
      const before = gsm.memoryFailures();
      const out = new Uint8Array(16);
      assert.equal(gsm.map.read(contribution(gsm.layout, 1), out), 16, 'all 16 bytes were failed memory');
      assert.ok(out.every((b) => b === DUMMY_BYTE));
      assert.ok(gsm.memoryFailures() > before, 'the memory-failure count went up');
      assert.equal(held.unlock(), 'MEMORY_FAILED', 'the mutex itself lived in the failed contribution');
      for (const id of idsOfVictim)
        assert.throws(() => mc.namespace.resolve(id), (e) => e instanceof ObjectError && e.code === 'invalid-id', `${id} is invalid`);
      assert.equal(mc.query.query({ kinds: ['node.failed'] }).rows.length, 1);
    } finally {
      gsm.close();
      await h.stop();
    }
  });

  it('a node dies holding a mutex housed on another node: the waiter gets ABANDONED and the mutex stays usable', async () => {
    const h = await startTestMulticomputer({ nodes: 1, apps: [testApp('holder')] });
    const gsm = Gsm.attach(`/mcs-${h.name}`);
    try {
      const { mc } = h;
      // A node is up at its first heartbeat, before its apps have started: let node
      // 0's holder app finish, or it too could find shared.lock and take it.
      await until('node 0 started its app', () => mc.query.query({ kinds: ['app.start'], nodes: [0] }).rows.length === 1);
      const here = new GlobalObjects(gsm, { node: 9, incarnation: 1 });
      const shared = await here.createMutex('shared.lock');
      const node = await mc.addNode();
      await until('the new node holds shared.lock', () =>
        mc.query.query({ kinds: ['holder.locked'], object: shared.id, nodes: [node] }).rows.length === 1,
      );
      assert.equal(shared.state().holder?.node, node);
      const waited = shared.lock(10_000);
      await until('we are queued', () => shared.state().waiters.length === 1);
      process.kill(mc.nodes().find((n) => n.id === node)!.pid!, 'SIGKILL');
      assert.equal(await waited, 'ABANDONED');
      shared.markConsistent();
      assert.equal(shared.unlock(), 'OK');
      assert.equal(shared.tryLock(), 'OK', 'housed on a live node, it is usable again');
      shared.unlock();
      await until('the abandonment is in the log', () => mc.query.query({ kinds: ['mutex.abandoned'], object: shared.id }).rows.length === 1);
      await shared.close();
    } finally {
      gsm.close();
      await h.stop();
    }
  });

  it('fences a SIGSTOPped node: declared failed after the heartbeat timeout, killed, and out of the generation', async () => {
    const { mc } = t;
    const victim = mc.nodes().find((n) => n.state === 'up')!;
    const gen = mc.generation();
    mc.stopNode(victim.id);
    await until('the hung node is failed', () => mc.nodes().find((n) => n.id === victim.id)!.state === 'failed');
    await until('it was killed', () => !isAlive(victim.pid!));
    assert.ok(mc.generation() > gen);
    assert.ok(!mc.members().includes(victim.id));
    const failed = mc.query.query({ kinds: ['node.failed'], object: `node${victim.id}` }).rows.at(-1)!;
    assert.match((failed.details as { cause: string }).cause, /^hung \d+ ms$/);
    assert.ok(mc.query.query({ kinds: ['heartbeat.suspect'], object: `node${victim.id}` }).rows.length >= 1, 'a suspicion came first');
    await mc.restartNode(victim.id);
  });
});
