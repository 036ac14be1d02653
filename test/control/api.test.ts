// The console API's schemas: a bad request is rejected before any backend sees
// it, with a message that names the bad field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  logCursorOf,
  ControlError,
  MAX_READ_BYTES,
  methodNames,
  methods,
  parseObjectRef,
  parseParams,
  parseResult,
  type LogRow,
} from '../../runtime/control/api';
import { matchesLogFilter } from '../../runtime/control/api/log-filter';
import { cursorOf } from '../../runtime/log/query';
import { parseClientMessage } from '../../runtime/control/api/protocol';

function rejects(method: Parameters<typeof parseParams>[0], params: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseParams(method, params),
    (e: unknown) => {
      assert.ok(e instanceof ControlError, 'a ControlError');
      assert.equal(e.code, 'bad-request');
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('console API schemas', () => {
  test('every method has params and result schemas and a destructive flag', () => {
    for (const name of methodNames) {
      const m = methods[name];
      assert.equal(typeof m.params.safeParse, 'function', name);
      assert.equal(typeof m.result.safeParse, 'function', name);
      assert.equal(typeof m.destructive, 'boolean', name);
    }
    for (const name of ['killNode', 'stopNode', 'restartNode', 'failMemory', 'releaseMutex', 'signalEvent', 'resetEvent', 'triggerRecovery', 'shutdown'] as const) {
      assert.equal(methods[name].destructive, true, `${name} is destructive`);
    }
    for (const name of ['status', 'nodes', 'mutexes', 'readSection', 'log', 'addNode', 'contNode'] as const) {
      assert.equal(methods[name].destructive, false, `${name} is not destructive`);
    }
  });

  test('a node that is not a non-negative integer is rejected, naming params.node', () => {
    rejects('killNode', { node: '2' }, /killNode: params\.node: expected a node number/);
    rejects('killNode', { node: -1 }, /params\.node/);
    rejects('killNode', { node: 1.5 }, /params\.node/);
    rejects('killNode', {}, /params\.node/);
    assert.deepEqual(parseParams('killNode', { node: 2 }), { node: 2 });
  });

  test('unknown fields are rejected rather than ignored (a typo must not become a no-op)', () => {
    rejects('killNode', { node: 1, force: true }, /Unrecognized key.*force/);
    rejects('status', { verbose: true }, /verbose/);
  });

  test('methods without params accept nothing, or {}', () => {
    assert.deepEqual(parseParams('status', undefined), {});
    assert.deepEqual(parseParams('status', {}), {});
  });

  test('object targets must be a name or a slot.generation id', () => {
    rejects('releaseMutex', { target: '9lives' }, /params\.target: expected an object name .* or an id like "12\.3"/);
    rejects('releaseMutex', { target: 'a'.repeat(48) }, /params\.target/);
    rejects('releaseMutex', { target: 'bad name' }, /params\.target/);
    assert.deepEqual(parseParams('releaseMutex', { target: 'a'.repeat(47) }), { target: 'a'.repeat(47) });
    assert.deepEqual(parseParams('releaseMutex', { target: 'webcache:chain/12-a.b_c' }), { target: 'webcache:chain/12-a.b_c' });
    assert.deepEqual(parseParams('signalEvent', { target: '12.3' }), { target: '12.3' });
    assert.deepEqual(parseObjectRef('12.3'), { id: '12.3' });
    assert.deepEqual(parseObjectRef('a12.3'), { name: 'a12.3' });
  });

  test('readSection is bounded to 1 MiB per call', () => {
    rejects('readSection', { target: 's', length: MAX_READ_BYTES + 1 }, /params\.length: length is at most 1048576/);
    rejects('readSection', { target: 's', offset: -4 }, /params\.offset/);
    assert.deepEqual(parseParams('readSection', { target: 's', length: MAX_READ_BYTES }), { target: 's', length: MAX_READ_BYTES });
  });

  test('log requests: limit at most 1000, one cursor direction, valid kinds', () => {
    rejects('log', { filter: {}, limit: 1001 }, /params\.limit: limit is at most 1000/);
    rejects('log', { filter: {}, limit: 0 }, /params\.limit/);
    rejects('log', { filter: {}, limit: 10, after: '1', before: '9' }, /params\.before: give at most one of after, before and fromStart/);
    rejects('log', { filter: {}, limit: 10, after: '1', fromStart: true }, /params\.before: give at most one of after, before and fromStart/);
    rejects('log', { filter: {}, limit: 10, fromStart: false }, /params\.fromStart/);
    assert.ok(parseParams('log', { filter: {}, limit: 10, fromStart: true }));
    rejects('log', { filter: { kinds: ['node failed'] }, limit: 10 }, /params\.filter\.kinds\.0/);
    rejects('log', { filter: { nodes: ['1'] }, limit: 10 }, /params\.filter\.nodes\.0/);
    rejects('log', { limit: 10 }, /params\.filter/);
    assert.ok(parseParams('log', { filter: { kinds: ['node.*', 'mutex.abandoned'], nodes: [1, 2], sinceMs: 5 }, limit: 1000 }));
  });

  test('failMemory takes either a node or an offset and length, not both', () => {
    assert.deepEqual(parseParams('failMemory', { node: 2 }), { node: 2 });
    assert.deepEqual(parseParams('failMemory', { offset: 4096, length: 64 }), { offset: 4096, length: 64 });
    rejects('failMemory', { node: 2, offset: 0 }, /params\.offset: give either node, or offset and length/);
    rejects('failMemory', { offset: 4096 }, /params\.length: required/);
    rejects('failMemory', {}, /params\.offset: required/);
    rejects('failMemory', { offset: 0, length: 0 }, /params\.length: length must be >= 1/);
  });

  test('results are validated too: a backend bug is reported as internal, naming the field', () => {
    assert.throws(
      () => parseResult('addNode', { node: 'x' }),
      (e: unknown) => e instanceof ControlError && e.code === 'internal' && /result\.node/.test(e.message),
    );
    assert.deepEqual(parseResult('addNode', { node: 4 }), { node: 4 });
  });

  test('hwlock values are decimal u64 strings (JSON numbers lose precision above 2^53)', () => {
    const lock = { id: '1.1', name: 'l', ownerNode: 0, value: '18446744073709551615', held: false };
    assert.deepEqual(parseResult('hwlocks', [lock]), [lock]);
    assert.throws(() => parseResult('hwlocks', [{ ...lock, value: 2 ** 60 }]), /result\.0\.value/);
  });
});

describe('log filter', () => {
  const row = (over: Partial<LogRow>): LogRow => ({
    id: 1,
    node: 1,
    incarnation: 1,
    seq: 1,
    clusterTimeNs: 0,
    wallTimeMs: 1000,
    kind: 'mutex.abandoned',
    object: '12.3',
    details: { holder: 'node 2' },
    ...over,
  });

  test('kinds match exactly, or by prefix when ending in *', () => {
    assert.ok(matchesLogFilter(row({}), { kinds: ['mutex.abandoned'] }));
    assert.ok(matchesLogFilter(row({}), { kinds: ['node.*', 'mutex.*'] }));
    assert.ok(!matchesLogFilter(row({}), { kinds: ['mutex.aband'] }));
    assert.ok(matchesLogFilter(row({}), { kinds: ['*'] }));
  });

  test('time range is [since, until); nodes, object and text narrow it', () => {
    assert.ok(matchesLogFilter(row({}), { sinceMs: 1000, untilMs: 1001 }));
    assert.ok(!matchesLogFilter(row({}), { untilMs: 1000 }));
    assert.ok(!matchesLogFilter(row({}), { nodes: [0, 2] }));
    assert.ok(matchesLogFilter(row({}), { object: '12.3' }));
    assert.ok(!matchesLogFilter(row({}), { object: '12.4' }));
    assert.ok(matchesLogFilter(row({}), { text: 'NODE 2' }));
    assert.ok(!matchesLogFilter(row({}), { text: 'node 3' }));
  });
});

describe('WebSocket message parsing', () => {
  test('recognises calls, subscriptions and auth, and names the bad field otherwise', () => {
    assert.deepEqual(parseClientMessage('{"id":1,"method":"status"}'), { ok: true, value: { kind: 'call', msg: { id: 1, method: 'status' } } });
    assert.equal((parseClientMessage('{"subscribe":"log","filter":{"kinds":["node.*"]}}') as { ok: true }).ok, true);
    const bad = parseClientMessage('{"id":7,"subscribe":"logs"}');
    assert.equal(bad.ok, false);
    assert.match((bad as { message: string }).message, /message\.subscribe/);
    assert.equal((bad as { id: unknown }).id, 7);
    assert.deepEqual(parseClientMessage('nope'), { ok: false, message: 'message is not valid JSON', id: null });
    assert.match((parseClientMessage('{"hello":1}') as { message: string }).message, /expected \{id, method, params\}/);
    assert.match((parseClientMessage('{"id":1,"method":"status","extra":1}') as { message: string }).message, /extra/);
  });
});

describe('log cursors', () => {
  test("a client names any row's position with the cursor the event log itself makes", () => {
    for (const id of [0, 1, 35, 36, 123456789]) assert.equal(logCursorOf(id), cursorOf({ id }));
  });
});
