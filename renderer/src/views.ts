// The console's views, in navigation order. Each names the paper's object it
// shows (BRIEF §1, "The console"); the views themselves come with the console API.

export type ViewId = 'nodes' | 'sections' | 'mutexes' | 'events' | 'log' | 'terminal' | 'debugger';

export interface ConsoleView {
  id: ViewId;
  label: string;
  /** One sentence: what the operator or developer finds here. */
  summary: string;
  /** What the view will show and let you do, as planned. */
  planned: string[];
}

export const VIEWS: readonly ConsoleView[] = [
  {
    id: 'nodes',
    label: 'Nodes',
    summary: 'Every computing node of the multicomputer and the global shared memory it houses.',
    planned: [
      'State, heartbeat age and membership generation of each node',
      'GSM contributed and used per node; failed memory after a crash',
      'Kill, restart or add a node (confirmed and logged)',
    ],
  },
  {
    id: 'sections',
    label: 'Sections',
    summary: 'Global shared-memory sections: who created them, who maps them, what they hold.',
    planned: [
      'Owner node, size, generation-tagged id and the nodes mapping each section',
      'Contents as hex and as decoded structures',
      'Fail a memory region to exercise the memory-failure model',
    ],
  },
  {
    id: 'mutexes',
    label: 'Mutexes',
    summary: 'Global mutexes: who holds them, who waits, and which were abandoned by a dead holder.',
    planned: [
      'Holder node, process and thread; waiters; hold times; abandon count',
      'The wait-for graph across nodes, with deadlock cycles highlighted',
      'Force-release a wedged mutex (confirmed and logged)',
    ],
  },
  {
    id: 'events',
    label: 'Events',
    summary: 'Global events and the threads waiting on them across nodes.',
    planned: [
      'State, last signaller and waiters of each global event',
      'Signal an event or trigger recovery by hand',
    ],
  },
  {
    id: 'log',
    label: 'Log',
    summary: 'The event log: every join, failure, recovery, abandonment and operator action.',
    planned: [
      'Filter by node, kind and time; live tail',
      'Recovery start and end with durations',
      'Export for offline analysis',
    ],
  },
  {
    id: 'terminal',
    label: 'Terminal',
    summary: 'A shell with the mcs command on its PATH.',
    planned: [],
  },
  {
    id: 'debugger',
    label: 'Debugger',
    summary: 'The distributed debugger: thread sets across many node processes.',
    planned: [
      'Breakpoints broadcast to a set of threads on every node',
      'All-stop and set stepping, merged stack views, values compared across threads',
      'Aggregated thread output and a heartbeat-safe freeze',
    ],
  },
];

export const DEFAULT_VIEW: ViewId = 'nodes';

/** '#/mutexes' → 'mutexes'; anything unknown → the default view. */
export function viewFromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '');
  return VIEWS.find((v) => v.id === id)?.id ?? DEFAULT_VIEW;
}
