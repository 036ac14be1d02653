import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ClusterError } from '../../runtime/cluster/supervisor';
import { isAlive, startTestMulticomputer, until } from '../helpers/multicomputer';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/supervisor-child.ts');

describe('the supervisor', () => {
  it('dying leaves no node behind; the next start replaces the stale GSM and keeps the event log', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mcs-sup-'));
    const name = `dead${process.pid}`;
    try {
      const sup = spawn(process.execPath, ['--import', 'tsx', child, name, dir, '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const pids: number[] = await new Promise((resolve, reject) => {
        sup.stdout.once('data', (d) => resolve(JSON.parse(String(d))));
        sup.once('exit', (code) => reject(new Error(`supervisor exited ${code}`)));
      });
      assert.equal(pids.length, 2);
      sup.kill('SIGKILL');
      await until('its nodes noticed and exited', () => pids.every((p) => !isAlive(p)), 10_000);
      assert.ok(existsSync(`/dev/shm/mcs-${name}`), 'the GSM object outlived the supervisor');

      const t = await startTestMulticomputer({ nodes: 1, dir, name });
      try {
        assert.equal(t.mc.query.query({ kinds: ['gsm.stale-replaced'] }).rows.length, 1);
        assert.equal(t.mc.query.query({ kinds: ['multicomputer.start'] }).rows.length, 2, 'the first run\'s rows are still there');
        const orphaned = t.mc.query.query({ kinds: ['node.orphaned'] }).rows;
        assert.equal(orphaned.length, 0, 'orphaned nodes\' last events were not drained (their supervisor was dead)');
        assert.deepEqual(t.mc.nodes().map((n) => n.state), ['up']);
      } finally {
        await t.stop();
      }
      assert.ok(!existsSync(`/dev/shm/mcs-${name}`), 'an orderly stop removes the GSM');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start over a multicomputer that is still running', async () => {
    const t = await startTestMulticomputer({ nodes: 1 });
    try {
      await assert.rejects(startTestMulticomputer({ nodes: 1, name: t.name }), (e) => e instanceof ClusterError && e.code === 'conflict');
      assert.deepEqual(t.mc.nodes().map((n) => n.state), ['up'], 'the running one was not disturbed');
    } finally {
      await t.stop();
    }
  });

  it('runs two multicomputers side by side without one touching the other', async () => {
    const [a, b] = await Promise.all([startTestMulticomputer({ nodes: 2 }), startTestMulticomputer({ nodes: 2 })]);
    const pids = [...a.mc.nodes(), ...b.mc.nodes()].map((n) => n.pid!);
    try {
      const genB = b.mc.generation();
      await a.mc.killNode(0);
      assert.equal(a.mc.nodes()[0].state, 'failed');
      assert.equal(b.mc.generation(), genB);
      assert.deepEqual(b.mc.nodes().map((n) => n.state), ['up', 'up']);
      assert.notEqual(a.mc.gsm.name, b.mc.gsm.name);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    assert.ok(pids.every((p) => !isAlive(p)), 'no node process is left');
  });

  it('rejects bad operator requests with clear errors and changes nothing', async () => {
    const t = await startTestMulticomputer({ nodes: 1 });
    try {
      const gen = t.mc.generation();
      await assert.rejects(t.mc.killNode(7), /node 7 is not running/);
      await assert.rejects(t.mc.killNode(99), /no node 99/);
      assert.throws(() => t.mc.contNode(0), /not stopped/);
      await assert.rejects(t.mc.releaseMutex('nothing-here'), /no global object named "nothing-here"/);
      await assert.rejects(t.mc.signalEvent('3.x'), /malformed object id/);
      await assert.rejects(t.mc.failMemory({ offset: 0, length: 10 }), /within node contributions/);
      assert.equal(t.mc.generation(), gen);
    } finally {
      await t.stop();
    }
  });
});
