// npm run bench -- <suite...> [--json] [--quick]
// Prints a readable table, or with --json one JSON object per line:
// {"suite","metric","unit","value","baseline","ratio"}.
import type { Metric, Suite } from './metric';

const suites: Record<string, () => Promise<{ default: Suite }>> = {
  mutex: () => import('./suites/mutex'),
  gsm: () => import('./suites/gsm'),
  detect: () => import('./suites/detect'),
  log: () => import('./suites/log'),
  webcache: () => import('./suites/webcache'),
  recovery: () => import('./suites/recovery'),
  console: () => import('./suites/console'),
  debugger: () => import('./suites/debugger'),
};

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const unknownFlag = args.find((a) => a.startsWith('-') && a !== '--json' && a !== '--quick');
if (unknownFlag) fail(`unknown flag ${unknownFlag} (only --json and --quick are accepted)`);
const names = args.filter((a) => !a.startsWith('-'));
const chosen = names.length ? names : Object.keys(suites);
for (const name of chosen) if (!suites[name]) fail(`unknown suite "${name}"; suites: ${Object.keys(suites).join(', ')}`);

function fail(msg: string): never {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

const fmt = (v: number | null, digits = 2) =>
  v === null || Number.isNaN(v) ? '-' : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits);

function print(m: Metric) {
  if (json) {
    const { suite, metric, unit, value, baseline, ratio, note } = m;
    // The note says under what conditions (sizes, maxima, load average): a figure needs it to be read.
    console.log(JSON.stringify({ suite, metric, unit, value, baseline, ratio, ...(note ? { note } : {}) }));
  } else {
    console.log(
      [m.suite.padEnd(7), m.metric.padEnd(22), fmt(m.value).padStart(12), m.unit.padEnd(6),
        `baseline ${fmt(m.baseline)}`.padEnd(20), `ratio ${fmt(m.ratio, 3)}`.padEnd(14), m.note ?? ''].join(' '),
    );
  }
}

if (!json) console.log(['suite'.padEnd(7), 'metric'.padEnd(22), 'value'.padStart(12), 'unit'.padEnd(6), 'baseline'.padEnd(20), 'ratio'].join(' '));
for (const name of chosen) {
  const mod = await suites[name]();
  await mod.default(print, { quick });
}
process.exit(0);
