// `mcs mutexes --waits`: who waits for whom, and deadlocks reported the way a
// Java thread dump does ("Found one deadlock:"), because that is the report
// developers already know how to read.
import type { ThreadRef, WaitGraph } from '../control/api';

export function threadLabel(t: ThreadRef): string {
  return `"node ${t.node} pid ${t.pid} tid ${t.tid}"`;
}

const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

export function waitsReport(graph: WaitGraph): string {
  const out: string[] = [];
  if (graph.edges.length === 0) {
    out.push('No thread is waiting for a held mutex.');
  } else {
    out.push('Waits:');
    for (const e of graph.edges) {
      out.push(`  ${threadLabel(e.waiter)} waits for mutex ${e.mutex} (${e.mutexName}), held by ${threadLabel(e.holder)}`);
    }
  }
  out.push('');
  for (const cycle of graph.cycles) {
    out.push('Found one deadlock:');
    out.push('=============================');
    for (const e of cycle) {
      out.push(`${threadLabel(e.waiter)}: waiting to lock mutex ${e.mutex} (${e.mutexName}), which is held by ${threadLabel(e.holder)}`);
    }
    out.push('');
  }
  const n = graph.cycles.length;
  out.push(n === 0 ? 'No deadlocks found.' : `Found ${NUMBER_WORDS[n] ?? n} deadlock${n === 1 ? '' : 's'}.`);
  return out.join('\n') + '\n';
}
