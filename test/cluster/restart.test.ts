// Nodes that come back by themselves (paper §3.1, reintegration): the restart
// policy restarts failed and fenced nodes as new incarnations, and gives up on a
// node that keeps failing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestMulticomputer, testApp, until } from '../helpers/multicomputer';

describe('the restart policy', () => {
  it('on-failure: a crashed node and a fenced hung node each come back as a new incarnation and rejoin', async () => {
    const t = await startTestMulticomputer({ nodes: 3, heartbeatMs: 50, restart: 'on-failure' });
    try {
      const { mc } = t;
      assert.equal(mc.restartPolicy, 'on-failure');
      process.kill(mc.nodes().find((n) => n.id === 1)!.pid!, 'SIGKILL');
      mc.stopNode(2);
      await until(
        'both are back as incarnation 2',
        () => [1, 2].every((id) => { const n = mc.nodes().find((x) => x.id === id)!; return n.incarnation === 2 && n.state === 'up'; }),
        60_000,
      );
      assert.deepEqual(mc.members(), [0, 1, 2], 'they rejoined the membership');
      const restarts = mc.query.query({ kinds: ['node.restart'] }).rows.map((r) => r.details as { node: number; attempt: number; afterIncarnation: number });
      assert.deepEqual(restarts.map((r) => r.node).sort(), [1, 2]);
      assert.ok(restarts.every((r) => r.attempt === 1 && r.afterIncarnation === 1));
      const causes = mc.generations().map((g) => g.cause);
      for (const id of [1, 2]) {
        const failed = causes.findIndex((c) => c.startsWith(`fail ${id}`));
        const joined = causes.findIndex((c, i) => i > failed && c === `join ${id}`);
        assert.ok(failed > 0 && joined > failed, `node ${id} failed, then joined again: ${causes.join('; ')}`);
      }
      assert.ok(mc.nodes().every((n) => n.restarts === (n.id === 0 ? 0 : 1)));
    } finally {
      await t.stop();
    }
  });

  it('gives up on a node in a crash loop, says so in the log and the node view; an operator restart forgives it', async () => {
    const t = await startTestMulticomputer({ nodes: 1, heartbeatMs: 50, restart: 'on-failure', apps: [testApp('crash')] });
    try {
      const { mc } = t;
      await until('the policy gave up', () => mc.query.query({ kinds: ['node.restart-gave-up'] }).rows.length === 1, 120_000);
      const restarts = mc.query.query({ kinds: ['node.restart'] }).rows.map((r) => r.details as { attempt: number; delayMs: number });
      assert.deepEqual(restarts.map((r) => r.attempt), [1, 2, 3, 4, 5]);
      assert.deepEqual(restarts.map((r) => r.delayMs), [200, 400, 800, 1600, 3200], 'exponential backoff');
      const gaveUp = mc.query.query({ kinds: ['node.restart-gave-up'] }).rows[0].details as { failures: number; reason: string };
      assert.equal(gaveUp.failures, 6);
      await until('the last failure is handled', () => mc.nodes()[0].state === 'failed');
      const n = mc.nodes()[0];
      assert.equal(n.incarnation, 6);
      assert.equal(n.restarts, 5);
      assert.equal(n.restartGaveUp, true);

      await mc.restartNode(0);
      await until('the policy restarts it again', () => mc.query.query({ kinds: ['node.restart'] }).rows.length === 6, 60_000);
      const again = mc.query.query({ kinds: ['node.restart'] }).rows.at(-1)!.details as { attempt: number };
      assert.equal(again.attempt, 1, 'its history was forgiven');
      mc.setRestartPolicy('never');
      assert.equal(mc.query.query({ kinds: ['operator.restart-policy'] }).rows.length, 1);
    } finally {
      await t.stop();
    }
  });
});
