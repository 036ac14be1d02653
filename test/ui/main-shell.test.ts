// The Electron shell's policy, checked under plain Node (the Electron binary is
// not available here): which pages count as the console, and that IPC answers
// only the console page, with validated arguments.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { isAppUrl, type AppEntry } from '../../main/app-origin';
import type { AppInfo } from '../../main/bridge-types';
import { CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from '../../main/csp';
import { createHandleChecked, IpcRefused, type InvokeEventLike, type IpcMainLike } from '../../main/ipc';

const built: AppEntry = { kind: 'file', url: 'file:///opt/mcs/out/renderer/index.html' };
const dev: AppEntry = { kind: 'dev-server', url: 'http://127.0.0.1:5173/' };

describe('the console page (main/app-origin.ts)', () => {
  test('a built console is only its own index.html; the view fragment does not matter', () => {
    assert.equal(isAppUrl(built, 'file:///opt/mcs/out/renderer/index.html'), true);
    assert.equal(isAppUrl(built, 'file:///opt/mcs/out/renderer/index.html#/mutexes'), true);
    assert.equal(isAppUrl(built, 'file:///etc/passwd'), false);
    assert.equal(isAppUrl(built, 'file:///opt/mcs/out/renderer/other.html'), false);
    assert.equal(isAppUrl(built, 'https://example.com/'), false);
    assert.equal(isAppUrl(built, 'about:blank'), false);
    assert.equal(isAppUrl(built, 'not a url'), false);
  });

  test('under the dev server, any page of that origin and no other', () => {
    assert.equal(isAppUrl(dev, 'http://127.0.0.1:5173/#/log'), true);
    assert.equal(isAppUrl(dev, 'http://127.0.0.1:5174/'), false);
    assert.equal(isAppUrl(dev, 'http://localhost:5173/'), false);
    assert.equal(isAppUrl(dev, 'data:text/html,hi'), false);
  });
});

/** An ipcMain stand-in that lets a test play the renderer's invoke(). */
function fakeIpcMain() {
  const listeners = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  const ipc: IpcMainLike = {
    handle(channel, listener) {
      assert.ok(!listeners.has(channel), `channel ${channel} registered twice`);
      listeners.set(channel, listener);
    },
  };
  const invoke = async (channel: string, frameUrl: string | null, ...args: unknown[]) => {
    const listener = listeners.get(channel);
    assert.ok(listener, `no handler for ${channel}`);
    const sender = { id: 1, send: () => {}, isDestroyed: () => false, once: () => {} };
    return listener(frameUrl === null ? { senderFrame: null, sender } : { senderFrame: { url: frameUrl }, sender }, ...args);
  };
  return { ipc, invoke };
}

const info: AppInfo = {
  version: '0.1.0',
  electron: '41.10.0',
  chrome: '146',
  node: '24',
  platform: 'linux',
  arch: 'x64',
  packaged: false,
};
const page = 'file:///opt/mcs/out/renderer/index.html#/nodes';

describe('handleChecked (main/ipc.ts)', () => {
  test('answers the console page', async () => {
    const { ipc, invoke } = fakeIpcMain();
    createHandleChecked(ipc, (url) => isAppUrl(built, url))('app:info', z.tuple([]), () => info);
    assert.deepEqual(await invoke('app:info', page), info);
  });

  test('refuses a frame that is not the console page, and one that is gone, without running the handler', async () => {
    const { ipc, invoke } = fakeIpcMain();
    let ran = 0;
    createHandleChecked(ipc, (url) => isAppUrl(built, url))('app:info', z.tuple([]), () => {
      ran++;
      return info;
    });
    await assert.rejects(invoke('app:info', 'https://evil.example/'), IpcRefused);
    await assert.rejects(invoke('app:info', 'file:///tmp/dropped.html'), IpcRefused);
    await assert.rejects(invoke('app:info', null), /no frame/);
    assert.equal(ran, 0);
  });

  test('refuses arguments its schema rejects, without running the handler', async () => {
    const { ipc, invoke } = fakeIpcMain();
    let ran = 0;
    createHandleChecked(ipc, (url) => isAppUrl(built, url))('app:info', z.tuple([]), () => {
      ran++;
      return info;
    });
    await assert.rejects(invoke('app:info', page, { sql: 'drop table log' }), /invalid arguments/);
    assert.equal(ran, 0);
  });
});

describe('Content-Security-Policy (main/csp.ts)', () => {
  test('allows only the app itself and loopback connections; no eval, no inline code', () => {
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'", 'ws://127.0.0.1:*', 'http://127.0.0.1:*']);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|unsafe-inline/);
    // No wildcard source and no host but loopback, in any directive.
    for (const [name, values] of directives) {
      for (const source of values) {
        assert.ok(
          /^'(self|none)'$|^data:$|^(ws|http):\/\/127\.0\.0\.1:\*$/.test(source),
          `${name} allows ${source}`,
        );
      }
    }
  });

  test('the dev-server relaxation touches styles only', () => {
    assert.notEqual(DEV_CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    assert.doesNotMatch(DEV_CONTENT_SECURITY_POLICY, /unsafe-eval|script-src[^;]*unsafe-inline/);
  });
});
