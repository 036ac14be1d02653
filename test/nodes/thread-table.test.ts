import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { N, THREADS_PER_NODE, nodeRecord } from '../../runtime/gsm/layout';
import { readThreads, registerThread } from '../../runtime/nodes/threads';
import { createTestGsm } from '../helpers/gsm';

describe('the thread table of a node', () => {
  const t = createTestGsm('thread-table');
  after(() => t.cleanup());
  const incarnate = (node: number, incarnation: number) => t.gsm.map.store32(nodeRecord(t.gsm.layout, node) + N.incarnation, incarnation);

  it('a node killed many times (its threads left "running" in every incarnation) still finds rows for its new threads', () => {
    // Each killed incarnation leaves its rows running: nobody marks a SIGKILLed process's threads exited.
    for (let inc = 1; inc <= THREADS_PER_NODE + 4; inc++) {
      incarnate(1, inc);
      assert.ok(registerThread(t.gsm, 1, inc, 'main', 1000 + inc, 'main') >= 0, `incarnation ${inc}: main registered`);
      assert.ok(registerThread(t.gsm, 1, inc, 'webcache.revalidate', 2000 + inc, 'worker') >= 0, `incarnation ${inc}: worker registered`);
      assert.deepEqual(
        readThreads(t.gsm, 1).map((x) => [x.name, x.tid, x.state]),
        [
          ['main', 1000 + inc, 'running'],
          ['webcache.revalidate', 2000 + inc, 'running'],
        ],
        'only the current incarnation is listed',
      );
    }
  });

  it("a running thread of the current incarnation keeps its row: when the table is full, the next thread gets none", () => {
    incarnate(2, 1);
    for (let i = 0; i < THREADS_PER_NODE; i++) assert.ok(registerThread(t.gsm, 2, 1, `w${i}`, 3000 + i, 'worker') >= 0);
    assert.equal(registerThread(t.gsm, 2, 1, 'one-too-many', 4000, 'worker'), -1);
    assert.equal(readThreads(t.gsm, 2).length, THREADS_PER_NODE);
  });
});
