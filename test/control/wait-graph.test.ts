// The waits-for graph of global mutexes and its deadlock cycles, on hand-built
// snapshots.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MutexInfo, ThreadRef } from '../../runtime/control/api';
import { buildWaitGraph } from '../../runtime/control/wait-graph';

const t = (node: number, tid = 100 + node): ThreadRef => ({ node, pid: 100 + node, tid });

function held(id: string, holder: ThreadRef, waiters: ThreadRef[] = []): MutexInfo {
  return {
    id,
    name: `m${id}`,
    ownerNode: 0,
    state: 'held',
    holder: { ...holder, incarnation: 1, heldMs: 10 },
    waiters: waiters.map((w) => ({ ...w, waitedMs: 5 })),
    waiterCount: waiters.length,
    abandonCount: 0,
    lockCount: 1,
    maxHoldMs: 10,
    totalHoldMs: 10,
  };
}

const describeCycle = (cycle: { waiter: ThreadRef; mutex: string; holder: ThreadRef }[]) =>
  cycle.map((e) => `n${e.waiter.node}-[${e.mutex}]->n${e.holder.node}`).join(' ');

describe('wait graph', () => {
  test('a 3-cycle (A waits for B, B for C, C for A) is one deadlock, listed in order from the lowest thread', () => {
    const [a, b, c] = [t(0), t(1), t(2)];
    // Listed out of order on purpose: the report must not depend on the snapshot's order.
    const g = buildWaitGraph([held('3.1', c, [b]), held('1.1', a, [c]), held('2.1', b, [a])]);
    assert.equal(g.edges.length, 3);
    assert.equal(g.cycles.length, 1);
    assert.equal(describeCycle(g.cycles[0]!), 'n0-[2.1]->n1 n1-[3.1]->n2 n2-[1.1]->n0');
  });

  test('a chain that ends at a running thread is waiting, not a deadlock', () => {
    const g = buildWaitGraph([held('1.1', t(1), [t(0)]), held('2.1', t(2), [t(1)]), held('3.1', t(3), [t(2)])]);
    assert.equal(g.edges.length, 3);
    assert.deepEqual(g.cycles, []);
    assert.deepEqual(g.edges[0], { waiter: t(0), mutex: '1.1', mutexName: 'm1.1', holder: t(1) });
  });

  test('threads waiting on a deadlocked thread are edges but not part of the cycle', () => {
    const g = buildWaitGraph([held('1.1', t(0), [t(1), t(5)]), held('2.1', t(1), [t(0)])]);
    assert.equal(g.edges.length, 3);
    assert.equal(g.cycles.length, 1);
    assert.equal(describeCycle(g.cycles[0]!), 'n0-[2.1]->n1 n1-[1.1]->n0');
  });

  test('two independent deadlocks are both found; a thread waiting on a mutex it holds is a 1-cycle', () => {
    const g = buildWaitGraph([
      held('1.1', t(0), [t(1)]),
      held('2.1', t(1), [t(0)]),
      held('3.1', t(2), [t(3)]),
      held('4.1', t(3), [t(2)]),
      held('5.1', t(4), [t(4)]),
    ]);
    assert.deepEqual(g.cycles.map(describeCycle), ['n0-[2.1]->n1 n1-[1.1]->n0', 'n2-[4.1]->n3 n3-[3.1]->n2', 'n4-[5.1]->n4']);
  });

  test('threads are told apart by node, pid and tid: two threads of one process are not one thread', () => {
    const x = { node: 1, pid: 50, tid: 50 };
    const y = { node: 1, pid: 50, tid: 51 };
    const g = buildWaitGraph([held('1.1', x, [y]), held('2.1', t(2), [x])]);
    assert.deepEqual(g.cycles, []);
  });

  test('free and abandoned mutexes have no holder and contribute no edges', () => {
    const free: MutexInfo = { ...held('1.1', t(0), [t(1)]), state: 'abandoned', holder: null };
    assert.deepEqual(buildWaitGraph([free]), { edges: [], cycles: [] });
  });

  test('a snapshot where one thread appears to wait on two mutexes still finds every cycle through it', () => {
    // Thread 0 queued on 2.1 and 3.1 (taken mid-requeue); threads 1 and 2 both wait for 0's mutex.
    const g = buildWaitGraph([held('1.1', t(0), [t(1), t(2)]), held('2.1', t(1), [t(0)]), held('3.1', t(2), [t(0)])]);
    assert.deepEqual(g.cycles.map(describeCycle), ['n0-[2.1]->n1 n1-[1.1]->n0', 'n0-[3.1]->n2 n2-[1.1]->n0']);
  });

  test('a long chain closing into a cycle does not overflow the stack', () => {
    const n = 20_000;
    const mutexes = Array.from({ length: n }, (_, i) => held(`${i}.1`, t(i + 1), [t(i)]));
    mutexes.push(held('999999.1', t(0), [t(n)]));
    const g = buildWaitGraph(mutexes);
    assert.equal(g.cycles.length, 1);
    assert.equal(g.cycles[0]!.length, n + 1);
  });
});
