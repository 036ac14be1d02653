// How a browser signs in to the headless console (runtime/control/browser-login.ts
// behind runtime/control/server.ts): a one-time code printed by `mcs console` buys
// an HttpOnly, SameSite=Strict session cookie; the code works once and only until
// it expires; the cookie authorizes the API and the WebSocket only from the
// console's own origin; the token never appears in what a browser receives.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cookieValue, createBrowserLogins } from '../../runtime/control/browser-login';
import { terminalSockets } from '../../runtime/control/terminal';
import { Socket, startHarness, tempDir, type Harness } from './helpers';

/** GET without following redirects (fetch would follow the 303 and drop Set-Cookie). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      })
      .on('error', reject);
  });
}

async function signIn(h: Harness): Promise<string> {
  const r = await get(h.server.loginUrl());
  assert.equal(r.status, 303);
  const session = cookieValue(String(r.headers['set-cookie']?.[0]).split(';')[0], 'mcs_session');
  assert.ok(session);
  return session;
}

function postStatus(h: Harness, headers: Record<string, string>) {
  return fetch(`${h.server.url}/api/status`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: '{}' });
}

describe('browser sign-in to the headless console', () => {
  let h: Harness;
  let renderer: ReturnType<typeof tempDir>;
  before(async () => {
    renderer = tempDir('mcs-renderer-');
    mkdirSync(renderer.dir, { recursive: true });
    writeFileSync(path.join(renderer.dir, 'index.html'), '<!doctype html><title>console</title>');
    h = await startHarness({
      staticDir: renderer.dir,
      sockets: terminalSockets({ mcsHome: renderer.dir, cluster: 'logintest', shell: '/bin/sh' }),
    });
  });
  after(async () => {
    await h.close();
    renderer.remove();
  });

  test('the login URL is /login?once=<code>, a fresh code each time, never containing the token', () => {
    const a = new URL(h.server.loginUrl());
    const b = new URL(h.server.loginUrl());
    assert.equal(a.origin, h.server.url);
    assert.equal(a.pathname, '/login');
    assert.match(a.searchParams.get('once')!, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.searchParams.get('once'), b.searchParams.get('once'));
    assert.ok(!a.href.includes(h.server.token));
  });

  test('a code signs in once: 303 to / with an HttpOnly SameSite=Strict cookie that is not the token', async () => {
    const url = h.server.loginUrl();
    const first = await get(url);
    assert.equal(first.status, 303);
    assert.equal(first.headers.location, '/');
    assert.equal(first.headers['referrer-policy'], 'no-referrer');
    assert.equal(first.headers['cache-control'], 'no-store');
    const cookie = first.headers['set-cookie']?.[0] ?? '';
    assert.match(cookie, /^mcs_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.ok(!cookie.includes(h.server.token));
    assert.ok(!first.text.includes(h.server.token));

    const again = await get(url);
    assert.equal(again.status, 403);
    assert.equal(again.headers['set-cookie'], undefined);
    assert.match(again.text, /used already or has expired/);
    assert.ok(!again.text.includes(h.server.token));
  });

  test('an unknown, empty or missing code signs nobody in', async () => {
    for (const q of ['?once=nope', '?once=', '']) {
      const r = await get(`${h.server.url}/login${q}`);
      assert.equal(r.status, 403, q);
      assert.equal(r.headers['set-cookie'], undefined);
    }
  });

  test('a code expires: redeemed after its time it signs nobody in, and is spent anyway', () => {
    let now = 1_000;
    const logins = createBrowserLogins(60_000, () => now);
    const late = logins.issueCode();
    now += 60_000;
    assert.equal(logins.redeem(late), null);
    now -= 60_000;
    assert.equal(logins.redeem(late), null, 'an expired code was kept for another try');
    const fresh = logins.issueCode();
    now += 59_999;
    const session = logins.redeem(fresh);
    assert.ok(session);
    assert.equal(logins.isSession(`a=b; mcs_session=${session}`), true);
    assert.equal(logins.isSession(`mcs_session=${session}x`), false);
    assert.equal(logins.isSession(undefined), false);
  });

  test('an expired code is refused by the server too', async () => {
    const short = await startHarness({ loginCodeTtlMs: 1 }, 'short');
    try {
      const url = short.server.loginUrl();
      await new Promise((r) => setTimeout(r, 20));
      assert.equal((await get(url)).status, 403);
    } finally {
      await short.close();
    }
  });

  test('the cookie authorizes API calls from the console origin only', async () => {
    const session = await signIn(h);
    const cookie = `mcs_session=${session}`;
    const own = await postStatus(h, { Cookie: cookie, Origin: h.server.url });
    assert.equal(own.status, 200);
    assert.equal(((await own.json()) as { ok: boolean }).ok, true);
    // Browsers always send Origin on a POST: a cookie without one is not a browser of ours.
    assert.equal((await postStatus(h, { Cookie: cookie })).status, 401);
    assert.equal((await postStatus(h, { Cookie: cookie, Origin: 'http://evil.example' })).status, 401);
    assert.equal((await postStatus(h, { Cookie: 'mcs_session=forged', Origin: h.server.url })).status, 401);
    assert.equal((await postStatus(h, { Origin: h.server.url })).status, 401);
    // The token keeps working for the CLI, with or without a cookie.
    assert.equal((await postStatus(h, { Authorization: `Bearer ${h.server.token}` })).status, 200);
  });

  test('the WebSocket takes the cookie from the console origin, and refuses any foreign Origin', async () => {
    const session = await signIn(h);
    const wsUrl = `${h.server.url.replace('http', 'ws')}/ws`;
    const ok = new Socket(wsUrl, { headers: { Cookie: `mcs_session=${session}`, Origin: h.server.url } });
    await ok.opened;
    ok.send({ id: 1, method: 'status' });
    const answer = await ok.next<{ id: number; ok: boolean }>((m) => m.id === 1);
    assert.equal(answer.ok, true, 'a cookie-signed socket needs no token message');
    ok.close();

    const foreign = new Socket(wsUrl, { headers: { Cookie: `mcs_session=${session}`, Origin: 'http://evil.example' } });
    await assert.rejects(foreign.opened, /403/);
    const foreignWithToken = new Socket(`${wsUrl}?token=${h.server.token}`, { headers: { Origin: 'http://evil.example' } });
    await assert.rejects(foreignWithToken.opened, /403/);

    // Without a cookie the socket must still authenticate by its first message.
    const anonymous = new Socket(wsUrl, { headers: { Origin: h.server.url } });
    await anonymous.opened;
    anonymous.send({ id: 2, method: 'status' });
    assert.equal(await anonymous.closed, 4401);
  });

  test('the terminal socket opens only for a signed-in browser of the console origin, or the token', async () => {
    const ptyUrl = `${h.server.url.replace('http', 'ws')}/pty`;
    const session = await signIn(h);
    await assert.rejects(new Socket(ptyUrl, { headers: { Origin: h.server.url } }).opened, /401/);
    await assert.rejects(new Socket(ptyUrl, { headers: { Cookie: `mcs_session=${session}`, Origin: 'http://evil.example' } }).opened, /403/);
    await assert.rejects(new Socket(`${ptyUrl}?token=${h.server.token}`).opened, /401/, 'the terminal takes no token in its URL');
    const signedIn: Record<string, string>[] = [{ Cookie: `mcs_session=${session}`, Origin: h.server.url }, { Authorization: `Bearer ${h.server.token}` }];
    for (const headers of signedIn) {
      const pty = new Socket(ptyUrl, { headers });
      await pty.opened;
      assert.equal((await pty.next<{ type: string }>()).type, 'ready');
      pty.send({ type: 'input', data: 'exit\r' });
      assert.equal(await pty.closed, 1000);
    }
  });

  test('the console page is served without the token in it', async () => {
    const r = await get(`${h.server.url}/`);
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes(h.server.token));
  });
});
