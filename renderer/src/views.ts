// The console's views, in navigation order. Each names the paper's object it
// shows (BRIEF §1, "The console"). router.ts maps each id to its component.

export type ViewId =
  | 'overview'
  | 'nodes'
  | 'sections'
  | 'mutexes'
  | 'events'
  | 'hwlocks'
  | 'mailboxes'
  | 'components'
  | 'log'
  | 'faults'
  | 'terminal'
  | 'debugger';

export interface ConsoleView {
  id: ViewId;
  label: string;
  /** One sentence: what the operator or developer finds here. */
  summary: string;
  /** Alt+key jumps to the view. */
  key: string;
}

export const VIEWS: readonly ConsoleView[] = [
  { id: 'overview', label: 'Overview', key: '1', summary: 'Membership, health and the multicomputer over the last minutes.' },
  { id: 'nodes', label: 'Nodes', key: '2', summary: 'Every computing node and the global shared memory it houses.' },
  { id: 'sections', label: 'Sections', key: '3', summary: 'Global shared-memory sections: who created them, who maps them, what they hold.' },
  { id: 'mutexes', label: 'Mutexes', key: '4', summary: 'Who holds each global mutex, who waits, and which were abandoned by a dead holder.' },
  { id: 'events', label: 'Events', key: '5', summary: 'Global events: their mode, state and waiters.' },
  { id: 'hwlocks', label: 'Hardware locks', key: '6', summary: 'Hardware locks: atomic registers in GSM.' },
  { id: 'mailboxes', label: 'Mailboxes', key: '7', summary: 'Small inter-node messages queued in GSM.' },
  { id: 'components', label: 'Components', key: '8', summary: 'Recoverable components: members, master and recovery.' },
  { id: 'log', label: 'Event log', key: '9', summary: 'Every join, failure, recovery, abandonment and operator action.' },
  { id: 'faults', label: 'Faults', key: '0', summary: 'Inject the faults the multicomputer is built to survive.' },
  { id: 'terminal', label: 'Terminal', key: 't', summary: 'A shell with the mcs command on its PATH.' },
  { id: 'debugger', label: 'Debugger', key: 'd', summary: 'The distributed debugger: thread sets across many node processes.' },
];

export const DEFAULT_VIEW: ViewId = 'overview';

/** '#/mutexes' → 'mutexes'; anything unknown → the default view. */
export function viewFromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return VIEWS.find((v) => v.id === id)?.id ?? DEFAULT_VIEW;
}
