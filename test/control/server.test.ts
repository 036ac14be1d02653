// The headless control server over an in-memory backend: authentication, request
// validation, the HTTP and WebSocket transports, subscriptions, the connection
// file, loopback-only binding and the static console.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlError } from '../../runtime/control/api';
import { startControlServer } from '../../runtime/control/server';
import { FixtureBackend } from './fixture-backend';
import { Socket, startHarness, tempDir, until, type Harness } from './helpers';

async function post(h: Harness, method: string, body: unknown, token: string | null = h.server.token) {
  const res = await fetch(`${h.server.url}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { ok: boolean; result?: unknown; error?: { code: string; message: string } } };
}

/** A raw request, for what fetch will not send (odd paths, Host headers, chunked bodies). */
function raw(
  url: string,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) {
      if (opts.chunked) {
        const b = Buffer.from(opts.body);
        for (let i = 0; i < b.length; i += 4096) req.write(b.subarray(i, i + 4096));
      } else req.write(opts.body);
    }
    req.end();
  });
}

describe('control server over HTTP', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  test('GET /api/health answers {ok:true} without a token, and nothing else', async () => {
    const res = await fetch(`${h.server.url}/api/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });

  test('a call without the bearer token, or with a wrong one, is 401 and reaches no backend', async () => {
    const calls = h.backend.calls.length;
    const none = await post(h, 'killNode', { node: 1 }, null);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(none.body, { ok: false, error: { code: 'unauthorized', message: 'missing or wrong bearer token (see control.json)' } });
    const wrong = await post(h, 'killNode', { node: 1 }, 'f'.repeat(64));
    assert.equal(wrong.status, 401);
    const short = await post(h, 'killNode', { node: 1 }, 'x');
    assert.equal(short.status, 401);
    assert.equal(h.backend.calls.length, calls);
  });

  test('an unknown method is 404', async () => {
    const r = await post(h, 'formatDisk', {});
    assert.equal(r.status, 404);
    assert.equal(r.body.error?.code, 'not-found');
    assert.match(r.body.error!.message, /unknown method 'formatDisk'/);
  });

  test('bad params are 400 with a message naming the field, and change nothing', async () => {
    const calls = h.backend.calls.length;
    const r = await post(h, 'killNode', { node: 'two' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.code, 'bad-request');
    assert.match(r.body.error!.message, /^killNode: params\.node: expected a node number/);
    const extra = await post(h, 'killNode', { node: 1, now: true });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error!.message, /now/);
    const notJson = await post(h, 'killNode', '{node: 1');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error!.message, /not valid JSON/);
    assert.equal(h.backend.calls.length, calls, 'the backend saw none of them');
    assert.equal(h.backend.nodeList[1]!.state, 'up');
  });

  test('a valid call answers {ok:true, result} with the validated result', async () => {
    const r = await post(h, 'nodes', {});
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, true);
    assert.deepEqual(r.body.result, h.backend.nodeList);
    const empty = await fetch(`${h.server.url}/api/status`, { method: 'POST', headers: { Authorization: `Bearer ${h.server.token}` } });
    assert.equal(empty.status, 200, 'an empty body means no params');
    assert.equal(((await empty.json()) as { result: { name: string } }).result.name, 'default');
  });

  test('waitGraph is derived from mutexes when the backend has no waitGraph of its own', async () => {
    const r = await post(h, 'waitGraph', {});
    const graph = r.body.result as { edges: unknown[]; cycles: { mutex: string }[][] };
    assert.equal(graph.edges.length, 4);
    assert.deepEqual(
      graph.cycles.map((c) => c.map((e) => e.mutex)),
      [['2.1', '3.1', '1.1']],
    );
  });

  test('backend errors keep their code: not-found is 404, conflict 409', async () => {
    const missing = await post(h, 'killNode', { node: 42 });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body.error, { code: 'not-found', message: 'no node 42' });
    const free = await post(h, 'releaseMutex', { target: 'idle' });
    assert.equal(free.status, 409);
  });

  test('a backend result that breaks the schema is a 500 naming the field, not bad data on the wire', async () => {
    h.backend.corruptNodes = true;
    try {
      const r = await post(h, 'nodes', {});
      assert.equal(r.status, 500);
      assert.equal(r.body.error?.code, 'internal');
      assert.match(r.body.error!.message, /the backend returned an invalid result for nodes: result\.0\.state/);
    } finally {
      h.backend.corruptNodes = false;
    }
  });

  test('GET on a method is 405', async () => {
    const res = await fetch(`${h.server.url}/api/status`, { headers: { Authorization: `Bearer ${h.server.token}` } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });

  test('bodies over the limit are refused with 413, declared or streamed', async () => {
    const calls = h.backend.calls.length;
    const big = JSON.stringify({ node: 1, pad: 'x'.repeat(1024 * 1024 + 10) });
    const r = await post(h, 'killNode', big);
    assert.equal(r.status, 413);
    assert.match(r.body.error!.message, /exceeds 1048576 bytes/);
    const streamed = await raw(h.server.url, {
      method: 'POST',
      path: '/api/killNode',
      headers: { Authorization: `Bearer ${h.server.token}`, 'Transfer-Encoding': 'chunked' },
      body: big,
      chunked: true,
    });
    assert.equal(streamed.status, 413);
    assert.equal(h.backend.calls.length, calls);
  });

  test('a request whose Host is not loopback (DNS rebinding) is refused', async () => {
    const r = await raw(h.server.url, { path: '/api/health', headers: { Host: 'evil.example' } });
    assert.equal(r.status, 400);
  });

  test('paths outside /api are 404 when no static directory is served', async () => {
    const r = await raw(h.server.url, { path: '/index.html' });
    assert.equal(r.status, 404);
  });
});

describe('control server over WebSocket', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());
  const wsUrl = (query = '') => `${h.server.url.replace('http', 'ws')}/ws${query}`;
  /** A socket that carries the token in its upgrade's Authorization header, as the CLI may. */
  const bearerSocket = () => new Socket(wsUrl(), { headers: { Authorization: `Bearer ${h.server.token}` } });

  test('calls on a socket opened with the bearer token answer {id, ok, result}', async () => {
    const s = bearerSocket();
    await s.opened;
    s.send({ id: 1, method: 'status', params: {} });
    const r = await s.next<{ id: number; ok: boolean; result: { generation: number } }>((m) => m.id === 1);
    assert.equal(r.ok, true);
    assert.equal(r.result.generation, h.backend.generation);
    s.close();
  });

  test('the token may come as the first message instead', async () => {
    const s = new Socket(wsUrl());
    await s.opened;
    s.send({ token: h.server.token });
    assert.deepEqual(await s.next(), { id: null, ok: true, result: { authenticated: true } });
    s.send({ id: 'a', method: 'mutexes' });
    const r = await s.next<{ id: string; result: unknown[] }>((m) => m.id === 'a');
    assert.equal(r.result.length, 5);
    s.close();
  });

  test('a token in the URL is refused at the upgrade (400), the right one too: it would outlive the request in logs and history', async () => {
    for (const query of [`?token=${h.server.token}`, '?token=nope', `?x=1&token=${h.server.token}`]) {
      await assert.rejects(new Socket(wsUrl(query)).opened, /400/, query);
    }
    // Even with a valid Authorization header beside it: the URL alone decides.
    const both = new Socket(wsUrl(`?token=${h.server.token}`), { headers: { Authorization: `Bearer ${h.server.token}` } });
    await assert.rejects(both.opened, /400/);
  });

  test('a first message that is not the right token closes the socket (4401), and reaches no backend', async () => {
    const calls = h.backend.calls.length;
    for (const first of [{ token: 'wrong' }, { id: 1, method: 'killNode', params: { node: 1 } }]) {
      const s = new Socket(wsUrl());
      await s.opened;
      s.send(first);
      const r = await s.next<{ ok: boolean; error: { code: string } }>();
      assert.equal(r.ok, false);
      assert.equal(r.error.code, 'unauthorized');
      assert.equal(await s.closed, 4401);
    }
    assert.equal(h.backend.calls.length, calls);
  });

  test('every message is validated: bad ones get an error naming the field and the socket stays usable', async () => {
    const s = bearerSocket();
    await s.opened;
    s.send('not json');
    assert.match((await s.next<{ error: { message: string } }>()).error.message, /not valid JSON/);
    s.send({ id: 2, method: 'killNode', params: { node: -3 } });
    const bad = await s.next<{ id: number; error: { code: string; message: string } }>();
    assert.equal(bad.id, 2);
    assert.equal(bad.error.code, 'bad-request');
    assert.match(bad.error.message, /params\.node/);
    s.send({ id: 3, subscribe: 'everything' });
    assert.match((await s.next<{ id: number; error: { message: string } }>()).error.message, /message\.subscribe/);
    s.send({ id: 4, method: 'nope' });
    assert.equal((await s.next<{ error: { code: string } }>()).error.code, 'not-found');
    s.send({ id: 5, method: 'nodes' });
    assert.equal((await s.next<{ id: number; ok: boolean }>()).ok, true);
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.match((await s.next<{ error: { message: string } }>()).error.message, /binary/);
    assert.equal(h.backend.calledWith('killNode').length, 0);
    s.close();
  });

  test('a status subscription gets a snapshot at once, then a push when the multicomputer changes', async () => {
    const s = bearerSocket();
    await s.opened;
    s.send({ id: 'st', subscribe: 'status' });
    assert.deepEqual(await s.next((m) => m.id === 'st'), { id: 'st', ok: true, result: { subscription: 'st' } });
    type Push = { subscription: string; status: { status: { generation: number }; nodes: { id: number; state: string }[] } };
    const first = await s.next<Push>((m) => m.subscription === 'st');
    const generation = first.status.status.generation;
    h.backend.killNode({ node: 2 });
    const changed = await s.next<Push>((m) => m.subscription === 'st' && (m as Push).status.status.generation > generation);
    assert.equal(changed.status.nodes.find((n) => n.id === 2)?.state, 'failed');
    s.send({ unsubscribe: 'st' });
    await until('the backend listener to be removed', () => h.backend.statusSubscribers === 0);
    s.close();
  });

  test('a log subscription pushes only new rows that match its filter', async () => {
    const s = bearerSocket();
    await s.opened;
    s.send({ id: 7, subscribe: 'log', filter: { kinds: ['node.*'], nodes: [1] } });
    await s.next((m) => m.id === 7 && m.ok === true);
    h.backend.appendLog('mutex.locked', 1);
    h.backend.appendLog('node.failed', 2);
    const wanted = h.backend.appendLog('node.failed', 1, { cause: 'heartbeat' });
    const push = await s.next<{ subscription: number; rows: { id: number; kind: string }[] }>((m) => m.subscription === 7);
    assert.deepEqual(push.rows, [wanted]);
    s.close();
    await until('closing the socket to unsubscribe', () => h.backend.logSubscribers === 0);
  });

  test('a status subscription does not take a filter; a duplicate subscription id is a conflict', async () => {
    const s = bearerSocket();
    await s.opened;
    s.send({ id: 1, subscribe: 'status', filter: {} });
    assert.match((await s.next<{ error: { message: string } }>()).error.message, /only log subscriptions take a filter/);
    s.send({ id: 2, subscribe: 'log' });
    await s.next((m) => m.id === 2 && m.ok === true);
    s.send({ id: 2, subscribe: 'log' });
    assert.equal((await s.next<{ id: number; error: { code: string } }>((m) => m.id === 2)).error.code, 'conflict');
    s.close();
  });
});

describe('control server: connection file and binding', () => {
  test('control.json holds url, token, pid and start time, mode 0600 in a 0700 directory, and goes away on close', async () => {
    const h = await startHarness();
    try {
      const file = path.join(h.stateDir, 'control.json');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(h.stateDir).mode & 0o777, 0o700);
      const info = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(info.url, h.server.url);
      assert.equal(info.token, h.server.token);
      assert.match(info.token, /^[0-9a-f]{64}$/);
      assert.equal(info.pid, process.pid);
      assert.equal(typeof info.startedAtMs, 'number');
      assert.match(h.server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      await h.server.close();
      assert.equal(existsSync(file), false);
    } finally {
      await h.close();
    }
  });

  test('each server gets its own random token', async () => {
    const a = await startHarness();
    const b = await startHarness();
    try {
      assert.notEqual(a.server.token, b.server.token);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('refuses to listen on anything but a loopback address', async () => {
    const tmp = tempDir();
    try {
      for (const host of ['0.0.0.0', '::', '192.168.1.10', 'localhost', 'example.com']) {
        await assert.rejects(
          startControlServer(new FixtureBackend(), { stateDir: path.join(tmp.dir, 'x'), host }),
          (e: unknown) => e instanceof ControlError && /binds loopback addresses only/.test(e.message),
          host,
        );
      }
      assert.equal(existsSync(path.join(tmp.dir, 'x', 'control.json')), false);
    } finally {
      tmp.remove();
    }
  });

  test('refuses to start over the control.json of another live supervisor; replaces a dead one', async () => {
    const tmp = tempDir();
    const stateDir = path.join(tmp.dir, 'default');
    mkdirSync(stateDir, { recursive: true });
    const file = path.join(stateDir, 'control.json');
    const write = (pid: number) =>
      writeFileSync(file, JSON.stringify({ url: 'http://127.0.0.1:1', token: 'a'.repeat(64), pid, startedAtMs: 0 }));
    try {
      write(process.ppid);
      await assert.rejects(startControlServer(new FixtureBackend(), { stateDir }), /already running .*pid/);
      const exited = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
      write(Number(exited.stdout.trim()));
      const s = await startControlServer(new FixtureBackend(), { stateDir });
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).token, s.token);
      await s.close();
    } finally {
      tmp.remove();
    }
  });
});

describe('control server: static console', () => {
  let h: Harness;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    tmp = tempDir();
    const www = path.join(tmp.dir, 'www');
    mkdirSync(path.join(www, 'assets'), { recursive: true });
    writeFileSync(path.join(www, 'index.html'), '<!doctype html><title>MCS</title>');
    writeFileSync(path.join(www, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(path.join(tmp.dir, 'secret.txt'), 'token');
    symlinkSync(path.join(tmp.dir, 'secret.txt'), path.join(www, 'leak.txt'));
    h = await startHarness({ staticDir: www });
  });
  after(async () => {
    await h.close();
    tmp.remove();
  });

  test('serves the renderer at /, its assets with their types, and client-side routes as index.html', async () => {
    const index = await raw(h.server.url, { path: '/' });
    assert.equal(index.status, 200);
    assert.match(index.text, /<title>MCS/);
    assert.match(String(index.headers['content-type']), /text\/html/);
    const js = await raw(h.server.url, { path: '/assets/app.js' });
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.equal((await raw(h.server.url, { path: '/mutexes' })).status, 200);
    assert.equal((await raw(h.server.url, { path: '/assets/missing.js' })).status, 404);
  });

  test('never serves a file outside the directory: dot-dot in any spelling, or a symlink out', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%5csecret.txt', '/leak.txt', '/%00']) {
      const r = await raw(h.server.url, { path: p });
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.text, /token/, p);
    }
  });

  test('the API stays behind the token when static files are served', async () => {
    assert.equal((await raw(h.server.url, { method: 'POST', path: '/api/status' })).status, 401);
  });
});
