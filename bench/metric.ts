// The benchmark record every suite reports (issue #2 §7): value and baseline are
// measured in the same run on the same machine, so the ratio is what we judge.
export interface Metric {
  suite: string;
  metric: string;
  unit: string;
  value: number;
  baseline: number | null;
  ratio: number | null;
  /** Free-form context for the table (heartbeat period, sample count...), not in the JSON line. */
  note?: string;
}

export function metric(
  suite: string,
  name: string,
  unit: string,
  value: number,
  baseline: number | null = null,
  note?: string,
): Metric {
  const ratio = baseline === null || baseline === 0 ? null : value / baseline;
  return { suite, metric: name, unit, value, baseline, ratio, note };
}

export interface SuiteOptions {
  /** --quick: shorter runs of the long parts, for development (figures are not the ones to quote). */
  quick: boolean;
}

export type Suite = (report: (m: Metric) => void, options: SuiteOptions) => Promise<void>;

/** Sorted copy and the q-quantile (0..1) of it, nearest-rank. */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}
