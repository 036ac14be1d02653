// npm run chaos -- --faults N --seed S [--json] [--nodes K] [--mode MODE]
// Prints one line per fault (JSON lines with --json), then the totals; the last
// line in JSON mode is {"faults":N,"violations":V,"checks":{...},...}. Exit code 1
// if any invariant was violated.
import { parseArgs } from 'node:util';
import { CACHE_MODES } from '../runtime/apps/webcache/config';
import type { CacheMode } from '../runtime/apps/webcache/cache-api';
import { runCampaign, type FaultRecord } from './chaos/campaign';

function fail(msg: string): never {
  console.error(`chaos: ${msg}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      faults: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      nodes: { type: 'string', default: '4' },
      mode: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}
const int = (v: string, what: string, min: number, max: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${what} must be an integer ${min}..${max}`);
  return n;
};
const faults = int(values.faults, 'faults', 1, 100_000);
const seed = int(values.seed, 'seed', 0, 2 ** 31);
const nodes = int(values.nodes, 'nodes', 3, 16);
if (values.mode !== undefined && !(CACHE_MODES as readonly string[]).includes(values.mode)) fail(`--mode: one of ${CACHE_MODES.join(', ')}`);
const json = values.json;

const print = (f: FaultRecord) => {
  if (json) return console.log(JSON.stringify(f));
  const v = Object.entries(f.violations).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`fault ${String(f.fault).padStart(4)}  ${f.kind.padEnd(20)} nodes ${f.nodes.join(',') || '-'}${f.substituted ? ` (${f.substituted})` : ''}  ${v ? `VIOLATIONS: ${v}` : 'ok'}`);
  for (const d of f.details.filter((x) => /^\w+: /.test(x))) console.log(`             ${d}`);
};

const report = await runCampaign({ faults, seed, nodes, mode: values.mode as CacheMode | undefined }, print);
if (json) console.log(JSON.stringify(report));
else {
  console.log(`\n${report.faults} faults (seed ${report.seed}, mode ${report.mode}) in ${report.durationS.toFixed(0)} s: ${report.violations} violations`);
  console.log(`checks: ${Object.entries(report.checks).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(`requests: ${report.requests} (${report.ok} verified byte-identical, ${report.failedRequests} failed cleanly)`);
  for (const u of report.unavailable) console.log(`not available: ${u}`);
}
process.exit(report.violations ? 1 : 0);
