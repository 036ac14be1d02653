import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REVALIDATOR_THREAD } from '../../../runtime/apps/webcache/revalidator';
import { generateSampleSite, type SiteManifest } from '../../../runtime/apps/webcache/sample-site';
import { createControlBackend } from '../../../runtime/control/backend';
import { ControlError, type ComponentInfo } from '../../../runtime/control/api';
import { rawRequest } from '../../helpers/http';
import { startTestMulticomputer, until, type TestMulticomputer } from '../../helpers/multicomputer';

const endpointOf = (t: TestMulticomputer, node: number) => t.mc.nodes().find((n) => n.id === node)?.endpoints.find((e) => e.app === 'webcache')?.url;
const portOf = (url: string) => Number(new URL(url).port);
const revalidator = (t: TestMulticomputer, node: number) =>
  t.mc.nodes().find((n) => n.id === node)?.threads?.find((x) => x.name === REVALIDATOR_THREAD && x.state === 'running');
const events = (t: TestMulticomputer, kind: string) => [...t.mc.query.iterate({ kinds: [kind] })];

describe("the global Web cache's revalidation thread, and killing it", () => {
  let t: TestMulticomputer;
  let siteDir: string;
  let manifest: SiteManifest;
  before(async () => {
    siteDir = mkdtempSync(path.join(tmpdir(), 'mcs-site-'));
    manifest = await generateSampleSite(siteDir, { files: 40, largeBytes: 512 * 1024, largeFiles: 1 });
    t = await startTestMulticomputer({
      nodes: 3,
      apps: ['webcache'],
      gsmMb: 4,
      heartbeatTimeoutMs: 2000,
      appConfig: { webcache: { mode: 'global', site: siteDir, cacheMb: 1, revalidateMs: 50 } },
    });
    await until('every node serves and runs its revalidation thread', () => [0, 1, 2].every((n) => !!endpointOf(t, n) && !!revalidator(t, n)), 30_000);
  });
  after(async () => {
    await t?.stop();
    rmSync(siteDir, { recursive: true, force: true });
  });

  it("a file that changes on disk is never served stale, and its owner's thread frees the stale copy", async () => {
    const f = manifest.files.find((x) => !x.path.startsWith('large/') && x.size > 100)!;
    const url = endpointOf(t, 1)!;
    await rawRequest(portOf(url), '/' + f.path);
    const hit = await rawRequest(portOf(url), '/' + f.path);
    assert.equal(hit.headers['x-cache'], 'hit', 'cached by node 1');
    const before = events(t, 'webcache.stale-dropped').length;
    const changed = Buffer.from(`changed ${Date.now()}\n`.repeat(20));
    writeFileSync(path.join(siteDir, f.path), changed);
    // Nobody asks for it: the owner's thread finds it stale on its chain and frees it.
    await until('node 1 dropped the stale entry', () => events(t, 'webcache.stale-dropped').slice(before).some((e) => e.node === 1));
    const fresh = await rawRequest(portOf(endpointOf(t, 0)!), '/' + f.path);
    assert.equal(fresh.headers['x-cache'], 'miss', 'no node finds the file cached any more');
    assert.deepEqual(fresh.body, changed);
    // Changed again: served fresh at once (the stamp differs), from any node, never the old bytes.
    const again = Buffer.from(`again ${Date.now()}\n`.repeat(30));
    writeFileSync(path.join(siteDir, f.path), again);
    for (const n of [0, 1, 2]) assert.deepEqual((await rawRequest(portOf(endpointOf(t, n)!), '/' + f.path)).body, again);
    assert.deepEqual((await rawRequest(portOf(url), '/' + f.path)).body, readFileSync(path.join(siteDir, f.path)));
  });

  it('kill-thread --holding: the thread dies holding a chain mutex, the next locker gets ABANDONED, recovery runs, and the node restarts the thread', async () => {
    const backend = createControlBackend(t.mc);
    const old = revalidator(t, 2)!;
    const recoveriesBefore = (await backend.components({})).find((c) => c.name === 'webcache')!.recoveries;
    const r = await backend.killThread({ node: 2, name: REVALIDATOR_THREAD, holding: true });
    assert.deepEqual(r, { node: 2, name: REVALIDATOR_THREAD, tid: old.tid, holding: true });
    const fault = events(t, 'fault.kill-thread').at(-1)!;
    assert.deepEqual(JSON.parse(fault.details), { node: 2, pid: t.mc.nodes()[2]!.pid, tid: old.tid, name: REVALIDATOR_THREAD, holding: true });
    // The dead thread's mutex is abandoned (kernel robust list, or the node's backstop).
    await until('the abandoned chain mutex led to a recovery', () => {
      // The backend answers components() synchronously.
      const w = (backend.components({}) as ComponentInfo[]).find((x) => x.name === 'webcache')!;
      return w.recoveries > recoveriesBefore && !w.recovering;
    });
    // The log is drained from the nodes' rings a moment after GSM shows the recovery.
    const causes = () => events(t, 'recovery.start').map((e) => (JSON.parse(e.details) as { cause: string }).cause);
    await until('the log shows a recovery caused by the abandoned chain mutex', () => causes().some((c) => /abandoned mutex/.test(c))).catch(() =>
      assert.fail(`no recovery caused by the abandoned chain mutex: ${causes().join('; ')}`),
    );
    await until('node 2 runs a new revalidation thread', () => !!revalidator(t, 2) && revalidator(t, 2)!.tid !== old.tid);
    assert.ok(events(t, 'thread.restart').some((e) => e.node === 2 && e.object === REVALIDATOR_THREAD));
    for (const m of await backend.mutexes({})) assert.notEqual(m.state === 'held' && m.holder?.tid === old.tid, true, `${m.name} still held by the dead thread`);
    for (const n of [0, 1, 2]) assert.equal((await rawRequest(portOf(endpointOf(t, n)!), '/index.html')).status, 200);
  });

  it('kill-thread at once ends the thread wherever it is; the node restarts it; unknown threads and the main thread are refused', async () => {
    const backend = createControlBackend(t.mc);
    const old = revalidator(t, 0)!;
    const r = await backend.killThread({ node: 0, name: REVALIDATOR_THREAD });
    assert.equal(r.tid, old.tid);
    assert.equal(r.holding, false);
    await until('node 0 runs a new revalidation thread', () => !!revalidator(t, 0) && revalidator(t, 0)!.tid !== old.tid);
    await assert.rejects(Promise.resolve(backend.killThread({ node: 0, name: 'nope' })), (e: ControlError) => e.code === 'not-found' && /runs no thread named "nope"/.test(e.message));
    await assert.rejects(Promise.resolve(backend.killThread({ node: 0, name: 'main' })), (e: ControlError) => e.code === 'conflict' && /kill the node instead/.test(e.message));
  });
});
