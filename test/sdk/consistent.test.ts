// The consistent-state block (paper §7.1) over local resources: the same SDK code
// a global component runs, with the failures injected by hand.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McsComponent, Recovering, localSpace, type Lockable, type RecoveryContext } from '../../runtime/sdk';
import { C } from '../../runtime/sdk/component-record';
import { PAYLOAD_BYTES } from '../../runtime/log/ring';
import { until } from '../helpers/multicomputer';

class Probe extends McsComponent {
  mutex!: Lockable;
  rebuilds = 0;
  constructor() {
    super(localSpace({ node: 0, bytes: 4096 }), { name: 'probe', masterAreaBytes: 64, lockTimeoutMs: 200 });
  }
  protected override async buildMaster(rc: RecoveryContext) {
    this.mutex ??= await this.space.createMutex('probe.lock');
    this.space.mem.store32(rc.area.offset, 0);
  }
  protected override rebuild() {
    this.rebuilds++;
  }
}

describe('consistent blocks: the worker path without hand-written recovery code', () => {
  it('a block that meets a recovery request is backed out, its mutex released, and re-run after recovery', async () => {
    const p = new Probe();
    assert.equal(await p.start(), 'OK');
    const rebuildsBefore = p.rebuilds;
    let runs = 0;
    const result = await p.consistent(async (tx) => {
      runs++;
      await tx.lock(p.mutex);
      tx.store64(p.masterArea!, 8, runs);
      if (runs === 1) p.requestRecovery('test: injected failure');
      tx.check();
      return tx.load64(p.masterArea!, 8);
    });
    assert.equal(runs, 2, 'run once, backed out, run again');
    assert.equal(result, 2);
    assert.equal(p.rebuilds, rebuildsBefore + 1, 'recovery ran in between');
    assert.equal(p.mutex.tryLock(), 'OK', 'the mutex the backed-out block held was released');
    p.mutex.unlock();
    assert.equal(p.recoveries.at(-1)?.cause, 'test: injected failure');
    await p.stop();
  });

  it('an out-of-bounds access (a corrupt link) backs the block out instead of reading past its region', async () => {
    const p = new Probe();
    await p.start();
    let runs = 0;
    const r = await p.consistent((tx) => {
      runs++;
      if (runs === 1) tx.load64(p.masterArea!, 4096);
      return 'ok';
    });
    assert.equal(r, 'ok');
    assert.equal(runs, 2);
    await p.stop();
  });

  it('a mutex wait past the lock timeout counts as a failure: recovery runs and the block runs again', async () => {
    const p = new Probe();
    await p.start();
    assert.equal(p.mutex.tryLock(), 'OK'); // held by "someone else" on this node
    let runs = 0;
    const done = p.consistent(async (tx) => {
      runs++;
      if (runs === 1) await tx.lock(p.mutex);
      return runs;
    });
    const result = await done;
    assert.equal(result, 2, 'the timed-out wait triggered a recovery and the block ran again');
    assert.match(p.recoveries.at(-1)!.cause, /timeout waiting for mutex/);
    p.mutex.unlock();
    await p.stop();
  });

  it('a sleep inside a block is interrupted by a recovery request', async () => {
    const p = new Probe();
    await p.start();
    let runs = 0;
    const t0 = performance.now();
    setTimeout(() => p.requestRecovery('test: wake the sleeper'), 50);
    await p.consistent(async (tx) => {
      runs++;
      if (runs === 1) await tx.sleep(10_000);
    });
    assert.equal(runs, 2);
    assert.ok(performance.now() - t0 < 5000, 'the 10 s sleep did not run to its end');
    await p.stop();
  });

  it('real errors are not retried; the block still releases what it held', async () => {
    const p = new Probe();
    await p.start();
    await assert.rejects(
      p.consistent(async (tx) => {
        await tx.lock(p.mutex);
        throw new TypeError('a bug in the block');
      }),
      TypeError,
    );
    assert.equal(p.mutex.tryLock(), 'OK');
    p.mutex.unlock();
    assert.ok(!(new TypeError('x') instanceof Recovering));
    await p.stop();
  });

  it('lockoutRecovery/allowRecovery (paper Figure 3): recovery waits for locked-out workers; status turns RECOVERING', async () => {
    const p = new Probe();
    await p.start();
    assert.equal(await p.lockoutRecovery(), 'OK');
    const rebuilds = p.rebuilds;
    p.requestRecovery('test');
    assert.equal(p.status(), 'RECOVERING');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(p.rebuilds, rebuilds, 'recovery did not run while a worker locked it out');
    p.allowRecovery();
    assert.equal(await p.lockoutRecovery(), 'OK', 'blocked until recovery was done');
    assert.equal(p.rebuilds, rebuilds + 1);
    assert.equal(p.status(), 'OK');
    p.allowRecovery();
    await p.stop();
    assert.equal(await p.lockoutRecovery(), 'UNRECOVERABLE');
  });
});

class Repairer extends McsComponent {
  mutex!: Lockable;
  lockInBuild = false;
  builds = 0;
  constructor() {
    super(localSpace({ node: 0, bytes: 4096 }), { name: 'repairer', masterAreaBytes: 64, lockTimeoutMs: 200 });
  }
  protected override async buildMaster(rc: RecoveryContext) {
    this.builds++;
    this.mutex ??= await this.space.createMutex('repairer.lock');
    if (this.lockInBuild) {
      await rc.lock(this.mutex);
      rc.unlock(this.mutex);
    }
  }
  /** A newer recovery, requested whatever generation this instance has seen. */
  supersede(cause: string) {
    this.rec.request(this.rec.u32(C.recoveryGeneration), cause);
  }
}

describe('recovery locks', () => {
  it("a recovery restarted while it waits for a mutex lets the mutex go: the next recovery and the next block can lock it", async () => {
    const p = new Repairer();
    assert.equal(await p.start(), 'OK');
    assert.equal(p.mutex.tryLock(), 'OK'); // held by "someone else" on this node
    p.lockInBuild = true;
    const builds = p.builds;
    p.requestRecovery('test: repair under a held mutex');
    const waiting = Date.now() + 5000;
    while (p.builds === builds && Date.now() < waiting) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 150)); // the recovery waits in rc.lock
    p.supersede('test: a newer failure');
    await new Promise((r) => setTimeout(r, 150)); // it restarts (and waits for the mutex again)
    p.mutex.unlock();
    const r = await p.consistent(async (tx) => {
      await tx.lock(p.mutex);
      return 'locked';
    }, { deadlineMs: 5000 });
    assert.equal(r, 'locked', 'the recovery completed and the block got the mutex');
    assert.equal(p.recoveries.at(-1)!.cause, 'test: a newer failure');
    await p.stop();
  });
});

describe('recovery errors', () => {
  it('a recovery that keeps failing is retried from scratch with a doubling backoff, and succeeds once the fault is gone', async () => {
    const logged: { kind: string; details: { retryMs?: number; message?: string } }[] = [];
    class Flaky extends McsComponent {
      failuresLeft = 4;
      constructor() {
        super(localSpace({ node: 0, bytes: 4096, log: (kind, _object, details) => logged.push({ kind, details: details as never }) }), { name: 'flaky', masterAreaBytes: 64 });
      }
      protected override async buildMaster() {}
      protected override rebuild() {
        if (this.failuresLeft-- > 0) throw new Error('test: shared state cannot be built yet');
      }
    }
    const f = new Flaky();
    assert.equal(await f.start(), 'OK', 'built once the fault went away');
    const errors = logged.filter((l) => l.kind === 'recovery.error');
    assert.deepEqual(errors.map((e) => e.details.retryMs), [20, 40, 80, 160]);
    assert.ok(errors.every((e) => e.details.message === 'test: shared state cannot be built yet'));
    assert.equal(logged.filter((l) => l.kind === 'recovery.end').length, 1);
    await f.stop();
  });

  it('every recovery event fits one log slot whole, even with the longest cause: recovery.end keeps its cause and duration', async () => {
    const logged: { kind: string; object: string | null; details: Record<string, unknown> }[] = [];
    class Long extends McsComponent {
      constructor() {
        super(localSpace({ node: 0, bytes: 4096, log: (kind, object, details) => logged.push({ kind, object, details: details as never }) }), { name: 'webcache', masterAreaBytes: 64 });
      }
      protected override async buildMaster() {}
      protected override rebuild() {}
    }
    const c = new Long();
    assert.equal(await c.start(), 'OK');
    c.requestRecovery(`instance left during recovery: node ${'1, '.repeat(40)}15`);
    await until('the requested recovery ended', () => logged.some((l) => l.kind === 'recovery.end' && String(l.details.cause).startsWith('instance left')));
    await c.stop();
    const bytes = (text: string) => Buffer.byteLength(text);
    for (const l of logged.filter((e) => e.kind.startsWith('recovery.')))
      assert.ok(bytes(l.kind) + bytes(l.object ?? '') + bytes(JSON.stringify(l.details)) <= PAYLOAD_BYTES, `${l.kind} fits: ${JSON.stringify(l.details)}`);
    const end = logged.find((l) => l.kind === 'recovery.end' && String(l.details.cause).startsWith('instance left'))!;
    assert.equal(typeof end.details.durationMs, 'number');
  });
});

describe('after a recovery', () => {
  it('afterRecovery runs once per completed recovery, beside workers already let go; its error is logged and the recovery stands', async () => {
    const logged: { kind: string; details: { generation?: number; message?: string } }[] = [];
    class Closer extends McsComponent {
      afterRuns: { generation: number; status: string; blockRan: boolean }[] = [];
      failNext = false;
      blockRan = false;
      constructor() {
        super(localSpace({ node: 0, bytes: 4096, log: (kind, _object, details) => logged.push({ kind, details: details as never }) }), { name: 'closer', masterAreaBytes: 64 });
      }
      protected override async buildMaster() {}
      protected override rebuild() {}
      protected override async afterRecovery(generation: number) {
        // Had the SDK held its workers until this returned, the block could never run.
        if (this.failNext) await until('the waiting block ran', () => this.blockRan, 2000).catch(() => undefined);
        this.afterRuns.push({ generation, status: this.status(), blockRan: this.blockRan });
        if (this.failNext) throw new Error('test: a handle would not close');
      }
    }
    const c = new Closer();
    assert.equal(await c.start(), 'OK');
    await until('the first recovery handed over', () => c.afterRuns.length === 1);
    c.failNext = true;
    c.requestRecovery('test: second recovery');
    // Waits at lockout for the recovery, then runs.
    await c.consistent(async () => (c.blockRan = true));
    await until('the second recovery handed over', () => c.afterRuns.length === 2);
    const [first, second] = c.afterRuns;
    assert.ok(second.generation > first.generation);
    assert.equal(second.blockRan, true, 'the waiting worker ran while afterRecovery was running');
    assert.equal(second.status, 'OK', 'the recovery was complete');
    await until('the error logged', () => logged.some((l) => l.kind === 'recovery.error'));
    const error = logged.find((l) => l.kind === 'recovery.error')!;
    assert.equal(error.details.generation, second.generation);
    assert.match(error.details.message!, /after recovery: test: a handle would not close/);
    assert.equal(c.status(), 'OK', 'the failed afterRecovery did not undo the recovery');
    assert.equal(logged.filter((l) => l.kind === 'recovery.start').length, 2, 'nor started another');
    await c.stop();
  });
});

describe('memory failures met during a recovery', () => {
  /** A component whose memory-failure counter and failed-region set the test drives (the global space reads both from GSM). */
  class Reader extends McsComponent {
    count = 0;
    version = 0;
    /**
     * What the next rebuild meets: reads of memory already failed, a new failure,
     * or reads of failed memory while another member completes the recovery and
     * takes a while to write down what it accounted for.
     */
    duringRebuild: 'old reads' | 'new failure' | 'completed elsewhere' | null = null;
    constructor() {
      const space = localSpace({ node: 0, bytes: 4096 });
      super({ ...space, memoryFailures: () => this.count, failedRegionsVersion: () => this.version }, { name: 'reader', masterAreaBytes: 64 });
    }
    protected override async buildMaster() {}
    protected override rebuild(rc: RecoveryContext) {
      if (this.duringRebuild) this.count += 3;
      if (this.duringRebuild === 'new failure') this.version++;
      if (this.duringRebuild === 'completed elsewhere') {
        const rec = this.rec;
        rec.set32(C.completedGeneration, rc.generation);
        setTimeout(() => {
          rec.mem.store64n(rec.base + C.memoryFailures, this.count);
          rec.set32(C.accountedGeneration, rc.generation);
          rec.bump();
        }, 50);
      }
      this.duringRebuild = null;
    }
  }
  /** The causes of the recoveries that follow one requested recovery whose rebuild meets `during`. */
  async function causesAfter(during: Reader['duringRebuild']): Promise<string[]> {
    const r = new Reader();
    assert.equal(await r.start(), 'OK');
    const before = r.recoveries.length;
    r.duringRebuild = during;
    r.requestRecovery('test: a node failed');
    await new Promise((resolve) => setTimeout(resolve, 400)); // four passes of the recovery loop's detection
    await r.stop();
    return r.recoveries.slice(before).map((x) => x.cause);
  }

  it('reads of memory that had failed before the recovery began start no second recovery', async () => {
    assert.deepEqual(await causesAfter('old reads'), ['test: a node failed']);
  });

  it("a member that did not complete the recovery waits for the completer's accounting instead of taking old reads for a new failure", async () => {
    assert.deepEqual(await causesAfter('completed elsewhere'), ['test: a node failed']);
  });

  it('memory that fails while members rebuild is recovered by another recovery', async () => {
    assert.deepEqual(await causesAfter('new failure'), ['test: a node failed', 'memory failure']);
  });
});
