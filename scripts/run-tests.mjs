// Runs every test/**/*.test.ts file with Node's own test runner (through tsx),
// then the renderer's component and store tests (test/renderer/**/*.spec.ts)
// with Vitest in happy-dom. `npm test -- <substring>` runs the matching files of
// either kind. Files run one at a time: many of them start real multicomputers
// (several OS processes each) and the CI machine has two cores.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filter = process.argv.slice(2);

function walk(dir, suffix) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full, suffix) : name.endsWith(suffix) ? [full] : [];
  });
}

const matching = (files) => files.filter((f) => filter.length === 0 || filter.some((p) => f.includes(p))).sort();
const nodeFiles = matching(walk(path.join(root, 'test'), '.test.ts'));
const specFiles = matching(walk(path.join(root, 'test/renderer'), '.spec.ts'));
if (nodeFiles.length === 0 && specFiles.length === 0) {
  console.error('no test files matched', filter.join(' '));
  process.exit(1);
}
const env = { ...process.env, MCS_TEST: '1' };
let status = 0;
if (nodeFiles.length > 0) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...nodeFiles],
    { cwd: root, stdio: 'inherit', env },
  );
  status = result.status ?? 1;
}
if (specFiles.length > 0) {
  const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
  const result = spawnSync(process.execPath, [vitest, 'run', ...specFiles.map((f) => path.relative(root, f))], { cwd: root, stdio: 'inherit', env });
  if (status === 0) status = result.status ?? 1;
}
process.exit(status);
