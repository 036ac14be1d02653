// Routes: one per view, in the URL fragment (#/mutexes) so a reload or a link
// lands on the same view, and so that in Electron a view change is not a
// navigation the main process's fence would stop. Views load on first visit.
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import { DEFAULT_VIEW, VIEWS, type ViewId } from './views';

const components: Record<ViewId, () => Promise<unknown>> = {
  overview: () => import('./views/OverviewView.vue'),
  nodes: () => import('./views/NodesView.vue'),
  sections: () => import('./views/SectionsView.vue'),
  mutexes: () => import('./views/MutexesView.vue'),
  events: () => import('./views/EventsView.vue'),
  hwlocks: () => import('./views/HwLocksView.vue'),
  mailboxes: () => import('./views/MailboxesView.vue'),
  components: () => import('./views/ComponentsView.vue'),
  log: () => import('./views/LogView.vue'),
  faults: () => import('./views/FaultsView.vue'),
  terminal: () => import('./views/TerminalView.vue'),
  debugger: () => import('./views/DebuggerView.vue'),
};

export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: `/${DEFAULT_VIEW}` },
  ...VIEWS.map((v) => ({ path: `/${v.id}`, name: v.id, component: components[v.id], meta: { view: v } })),
  { path: '/:unknown(.*)*', redirect: `/${DEFAULT_VIEW}` },
];

export function createConsoleRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
