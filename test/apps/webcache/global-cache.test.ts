import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkCacheConsistency, type CacheCheck } from '../../../runtime/apps/webcache/cache-check';
import { MASTER, chainMutexId } from '../../../runtime/apps/webcache/cache-layout';
import { WEBCACHE_COMPONENT } from '../../../runtime/apps/webcache/global-cache';
import { findComponent, requestRecoveryOf, viewComponent } from '../../../runtime/sdk/component-record';
import { isSyntheticContent } from '../../fixtures/apps/synthetic-files';
import { sleep, startTestMulticomputer, testApp, until, type TestMulticomputer } from '../../helpers/multicomputer';

interface Stats {
  gets: number;
  hits: number;
  corrupt: number;
  errors: number;
  evictions: number;
  files: number;
}

/** Each live node incarnation's latest stats line. */
function latestStats(t: TestMulticomputer): Map<string, Stats> {
  const out = new Map<string, Stats>();
  for (const row of t.mc.query.iterate({ kinds: ['cacheload.stats'] })) out.set(`${row.node}/${row.incarnation}`, JSON.parse(row.details));
  return out;
}

function view(t: TestMulticomputer) {
  const rec = findComponent(t.mc.gsm.map, t.mc.gsm.layout, WEBCACHE_COMPONENT);
  return rec ? viewComponent(rec, t.mc.gsm.map, t.mc.gsm.layout) : null;
}

/** Waits for a recovered cache with `members` instances, then checks it (retrying while a recovery runs). */
async function consistentCache(t: TestMulticomputer, members: number): Promise<CacheCheck> {
  let last: CacheCheck | null = null;
  await until(`a recovered cache of ${members} members passing the consistency check`, () => {
    const v = view(t);
    if (!v || v.recovering || v.members.length !== members) return false;
    last = checkCacheConsistency(t.mc.gsm, t.mc.namespace, { verify: (key, _s, bytes) => isSyntheticContent(key, bytes) });
    return !last.recovering && last.problems.length === 0;
  }, 20_000).catch((err) => {
    const recent = [...t.mc.query.iterate({ kinds: ['recovery.start', 'recovery.end', 'recovery.error', 'cacheload.error', 'node.stderr', 'app.error'] })]
      .slice(-15)
      .map((r) => `${r.node}/${r.incarnation} ${r.kind} ${r.details}`);
    throw new Error(`${(err as Error).message}; last check: ${JSON.stringify(last)}; view: ${JSON.stringify(view(t))}\n${recent.join('\n')}`);
  });
  return last!;
}

/** Traffic goes on: every listed node's hit count grows. */
async function servingAgain(t: TestMulticomputer) {
  const before = latestStats(t);
  const live = t.mc.nodes().filter((n) => n.state === 'up').map((n) => `${n.id}/${n.incarnation}`);
  await until('every live node serves hits again', () => {
    const now = latestStats(t);
    return live.every((k) => (now.get(k)?.hits ?? 0) > (before.get(k)?.hits ?? 0));
  }, 20_000);
}

/** The names of the chain mutexes the master area's table names. */
function chainNames(t: TestMulticomputer): string[] {
  const { map } = t.mc.gsm;
  const at = t.mc.namespace.resolve(view(t)!.masterAreaId!).dataOffset;
  return Array.from({ length: map.load32(at + MASTER.buckets) }, (_, i) => t.mc.namespace.resolve(chainMutexId(map, at, i)).name);
}

function noCorruptByte(t: TestMulticomputer) {
  for (const [who, s] of latestStats(t)) {
    assert.equal(s.corrupt, 0, `node ${who} was never handed a wrong byte`);
    assert.equal(s.errors, 0, `node ${who} saw no request error`);
  }
}

describe('the global Web cache (McsWebCache, paper §4.1–4.2) under node failures', () => {
  let t: TestMulticomputer;
  before(async () => {
    t = await startTestMulticomputer({ nodes: 3, apps: [testApp('cache-load')], heartbeatTimeoutMs: 1500 });
  });
  after(async () => {
    const causes = new Map<string, number>();
    for (const r of t.mc.query.iterate({ kinds: ['recovery.end'] })) {
      // Details too long for a log slot are stored cut ({ truncated, partial }): no cause field.
      const c = ((JSON.parse(r.details) as { cause?: string }).cause ?? '(details cut)').replace(/\d+/g, 'N');
      causes.set(c, (causes.get(c) ?? 0) + 1);
    }
    console.log('recovery causes', causes);
    await t?.stop();
  });

  it('shares one cache: hits on every node, entries from several owners on the chains, evictions in each own area, structures consistent', async () => {
    await servingAgain(t);
    await until('evictions happen (the file set exceeds the cache)', () => [...latestStats(t).values()].some((s) => s.evictions > 0));
    const check = await consistentCache(t, 3);
    assert.ok(check.entries > 5, `entries cached: ${check.entries}`);
    noCorruptByte(t);
  });

  it("each node holds one reference to each other member's cache area, however many of its requests met that area at once after a recovery", async () => {
    for (let i = 0; i < 3; i++) {
      const before = view(t)!.completedGeneration;
      requestRecoveryOf(t.mc.gsm.map, t.mc.gsm.layout, WEBCACHE_COMPONENT, 'test');
      await until('the requested recovery completed', () => view(t)!.completedGeneration > before);
      await servingAgain(t);
    }
    const areas = t.mc.namespace.list().filter((r) => r.name.startsWith(`${WEBCACHE_COMPONENT}.area.`));
    assert.equal(areas.length, 3);
    for (const a of areas) assert.ok(a.refs.every((n) => n <= 1), `references to ${a.name} by node: ${a.refs.join(', ')}`);
  });

  it('a member SIGKILLed mid-request: survivors rebuild the chains without its files and go on serving, never a corrupt byte', async () => {
    const v = view(t)!;
    const victim = v.members.find((n) => n !== v.master)!;
    await t.mc.killNode(victim);
    await consistentCache(t, 2);
    await servingAgain(t);
    noCorruptByte(t);
    await t.mc.restartNode(victim);
    await consistentCache(t, 3);
    await servingAgain(t);
  });

  it('the master SIGKILLed: a new master rebuilds the table in its own contribution, from the standby chain mutexes the others hold open', async () => {
    const v = view(t)!;
    // The successor (the lowest other member) made its standby set after a recovery, and every other member opened it.
    const successor = Math.min(...v.members.filter((n) => n !== v.master));
    const standbyOf = (node: number) => t.mc.namespace.list().filter((r) => r.name.startsWith(`${WEBCACHE_COMPONENT}.standby.`) && r.ownerNode === node);
    await until("the successor's standby set, open on every member", () => {
      const set = standbyOf(successor);
      return set.length === chainNames(t).length && set.every((r) => v.members.every((n) => r.refs[n] === 1));
    }).catch((err: Error) => {
      const sets = v.members.map((n) => `node ${n}: ${standbyOf(n).length} (refs ${standbyOf(n)[0]?.refs.join(',')})`);
      const events = [...t.mc.query.iterate({ kinds: ['webcache.standby-skipped', 'recovery.error'] })].map((r) => `${r.node} ${r.kind} ${r.details}`);
      throw new Error(`${err.message}: master ${v.master}, successor ${successor}; standby sets ${sets.join('; ')}; ${events.join(' | ')}`);
    });
    const standby = standbyOf(successor).map((r) => r.name).sort();
    assert.ok(chainNames(t).every((name) => name.startsWith(`${WEBCACHE_COMPONENT}.chain.`)), 'the chains in use are not a standby set');
    await t.mc.killNode(v.master!);
    await consistentCache(t, 2);
    const after = view(t)!;
    assert.equal(after.master, successor);
    assert.deepEqual([...chainNames(t)].sort(), standby, "the new master's table took its standby set as the chains");
    await servingAgain(t);
    noCorruptByte(t);
    await t.mc.restartNode(v.master!);
    await consistentCache(t, 3);
  });

  it('a node SIGKILLed during a recovery, and two at once: recovery restarts from scratch and converges', async () => {
    const rec = findComponent(t.mc.gsm.map, t.mc.gsm.layout, WEBCACHE_COMPONENT)!;
    assert.deepEqual(requestRecoveryOf(t.mc.gsm.map, t.mc.gsm.layout, WEBCACHE_COMPONENT, 'test'), [WEBCACHE_COMPONENT]);
    assert.ok(rec);
    const up = view(t)!.members;
    await t.mc.killNode(up[up.length - 1]);
    await consistentCache(t, 2);
    await servingAgain(t);
    await t.mc.restartNode(up[up.length - 1]);
    await consistentCache(t, 3);
    const [a, b] = view(t)!.members;
    await Promise.all([t.mc.killNode(a), t.mc.killNode(b)]);
    await consistentCache(t, 1);
    await servingAgain(t);
    noCorruptByte(t);
    await Promise.all([t.mc.restartNode(a), t.mc.restartNode(b)]);
    await consistentCache(t, 3);
    await servingAgain(t);
    noCorruptByte(t);
  });

  it('a failed memory region under a live node: its files are never served, the others recover and serve', async () => {
    const v = view(t)!;
    const victim = v.members.find((n) => n !== v.master)!;
    await t.mc.failMemory({ node: victim });
    await sleep(300);
    await until('recovered after the memory failure', () => !view(t)!.recovering);
    await consistentCache(t, 3);
    await servingAgain(t);
    noCorruptByte(t);
    // The master's memory fails too: mastership moves to a node that can still house the table.
    const master = view(t)!.master!;
    await t.mc.failMemory({ node: master });
    await sleep(300);
    await consistentCache(t, 3);
    assert.ok(![master, victim].includes(view(t)!.master!), 'the master moved to the node whose memory is whole');
    await servingAgain(t);
    noCorruptByte(t);
  });
});
