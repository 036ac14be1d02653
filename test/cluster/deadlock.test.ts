import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createControlBackend } from '../../runtime/control/backend';
import { buildWaitGraph } from '../../runtime/control/wait-graph';
import { waitsReport } from '../../runtime/cli/waits-report';
import { sleep, startTestMulticomputer, testApp, until } from '../helpers/multicomputer';

describe('inspecting global mutexes when something hangs', () => {
  it('two nodes each holding the mutex the other waits for: the wait-for graph shows the cycle, with real pids and tids', async () => {
    const t = await startTestMulticomputer({ nodes: 2, apps: [testApp('deadlock')] });
    try {
      const backend = createControlBackend(t.mc);
      const waitGraph = async () => buildWaitGraph(await backend.mutexes({}));
      await until('both nodes wait', () => t.mc.query.query({ kinds: ['deadlock.waiting'] }).rows.length === 2, 60_000);
      let graph = await waitGraph();
      while (graph.edges.length < 2) graph = await sleep(5).then(waitGraph);
      assert.equal(graph.cycles.length, 1);
      const pids = new Map(t.mc.nodes().map((n) => [n.id, n.pid]));
      for (const e of graph.cycles[0]) {
        assert.equal(e.waiter.pid, pids.get(e.waiter.node), 'the waiter is the real node process');
        assert.equal(e.holder.pid, pids.get(e.holder.node), 'the holder is the real node process');
        assert.notEqual(e.waiter.node, e.holder.node);
      }
      assert.deepEqual(graph.cycles[0].map((e) => e.mutexName).sort(), ['dl.a', 'dl.b']);
      const report = waitsReport(graph);
      assert.match(report, /Found one deadlock:/);
      assert.match(report, /"node 0 pid \d+ tid \d+": waiting to lock mutex \d+\.\d+ \(dl\.b\), which is held by "node 1 pid \d+ tid \d+"/);
      // Killing one side breaks the cycle: the survivor gets the mutex ABANDONED.
      await t.mc.killNode(1);
      while ((await waitGraph()).cycles.length > 0) await sleep(5);
    } finally {
      await t.stop();
    }
  });
});
