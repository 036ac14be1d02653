// Step-debugging recovery (issue #10 §4; the walkthrough in docs/debugger.md):
// the global Web cache on 4 nodes under verifying load, a breakpoint on the
// cache's recovery function broadcast to every node with stop set [all], the
// master SIGKILLed. Every survivor stops in recovery, the rebuilt hash table is
// inspected across the set, the set is stepped, one survivor runs on for longer
// than a recovery phase may take while the others stay stopped, and the set
// resumes: recovery completes, no paused node is ejected or dropped, service
// continues and no response is ever corrupt.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VerifyingLoad } from '../../bench/chaos/verifying-load';
import { checkCacheConsistency } from '../../runtime/apps/webcache/cache-check';
import { WEBCACHE_COMPONENT } from '../../runtime/apps/webcache/global-cache';
import { generateSampleSite } from '../../runtime/apps/webcache/sample-site';
import { findComponent, viewComponent } from '../../runtime/sdk/component-record';
import { debugClient, states, untilThreads, type DebugClient } from '../helpers/debugger';
import { startTestMulticomputer, until, type TestMulticomputer } from '../helpers/multicomputer';

const NODES = 4;
/** The SDK's default phase timeout: a member slower than this in a recovery phase is dropped. */
const PHASE_TIMEOUT_MS = 5000;

describe('step-debugging the Web cache recovery on 4 nodes under load', () => {
  let t: TestMulticomputer;
  let site: string;
  let load: VerifyingLoad;
  let dbg: DebugClient;
  const endpoints = () =>
    t.mc
      .nodes()
      .filter((n) => n.state === 'up' || n.state === 'suspect')
      .map((n) => n.endpoints.find((e) => e.app === 'webcache')?.url)
      .filter((u): u is string => !!u);
  const rows = (kind: string) =>
    t.mc.query.query({ kinds: [kind] }, { limit: 10_000 }).rows.map((r) => (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as Record<string, unknown>);
  const component = () => viewComponent(findComponent(t.mc.gsm.map, t.mc.gsm.layout, WEBCACHE_COMPONENT)!, t.mc.gsm.map, t.mc.gsm.layout);
  /** A client that keeps polling, as `mcs debug` and the console do (its session stays alive). */
  async function hold(ms: number) {
    const end = Date.now() + ms;
    while (Date.now() < end) await dbg.events(Math.min(200, Math.max(1, end - Date.now())));
  }
  const value = (text: string) => JSON.parse(text.replace(/^\[[^\]]*\]\s+/, ''));

  before(async () => {
    site = mkdtempSync(path.join(tmpdir(), 'mcs-dbgrec-site-'));
    const manifest = await generateSampleSite(site, { files: 120, largeFiles: 0 });
    t = await startTestMulticomputer({
      nodes: NODES,
      apps: ['webcache'],
      gsmMb: 4,
      heartbeatMs: 100,
      heartbeatTimeoutMs: 500,
      // The scenario steps the recovery's threads: without revalidation threads, [all] is exactly those.
      appConfig: { webcache: { mode: 'global', site, cacheMb: 1, revalidateMs: 0 } },
    });
    await until('every node serves', () => endpoints().length === NODES, 60_000);
    await untilThreads(t.mc, NODES);
    const files = manifest.files.map((f) => ({ path: f.path, bytes: readFileSync(path.join(site, f.path)) }));
    // A request to a node stopped in the debugger waits for it: the bound is the whole scenario.
    load = new VerifyingLoad(endpoints, files, { zipf: 0.9, seed: 7, concurrency: 4, boundMs: 120_000 });
    load.start();
    dbg = debugClient(t.mc);
  });
  after(async () => {
    await load?.stop();
    await t?.stop();
    if (site) rmSync(site, { recursive: true, force: true });
  });

  it('every survivor stops in rebuild, the set is inspected and stepped, and recovery completes without a false ejection or a corrupt answer', async () => {
    await until('the cache is warm', () => load.counts.ok >= 300, 60_000);
    const before = component();
    const victim = before.master!;
    const survivors = t.mc.members().filter((n) => n !== victim);
    const generation = t.mc.generation();

    const set = await dbg.run('break rebuild -stop [all]');
    assert.match(set.text, /^break 1 at rebuild on \[all\] \(4 threads now, and threads that start later\), stop set \[all\]$/);
    process.kill(t.mc.nodes().find((n) => n.id === victim)!.pid!, 'SIGKILL');

    // every survivor stops in the recovery function
    const w = await dbg.run('wait -timeout 30000');
    assert.equal((w.data as { done: boolean }).done, true, w.text);
    const threads = states(await dbg.run('threads'));
    assert.deepEqual(threads.map((s) => s.id), survivors.map((n) => `${n}.1`));
    assert.ok(threads.every((s) => s.state === 'stopped' && s.where?.fn === 'rebuild'), JSON.stringify(threads));
    const where = await dbg.run('where');
    assert.match(where.text, /^\[all\]\n  #0 rebuild \(global-cache\.ts:\d+\)\n  #1 recover \(component\.ts:\d+\)/, where.text);

    // the set agrees on the recovery it is in; the master has emptied the table
    assert.equal((await dbg.run('print [rc.generation, rc.members, rc.master]')).text, `[all]  [${before.recoveryGeneration + 1},${JSON.stringify(survivors)},${survivors[0]}]`);
    const empty = await dbg.run('print this.describeTable()');
    assert.deepEqual(value(empty.text), { chains: 64, linked: 0, byOwner: {}, longest: 0, problem: null }, empty.text);

    // step the set: every thread moves on in rebuild
    const next = await dbg.run('next');
    assert.match(next.text, /^\[all\]  rebuild \(global-cache\.ts:\d+\)$/, next.text);
    assert.notEqual(next.text, `[all]  ${threads[0]!.where?.fn} (global-cache.ts:${threads[0]!.where?.line})`);
    // run each to the end of its rebuild: back in recover, its files linked again
    const fin = await dbg.run('finish');
    assert.match(fin.text, /^\[all\]  recover \(component\.ts:\d+\)$/, fin.text);

    // the rebuilt table, seen alike from every node: each survivor's files, linked once
    const sizes = await dbg.run('print this.entries.size');
    const mine = new Map((sizes.data as { threads: string[]; value: string }[]).flatMap((g) => g.threads.map((id) => [parseInt(id, 10), Number(g.value)] as const)));
    assert.deepEqual([...mine.keys()].sort(), survivors);
    const table = await dbg.run('print this.describeTable()');
    assert.equal(table.text.split('\n').length, 1, `one value for the whole set:\n${table.text}`);
    const rebuilt = value(table.text) as { linked: number; byOwner: Record<string, number>; problem: string | null };
    assert.equal(rebuilt.problem, null);
    assert.deepEqual(rebuilt.byOwner, Object.fromEntries(survivors.map((n) => [String(n), mine.get(n)])));
    assert.ok(rebuilt.linked > 0, 'the warm cache had files to link again');

    // one survivor runs on and waits for the others longer than a phase may last:
    // they are stopped in the debugger, not failing, so nobody is dropped
    const runner = survivors.at(-1)!;
    await dbg.run(`[${runner}.1] go`);
    await hold(PHASE_TIMEOUT_MS + 1500);
    assert.equal(component().recoveryGeneration, before.recoveryGeneration + 1, 'no new recovery requested while the set was stopped');
    assert.deepEqual(t.mc.members(), survivors, 'the stopped nodes are members');

    await dbg.run('delete all');
    const go = await dbg.run('go');
    assert.equal(go.text, `resumed ${survivors.length - 1} threads of [all]`);
    const okAtGo = load.counts.ok;
    await until('recovery completed', () => component().completedGeneration === before.recoveryGeneration + 1 && !component().recovering, 30_000);
    await until('service continues', () => load.counts.ok >= okAtGo + 200, 60_000);

    const ends = rows('recovery.end').filter((r) => r.generation === before.recoveryGeneration + 1);
    assert.deepEqual(ends.map((r) => r.members), survivors.map(() => survivors), 'every survivor completed the same recovery');
    assert.ok(!rows('recovery.start').some((r) => /timeout/.test(String(r.cause))), 'no recovery for a timeout');
    assert.deepEqual(rows('node.failed').map((r) => r.node), [victim], 'only the killed node failed');
    assert.equal(t.mc.generation(), generation + 1, 'one membership change: the kill');
    assert.deepEqual(t.mc.members(), survivors);
    for (const n of survivors) assert.ok(rows('debug.thaw').some((r) => r.node === n), `node ${n} was frozen and thawed`);
    await load.stop();
    assert.deepEqual(load.violations, [], 'no corrupt, hung or wrong answer');
    assert.equal(load.counts.corrupt, 0);
    const check = checkCacheConsistency(t.mc.gsm, t.mc.namespace);
    assert.deepEqual(check.problems, []);
    assert.deepEqual(check.members, survivors);
  });
});
