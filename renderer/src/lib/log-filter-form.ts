// What an operator types into the event log's filter bar, and the LogFilter the
// API takes. Pure functions: the log store and its tests share them.
import { KindPattern, SUPERVISOR_NODE, type LogFilter } from '../../../runtime/control/api';

export interface LogFilterForm {
  /** Comma-separated node numbers; "sup" or -1 for the supervisor and operator rows. */
  nodes: string;
  /** Comma-separated kinds: "node" means node and node.*, "mutex.a*" a prefix, "node.failed" exact. */
  kinds: string;
  object: string;
  text: string;
  /** Wall-clock range; null ends are open. */
  sinceMs: number | null;
  untilMs: number | null;
}

export const EMPTY_FORM: LogFilterForm = { nodes: '', kinds: '', object: '', text: '', sinceMs: null, untilMs: null };

const split = (s: string) =>
  s
    .split(/[,\s]+/)
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

/**
 * Kind patterns as a user means them: a bare family name ("node") matches the
 * family's kinds ("node.failed", "node.up") as well as itself.
 */
export function kindPatterns(input: string): string[] {
  const out: string[] = [];
  for (const term of split(input)) {
    if (term.endsWith('*') || term.includes('.')) out.push(term);
    else out.push(term, `${term}.*`);
  }
  return out;
}

export function nodeNumbers(input: string): number[] {
  return split(input).map((t) => (/^(sup|supervisor|operator)$/i.test(t) ? SUPERVISOR_NODE : Number(t)));
}

export interface FormProblem {
  field: keyof LogFilterForm;
  message: string;
}

/** The API filter for a form, or the first problem in it (named by field, as the API would). */
export function toLogFilter(form: LogFilterForm): { filter: LogFilter } | { problem: FormProblem } {
  const filter: LogFilter = {};
  const nodes = nodeNumbers(form.nodes);
  if (nodes.some((n) => !Number.isInteger(n) || n < SUPERVISOR_NODE || n > 65535)) {
    return { problem: { field: 'nodes', message: 'nodes: numbers from 0, or "sup" for the supervisor' } };
  }
  if (nodes.length > 0) filter.nodes = nodes;
  const kinds = kindPatterns(form.kinds);
  const bad = kinds.find((k) => !KindPattern.safeParse(k).success);
  if (bad !== undefined) return { problem: { field: 'kinds', message: `kind: "${bad}" is not a kind like node.failed or node.*` } };
  if (kinds.length > 0) filter.kinds = kinds;
  if (form.object.trim() !== '') filter.object = form.object.trim();
  if (form.text !== '') filter.text = form.text.slice(0, 200);
  if (form.sinceMs !== null) filter.sinceMs = form.sinceMs;
  if (form.untilMs !== null) filter.untilMs = form.untilMs;
  return { filter };
}
