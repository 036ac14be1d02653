import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateSampleSite, type SiteManifest } from '../../../runtime/apps/webcache/sample-site';
import { rawRequest } from '../../helpers/http';
import { startTestMulticomputer, until, type TestMulticomputer } from '../../helpers/multicomputer';

const endpointOf = (t: TestMulticomputer, node: number) => t.mc.nodes().find((n) => n.id === node)?.endpoints.find((e) => e.app === 'webcache')?.url;
const portOf = (url: string) => Number(new URL(url).port);

describe('the webcache app on a multicomputer', () => {
  let t: TestMulticomputer;
  let siteDir: string;
  let manifest: SiteManifest;
  before(async () => {
    siteDir = mkdtempSync(path.join(tmpdir(), 'mcs-site-'));
    manifest = await generateSampleSite(siteDir, { files: 40, largeBytes: 2 * 1024 * 1024, largeFiles: 1 });
    t = await startTestMulticomputer({
      nodes: 2,
      apps: ['webcache'],
      gsmMb: 2,
      heartbeatTimeoutMs: 2000,
      appConfig: { webcache: { mode: 'shared-nothing', site: siteDir, cacheMb: 1 } },
    });
  });
  after(async () => {
    await t?.stop();
    rmSync(siteDir, { recursive: true, force: true });
  });

  it('runs a Web server on every node, each published as the node endpoint, serving the same bytes', async () => {
    await until('both nodes publish an endpoint', () => !!endpointOf(t, 0) && !!endpointOf(t, 1));
    const urls = [endpointOf(t, 0)!, endpointOf(t, 1)!];
    assert.notEqual(urls[0], urls[1]);
    for (const f of manifest.files.slice(0, 6)) {
      const want = readFileSync(path.join(siteDir, f.path));
      for (const url of urls) {
        const r = await rawRequest(portOf(url), '/' + f.path);
        assert.equal(r.status, 200, f.path);
        assert.deepEqual(r.body, want, `${f.path} from ${url}`);
      }
    }
    const large = manifest.files.find((f) => f.path.startsWith('large/'))!;
    assert.ok(large.size > 2 * 1024 * 1024, 'the large file is bigger than a GSM contribution');
    const r = await rawRequest(portOf(urls[1]!), '/' + large.path);
    assert.equal(r.headers['x-cache'], 'bypass');
    assert.deepEqual(r.body, readFileSync(path.join(siteDir, large.path)));
  });

  it('a restarted node publishes its new server and the old endpoint is gone with the old incarnation', async () => {
    const before = endpointOf(t, 1)!;
    await t.mc.restartNode(1);
    await until('node 1 publishes again', () => !!endpointOf(t, 1));
    const after = endpointOf(t, 1)!;
    const r = await rawRequest(portOf(after), '/index.html');
    assert.equal(r.status, 200);
    if (after !== before) await assert.rejects(rawRequest(portOf(before), '/index.html', { timeoutMs: 2000 }));
    // A killed node publishes nothing.
    await t.mc.killNode(1);
    assert.deepEqual(t.mc.nodes().find((n) => n.id === 1)!.endpoints, []);
  });

  it('a node given an invalid config logs app.error naming the field, and publishes no endpoint', async () => {
    const bad = await startTestMulticomputer({
      nodes: 1,
      apps: ['webcache'],
      heartbeatTimeoutMs: 2000,
      appConfig: { webcache: { mode: 'sideways', site: 'relative/dir', cacheMb: 1 } },
    });
    try {
      await until('the app reports its error', () => [...bad.mc.query.iterate({ kinds: ['app.error'] })].length > 0);
      const row = [...bad.mc.query.iterate({ kinds: ['app.error'] })][0]!;
      assert.match(row.details, /mode/);
      assert.match(row.details, /site/);
      assert.deepEqual(bad.mc.nodes()[0]!.endpoints, []);
    } finally {
      await bad.stop();
    }
  });
});
