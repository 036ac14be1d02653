// The typed client: one function per method, params checked before they leave,
// results checked when they arrive, subscriptions over one WebSocket, and plain
// errors when nothing is running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlError, type ControlClient, type LogRow, type StatusUpdate } from '../../runtime/control/api';
import { createRemoteClient } from '../../runtime/control/api/remote';
import { connectControl } from '../../runtime/control/client';
import { subscribeStatusFeed } from '../../runtime/control/status-feed';
import { FixtureBackend } from './fixture-backend';
import { startHarness, tempDir, until, type Harness } from './helpers';

const isControlError = (code: string, message: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ControlError, `expected a ControlError, got ${String(e)}`);
  assert.equal(e.code, code);
  assert.match(e.message, message);
  return true;
};

describe('control client against a running server', () => {
  let h: Harness;
  let client: ControlClient;
  before(async () => {
    h = await startHarness();
    client = await connectControl({ stateDir: h.stateDir });
  });
  after(async () => {
    client.close();
    await h.close();
  });

  test('finds the server through control.json and calls methods with typed results', async () => {
    const status = await client.status();
    assert.equal(status.name, 'default');
    assert.equal(status.supervisorPid, process.pid);
    const nodes = await client.nodes();
    assert.deepEqual(
      nodes.map((n) => n.state),
      ['up', 'up', 'up', 'failed'],
    );
    const bytes = await client.readSection({ target: 'webcache:buckets', offset: 0, length: 5 });
    assert.equal(Buffer.from(bytes.base64, 'base64').toString(), 'Hello');
    const page = await client.log({ filter: { kinds: ['node.*'] }, limit: 2 });
    assert.deepEqual(
      page.rows.map((r) => r.kind),
      ['node.joined', 'node.joined'],
    );
  });

  test('backend errors arrive as ControlError with their code', async () => {
    await assert.rejects(client.killNode({ node: 9 }), isControlError('not-found', /^no node 9$/));
  });

  test('bad params fail in the client, naming the field, before anything is sent', async () => {
    const calls = h.backend.calls.length;
    // @ts-expect-error: the type system rejects it too; the check must hold for untyped callers
    await assert.rejects(client.killNode({ node: '1' }), isControlError('bad-request', /^killNode: params\.node/));
    await assert.rejects(client.readSection({ target: 'x', length: 2 * 1024 * 1024 }), isControlError('bad-request', /params\.length/));
    assert.equal(h.backend.calls.length, calls);
  });

  test('a status subscription delivers a snapshot, then changes', async () => {
    const updates: StatusUpdate[] = [];
    const unsubscribe = client.subscribeStatus((u) => updates.push(u));
    await until('the first snapshot', () => updates.length > 0);
    const generation = updates[updates.length - 1]!.status.generation;
    h.backend.killNode({ node: 1 });
    await until('the change', () => updates.some((u) => u.status.generation > generation));
    unsubscribe();
    await until('the server to drop the subscription', () => h.backend.statusSubscribers === 0);
  });

  test('a log subscription reports when it is live, then delivers matching rows', async () => {
    const rows: LogRow[] = [];
    let ready = false;
    const unsubscribe = client.subscribeLog({ kinds: ['recovery.*'] }, (r) => rows.push(...r), { onReady: () => (ready = true) });
    await until('the subscription to be live', () => ready);
    h.backend.appendLog('node.joined', 0);
    const row = h.backend.appendLog('recovery.started', 2, { component: 'webcache' });
    await until('the row', () => rows.length > 0);
    assert.deepEqual(rows, [row]);
    unsubscribe();
  });

  test('a bad log filter is refused at once', () => {
    assert.throws(() => client.subscribeLog({ kinds: ['no spaces'] }, () => {}), isControlError('bad-request', /filter\.kinds\.0/));
  });
});

describe('control client: results are checked on arrival', () => {
  const fakeFetch = (result: unknown, seen: string[] = []) =>
    (async (url: string | URL | Request) => {
      seen.push(String(url));
      return new Response(JSON.stringify({ ok: true, result }), { status: 200, headers: { 'Content-Type': 'application/json' } });
    }) as typeof fetch;

  test('a result that breaks the schema is an internal error naming the field', async () => {
    const client = createRemoteClient({ url: 'http://127.0.0.1:1', token: 't', fetch: fakeFetch([{ id: 0, state: 'dancing' }]) });
    await assert.rejects(client.nodes(), isControlError('internal', /returned an invalid result for nodes: result\.0\.state/));
  });

  test('params are checked before fetch is called', async () => {
    const seen: string[] = [];
    const client = createRemoteClient({ url: 'http://127.0.0.1:1', token: 't', fetch: fakeFetch({}, seen) });
    await assert.rejects(client.failMemory({ node: 1, offset: 0 } as never), isControlError('bad-request', /params\.offset/));
    assert.deepEqual(seen, []);
  });
});

describe('control client: when nothing is running', () => {
  test('no control.json: "no multicomputer is running"', async () => {
    const tmp = tempDir();
    try {
      const stateDir = path.join(tmp.dir, 'default');
      await assert.rejects(
        connectControl({ stateDir }),
        isControlError('unavailable', new RegExp(`^no multicomputer is running \\(no ${stateDir}/control\\.json\\)$`)),
      );
    } finally {
      tmp.remove();
    }
  });

  test('a control.json left by a process that has exited is reported as such', async () => {
    const tmp = tempDir();
    try {
      const stateDir = path.join(tmp.dir, 'default');
      mkdirSync(stateDir);
      const pid = Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
      writeFileSync(path.join(stateDir, 'control.json'), JSON.stringify({ url: 'http://127.0.0.1:9', token: 'b'.repeat(64), pid, startedAtMs: 0 }));
      await assert.rejects(connectControl({ stateDir }), isControlError('unavailable', new RegExp(`left by pid ${pid}, which has exited`)));
    } finally {
      tmp.remove();
    }
  });

  test('connection refused: "the multicomputer at URL is not answering", for calls and subscriptions', async () => {
    // A port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}`;
    const client = await connectControl({ url, token: 'c'.repeat(64) });
    await assert.rejects(client.status(), isControlError('unavailable', new RegExp(`^the multicomputer at ${url} is not answering$`)));
    const error = await new Promise<ControlError>((resolve) => client.subscribeStatus(() => {}, { onError: resolve }));
    assert.match(error.message, /is not answering/);
    client.close();
  });

  test('a server that goes away ends subscriptions with an error', async () => {
    const h = await startHarness();
    const client = await connectControl({ stateDir: h.stateDir });
    let ready = false;
    const error = new Promise<ControlError>((resolve) => client.subscribeLog({}, () => {}, { onError: resolve, onReady: () => (ready = true) }));
    await until('the subscription', () => ready);
    await h.close();
    assert.match((await error).message, /lost the connection/);
    client.close();
  });
});

describe('status feed', () => {
  test('a burst of changes is coalesced, and the newest state is the one pushed', async () => {
    const backend = new FixtureBackend();
    const pushes: StatusUpdate[] = [];
    const unsubscribe = subscribeStatusFeed(backend, (u) => pushes.push(u), undefined, { minIntervalMs: 50, maxIntervalMs: 60_000 });
    await until('the snapshot', () => pushes.length === 1);
    for (let i = 0; i < 100; i++) {
      backend.generation++;
      backend.pushStatus();
    }
    await until('the coalesced push', () => pushes.some((p) => p.status.generation === backend.generation));
    assert.ok(pushes.length <= 3, `100 changes in one tick gave ${pushes.length} pushes`);
    assert.equal(pushes[pushes.length - 1]!.status.generation, backend.generation);
    unsubscribe();
    assert.equal(backend.statusSubscribers, 0);
  });

  test('a change of state is pushed at once, not a coalescing window later', async () => {
    const backend = new FixtureBackend();
    const pushes: StatusUpdate[] = [];
    const unsubscribe = subscribeStatusFeed(backend, (u) => pushes.push(u), undefined, { minIntervalMs: 60_000, maxIntervalMs: 60_000, urgentIntervalMs: 20 });
    await until('the snapshot', () => pushes.length === 1);
    backend.pushStatus(); // nothing an operator watches changed: waits for the window
    backend.generation++;
    backend.pushStatus();
    await until('the new generation, inside a 60 s window', () => pushes.some((p) => p.status.generation === backend.generation));
    assert.equal(pushes.length, 2, 'the unchanged update was not pushed on its own');
    // A second change right after the first (a node fenced, then seen failed) is not held for the window either.
    backend.generation++;
    backend.pushStatus();
    await until('the second change, inside the same window', () => pushes.some((p) => p.status.generation === backend.generation));
    unsubscribe();
  });

  test('with no change, it still pushes (heartbeat ages keep moving)', async () => {
    const backend = new FixtureBackend();
    const pushes: StatusUpdate[] = [];
    const unsubscribe = subscribeStatusFeed(backend, (u) => pushes.push(u), undefined, { minIntervalMs: 1, maxIntervalMs: 20 });
    await until('three pushes without any change', () => pushes.length >= 3);
    unsubscribe();
  });
});
