// Components: the object table (sort, search, keyboard), the confirmation every
// destructive action passes, and the live status store.
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import type { NodeInfo, StatusUpdate } from '../../runtime/control/api';
import { setClient } from '../../renderer/src/api/connect';
import ConfirmDialog from '../../renderer/src/components/ConfirmDialog.vue';
import DataTable from '../../renderer/src/components/DataTable.vue';
import { useActionsStore } from '../../renderer/src/stores/actions';
import { HISTORY_SAMPLES, clusterHealth, useClusterStore } from '../../renderer/src/stores/cluster';
import { fakeClient } from './fake-client';

const flush = () => new Promise((r) => setTimeout(r, 0));

interface Item {
  id: number;
  name: string;
  size: number;
}
const items: Item[] = [
  { id: 1, name: 'beta', size: 30 },
  { id: 2, name: 'alpha', size: 10 },
  { id: 3, name: 'gamma', size: 20 },
];
const columns = [
  { key: 'name', label: 'Name', value: (r: Item) => r.name },
  { key: 'size', label: 'Size', value: (r: Item) => r.size, numeric: true },
];

function table() {
  return mount(DataTable, { props: { rows: items, columns, rowKey: (r: Item) => r.id, label: 'Things' } as never });
}
const names = (w: ReturnType<typeof table>) => w.findAll('.body [role="row"]').map((r) => r.find('[role="cell"]').text());

describe('DataTable', () => {
  // happy-dom lays nothing out: give the scroller a screenful so the virtual list renders rows.
  beforeEach(() => {
    vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(600);
    vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(800);
  });
  it('sorts by a column, ascending then descending then unsorted', async () => {
    const w = table();
    expect(names(w)).toEqual(['beta', 'alpha', 'gamma']);
    const sizeHeader = w.findAll('[role="columnheader"] button')[1]!;
    await sizeHeader.trigger('click');
    expect(names(w)).toEqual(['alpha', 'gamma', 'beta']);
    expect(w.findAll('[role="columnheader"]')[1]!.attributes('aria-sort')).toBe('ascending');
    await sizeHeader.trigger('click');
    expect(names(w)).toEqual(['beta', 'gamma', 'alpha']);
    await sizeHeader.trigger('click');
    expect(names(w)).toEqual(['beta', 'alpha', 'gamma']);
  });

  it('searches every column and says how many rows match', async () => {
    const w = table();
    await w.find('input[type="search"]').setValue('gam');
    expect(names(w)).toEqual(['gamma']);
    expect(w.find('[data-testid="row-count"]').text()).toBe('1 of 3');
    await w.find('input[type="search"]').setValue('nothing like it');
    expect(w.text()).toContain('No row matches the search.');
  });

  it('moves the selection with the keyboard and opens a row with Enter', async () => {
    const w = table();
    const grid = w.find('[role="table"]');
    await grid.trigger('keydown', { key: 'ArrowDown' });
    await grid.trigger('keydown', { key: 'ArrowDown' });
    expect(w.emitted('select')!.at(-1)).toEqual([items[1]]);
    await grid.trigger('keydown', { key: 'End' });
    await grid.trigger('keydown', { key: 'Enter' });
    expect(w.emitted('activate')).toEqual([[items[2]]]);
    expect(w.find('[aria-selected="true"]').text()).toContain('gamma');
  });
});

describe('destructive actions', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('a destructive method runs only after the operator confirms', async () => {
    const f = fakeClient();
    setClient(f.client);
    const actions = useActionsStore();
    const w = mount(ConfirmDialog, { attachTo: document.body });
    const done = actions.run('killNode', { node: 2 }, { title: 'Kill node 2', message: 'SIGKILL' });
    await nextTick();
    expect(w.text()).toContain('Kill node 2');
    expect(w.text()).toContain('killNode');
    expect(f.calls.some((c) => c.method === 'killNode')).toBe(false);
    await w.find('[data-testid="confirm-ok"]').trigger('click');
    await done;
    expect(f.calls.filter((c) => c.method === 'killNode')).toEqual([{ method: 'killNode', params: { node: 2 } }]);
    w.unmount();
  });

  it('declining, or Escape, calls nothing', async () => {
    const f = fakeClient();
    setClient(f.client);
    const actions = useActionsStore();
    const w = mount(ConfirmDialog, { attachTo: document.body });
    const done = actions.run('stopNode', { node: 1 }, { title: 'Stop node 1', message: '' });
    await nextTick();
    await w.find('.backdrop').trigger('keydown', { key: 'Escape' });
    expect(await done).toBeNull();
    expect(f.calls).toEqual([]);
    w.unmount();
  });

  it('a typed confirmation stays locked until the exact name is typed', async () => {
    const f = fakeClient();
    setClient(f.client);
    const actions = useActionsStore();
    const w = mount(ConfirmDialog, { attachTo: document.body });
    const done = actions.run('releaseMutex', { target: 'dl.a' }, { title: 'Force-release dl.a', message: '', typed: 'dl.a' });
    await nextTick();
    const ok = w.find('[data-testid="confirm-ok"]');
    expect(ok.attributes('disabled')).toBeDefined();
    await w.find('[data-testid="confirm-typed"]').setValue('dl.b');
    expect(ok.attributes('disabled')).toBeDefined();
    await w.find('[data-testid="confirm-typed"]').setValue('dl.a');
    expect(ok.attributes('disabled')).toBeUndefined();
    await ok.trigger('click');
    await done;
    expect(f.calls.map((c) => c.method)).toEqual(['releaseMutex']);
    w.unmount();
  });

  it('a method the API does not mark destructive runs without asking', async () => {
    const f = fakeClient();
    setClient(f.client);
    const actions = useActionsStore();
    await actions.run('contNode', { node: 1 }, { title: 'Continue node 1', message: '' });
    expect(actions.pending).toBeNull();
    expect(f.calls.map((c) => c.method)).toEqual(['contNode']);
  });
});

function node(id: number, state: NodeInfo['state'], hb: number | null = 20): NodeInfo {
  return { id, state, pid: 100 + id, incarnation: 1, heartbeatAgeMs: hb, joinedGeneration: 1, gsmHousedBytes: 1, gsmUsedBytes: 0, contributionFailed: false, apps: [],
    suspicion: hb === null ? null : 0, expectedIntervalMs: 100, deadlineMs: 800, detectorLagMs: 0, restarts: 0, restartGaveUp: false, threads: [] };
}
function update(generation: number, nodes: NodeInfo[]): StatusUpdate {
  return {
    nodes,
    status: {
      name: 't', supervisorPid: 1, startedAtMs: 0, generation, members: nodes.filter((n) => n.state === 'up').map((n) => n.id), nodeCount: nodes.length,
      heartbeatPeriodMs: 100, heartbeatTimeoutMs: 250,
      gsm: { name: 'g', totalBytes: 100, systemBytes: 10, contributionBytes: 45, usedBytes: 5, memoryFailures: 0 },
      objects: { sections: 0, mutexes: 0, events: 0, hwlocks: 0, mailboxes: 0 }, logRows: 0,
      restartPolicy: 'never', detectorLagMs: 0,
    },
  };
}

describe('cluster store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('takes status from the subscription and keeps a bounded history for the charts', async () => {
    const f = fakeClient();
    setClient(f.client);
    const cluster = useClusterStore();
    cluster.start();
    f.pushStatus(update(3, [node(0, 'up'), node(1, 'up')]));
    expect(cluster.status?.generation).toBe(3);
    expect(cluster.health).toBe('ok');
    f.pushStatus(update(4, [node(0, 'up'), node(1, 'failed', null)]));
    expect(cluster.health).toBe('degraded');
    expect(cluster.history.map((s) => s.generation)).toEqual([3, 4]);
    expect(cluster.history[1]!.heartbeatAgeMs.get(1)).toBeNull();
    for (let i = 0; i < HISTORY_SAMPLES + 5; i++) cluster.apply(update(5, [node(0, 'up')]));
    expect(cluster.history).toHaveLength(HISTORY_SAMPLES);
    cluster.stop();
    await flush();
  });

  it('health: no nodes is unknown, none up is down', () => {
    expect(clusterHealth([])).toBe('unknown');
    expect(clusterHealth([node(0, 'failed')])).toBe('down');
    expect(clusterHealth([node(0, 'up'), node(1, 'suspect')])).toBe('degraded');
  });
});
