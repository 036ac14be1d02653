// What the detector reads of a node process in /proc, through a stat file kept
// open (ProcStatFile) and afresh: the same states, from start to reaping.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { ProcStatFile, inspectProcess } from '../../runtime/membership/fencing';

describe('process state from /proc', () => {
  it('a child reads running, stopped, exited (not yet reaped) and gone, kept open or not', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = child.pid!;
    const exited = new Promise((r) => child.once('exit', r));
    const file = new ProcStatFile(pid);
    const both = () => [inspectProcess(pid, process.pid, undefined, file).state, inspectProcess(pid, process.pid).state];
    try {
      assert.deepEqual(both(), ['running', 'running']);
      const { startTime } = inspectProcess(pid, process.pid, undefined, file);
      assert.ok(startTime > 0);
      assert.equal(inspectProcess(pid, process.pid, startTime + 1, file).state, 'gone', 'another start time is another process');
      assert.equal(inspectProcess(pid, process.pid + 1, undefined, file).state, 'gone', 'not our child');
      child.kill('SIGSTOP');
      await until(() => both()[0] === 'stopped');
      assert.deepEqual(both(), ['stopped', 'stopped']);
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      // Not reaped while this thread does not yield to the event loop: a zombie.
      const deadline = Date.now() + 10_000;
      while (both()[0] === 'running' && Date.now() < deadline);
      assert.deepEqual(both(), ['exited', 'exited']);
      await exited;
      assert.deepEqual(both(), ['gone', 'gone']);
    } finally {
      file.close();
      child.kill('SIGKILL');
    }
    assert.equal(new ProcStatFile(pid).read(), null, 'a reaped process has no stat to open');
  });
});

async function until(ok: () => boolean) {
  const deadline = Date.now() + 10_000;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}
