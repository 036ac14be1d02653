// The event log view's store: newest page first, older pages on demand, the live
// tail appended without loss or duplicates, filters as a user means them, saved
// filters that survive a reload, and exports that page through everything.
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { setClient } from '../../renderer/src/api/connect';
import { FIRST_PAGE_ROWS, PAGE_ROWS, useLogStore } from '../../renderer/src/stores/log';
import { fakeClient, row } from './fake-client';

const flush = () => new Promise((r) => setTimeout(r, 0));

function rows(n: number, kind = (i: number) => (i % 3 === 0 ? 'node.failed' : i % 3 === 1 ? 'mutex.abandoned' : 'app.tick')) {
  return Array.from({ length: n }, (_, i) => row(i + 1, kind(i + 1)));
}

describe('log store', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    window.localStorage.clear();
  });

  it('shows the newest page first and loads older pages before it, in order', async () => {
    const f = fakeClient(rows(2500));
    setClient(f.client);
    const log = useLogStore();
    await log.apply();
    expect(log.count).toBe(FIRST_PAGE_ROWS);
    expect(log.all()[0]!.id).toBe(2500 - FIRST_PAGE_ROWS + 1);
    expect(log.all().at(-1)!.id).toBe(2500);
    expect(await log.loadOlder()).toBe(PAGE_ROWS);
    expect(await log.loadOlder()).toBe(PAGE_ROWS);
    expect(await log.loadOlder()).toBe(2500 - FIRST_PAGE_ROWS - 2 * PAGE_ROWS);
    expect(log.olderCursor).toBeNull();
    expect(await log.loadOlder()).toBe(0);
    expect(log.all().map((r) => r.id)).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
  });

  it('appends the live tail once: rows already on the page are not doubled, rows that do not match are dropped', async () => {
    const f = fakeClient(rows(10));
    setClient(f.client);
    const log = useLogStore();
    log.form.kinds = 'node';
    await log.apply();
    const before = log.all().map((r) => r.id);
    expect(before.every((id) => f.rows[id - 1]!.kind.startsWith('node.'))).toBe(true);
    f.append([row(11, 'node.up'), row(12, 'app.tick'), row(13, 'node.failed')]);
    log._appendTail([row(11, 'node.up')]);
    expect(log.all().map((r) => r.id)).toEqual([...before, 11, 13]);
  });

  it('rows logged while the first page is loading reach the view exactly once', async () => {
    const f = fakeClient(rows(5));
    setClient(f.client);
    const log = useLogStore();
    const applying = log.apply();
    f.append([row(6, 'node.up')]); // pushed before the page answered
    await applying;
    expect(log.all().map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('counts rows the tail brings while paused, and clears the count on resume', async () => {
    const f = fakeClient(rows(3));
    setClient(f.client);
    const log = useLogStore();
    await log.apply();
    log.follow(false);
    f.append([row(4), row(5)]);
    expect(log.unseen).toBe(2);
    expect(log.count).toBe(5);
    log.follow(true);
    expect(log.unseen).toBe(0);
  });

  it('a new filter replaces the old subscription instead of adding one', async () => {
    const f = fakeClient(rows(3));
    setClient(f.client);
    const log = useLogStore();
    await log.apply();
    log.form.text = 'x';
    await log.apply();
    expect(f.logSubscribers()).toBe(1);
    log.stop();
    expect(f.logSubscribers()).toBe(0);
  });

  it('a bad filter is reported by field and queries nothing', async () => {
    const f = fakeClient(rows(3));
    setClient(f.client);
    const log = useLogStore();
    log.form.nodes = 'two';
    await log.apply();
    expect(log.formProblem).toMatch(/^nodes:/);
    expect(f.calls.filter((c) => c.method === 'log')).toHaveLength(0);
  });

  it('exports every matching row, oldest first, as JSON and CSV', async () => {
    const f = fakeClient(rows(2300));
    setClient(f.client);
    const log = useLogStore();
    log.form.kinds = 'node.failed';
    await log.apply();
    const json = await log.exportAll('json');
    const parsed = JSON.parse(json.text) as { id: number; kind: string }[];
    expect(parsed).toHaveLength(Math.floor(2300 / 3));
    expect(parsed.every((r) => r.kind === 'node.failed')).toBe(true);
    expect(parsed.map((r) => r.id)).toEqual([...parsed.map((r) => r.id)].sort((a, b) => a - b));
    const csv = await log.exportAll('csv');
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,node,incarnation,seq,cluster_time_ns,wall_time_ms,wall_time,kind,object,details');
    expect(lines).toHaveLength(parsed.length + 1);
  });

  it('saved filters persist in localStorage and come back in a new session', async () => {
    setClient(fakeClient(rows(3)).client);
    const log = useLogStore();
    log.form.kinds = 'mutex';
    log.form.text = 'abandoned';
    log.saveFilter('abandons');
    setActivePinia(createPinia());
    const again = useLogStore();
    expect(again.saved.map((s) => s.name)).toEqual(['abandons']);
    await again.useSaved('abandons');
    expect(again.applied).toEqual({ kinds: ['mutex', 'mutex.*'], text: 'abandoned' });
  });

  it('context is the rows around an event whatever the filter', async () => {
    const f = fakeClient(rows(50));
    setClient(f.client);
    const log = useLogStore();
    const ctx = await log.context(f.rows[24]!, 3);
    expect(ctx.map((r) => r.id)).toEqual([22, 23, 24, 25, 26, 27, 28]);
    await flush();
  });
});
