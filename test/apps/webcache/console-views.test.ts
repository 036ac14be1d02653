// What the Web cache shows the console: its request counters in GSM (one
// register per node, read by the control back end as each node's `requests`),
// and its declared section layouts, through which decodeSection reads the hash
// table in the master area and the file entries in each node's cache area.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSampleSite, type SiteManifest } from '../../../runtime/apps/webcache/sample-site';
import type { DecodedSection } from '../../../runtime/control/api';
import { createControlBackend } from '../../../runtime/control/backend';
import { dispatch } from '../../../runtime/control/dispatch';
import { ObjectType } from '../../../runtime/gsm/layout';
import { rawRequest } from '../../helpers/http';
import { startTestMulticomputer, until, type TestMulticomputer } from '../../helpers/multicomputer';

const endpointOf = (t: TestMulticomputer, node: number) => t.mc.nodes().find((n) => n.id === node)?.endpoints.find((e) => e.app === 'webcache')?.url;

describe('the Web cache in the console: requests counted in GSM, structures decoded by its declared layouts', () => {
  let t: TestMulticomputer;
  let siteDir: string;
  let manifest: SiteManifest;
  const call = <T>(method: string, params: unknown) => dispatch(createControlBackend(t.mc), method, params) as Promise<T>;

  before(async () => {
    siteDir = mkdtempSync(path.join(tmpdir(), 'mcs-site-'));
    manifest = await generateSampleSite(siteDir, { files: 30, largeBytes: 2 * 1024 * 1024, largeFiles: 0 });
    t = await startTestMulticomputer({ nodes: 2, apps: ['webcache'], gsmMb: 4, heartbeatTimeoutMs: 2000, appConfig: { webcache: { mode: 'global', site: siteDir, cacheMb: 1 } } });
    await until('both nodes serve', () => !!endpointOf(t, 0) && !!endpointOf(t, 1), 30_000);
  });
  after(async () => {
    await t?.stop();
    rmSync(siteDir, { recursive: true, force: true });
  });

  it("each node's requests are its server's count, read from its register in GSM", async () => {
    const nodes = async () => (await call<{ id: number; requests?: number }[]>('nodes', {})).map((n) => n.requests);
    const [r0, r1] = await nodes();
    assert.equal(typeof r0, 'number');
    const port = (n: number) => Number(new URL(endpointOf(t, n)!).port);
    for (let i = 0; i < 7; i++) assert.equal((await rawRequest(port(0), '/index.html')).status, 200);
    for (let i = 0; i < 3; i++) await rawRequest(port(1), '/no/such/file');
    assert.deepEqual(await nodes(), [r0! + 7, r1! + 3], 'every request is counted on the node that served it, 404s too');
  });

  it("decodeSection lists the file entries of a node's cache area and the hash table chains that lead to them", async () => {
    const files = manifest.files.filter((f) => f.size < 64 * 1024).slice(0, 8);
    const port = Number(new URL(endpointOf(t, 0)!).port);
    for (const f of files) assert.equal((await rawRequest(port, `/${f.path}`)).status, 200);

    const area = await call<DecodedSection>('decodeSection', { target: 'webcache.area.0' });
    assert.deepEqual(area.problems, []);
    assert.deepEqual(area.layout, { title: 'Web cache: file entries (cache area)', app: 'webcache' });
    const field = (r: DecodedSection['records'][number], name: string) => r.fields.find((f) => f.name === name)?.value;
    const keys = area.records.map((r) => JSON.parse(field(r, 'key')!) as string);
    for (const f of files) assert.ok(keys.includes(f.path), `${f.path} is an entry of node 0's area (entries: ${keys.join(', ')})`);
    for (const r of area.records) {
      assert.equal(r.struct, 'file entry');
      assert.equal(r.problem, null);
      assert.equal(field(r, 'magic'), '0x57434531');
      assert.equal(field(r, 'owner node'), '0');
    }
    const sizeOf = (key: string) => Number(field(area.records[keys.indexOf(key)]!, 'dataLength'));
    for (const f of files) assert.equal(sizeOf(f.path), f.size, `${f.path}: dataLength is the file's size`);

    const master = t.mc.namespace.list(ObjectType.Section).find((s) => s.name.startsWith('webcache.master.'))!;
    const table = await call<DecodedSection>('decodeSection', { target: master.id, limit: 500 });
    assert.equal(table.layout?.title, 'Web cache: hash table (master area)');
    const [header, ...rest] = table.records;
    assert.equal(header!.struct, 'table');
    assert.deepEqual(rest.filter((r) => r.struct === 'member cache area').map((r) => r.index), [0, 1]);
    // Every entry of node 0's area is on some chain: a chain head or another entry's next.
    const areaBase = t.mc.namespace.resolve('webcache.area.0', ObjectType.Section).dataOffset;
    const pointers = new Set([...rest.filter((r) => r.struct === 'chain').map((r) => field(r, 'head')), ...area.records.map((r) => field(r, 'next'))]);
    for (const r of area.records) assert.ok(pointers.has(`0x${(areaBase + r.offset).toString(16)}`), `entry at ${r.offset} is linked`);
  });
});
