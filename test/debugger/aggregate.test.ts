import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateOutput, groupBy, parallelStacks, renderGroups, renderStacks } from '../../runtime/debugger/aggregate';
import type { ThreadKey } from '../../runtime/debugger/sets';

const t = (node: number, thread: number): ThreadKey => ({ node, thread });
/** 3 nodes of 2 threads each. */
const live = [t(0, 1), t(0, 2), t(1, 1), t(1, 2), t(2, 1), t(2, 2)];

describe('aggregated results', () => {
  it('merges threads with equal values under one set header, ordered by first thread', () => {
    const groups = groupBy(
      [
        { thread: t(0, 1), value: '42' },
        { thread: t(2, 1), value: '42' },
        { thread: t(1, 2), value: '17' },
        { thread: t(0, 2), value: '42' },
      ],
      live,
      (v) => v,
    );
    assert.deepEqual(
      groups.map((g) => [g.set, g.value]),
      [
        ['[0.*, 2.1]', '42'],
        ['[1.2]', '17'],
      ],
    );
    assert.equal(renderGroups(groups), '[0.*, 2.1]  42\n[1.2]       17');
  });

  it('collapses the k-th identical line of each thread into one, keeping first-appearance order', () => {
    let seq = 0;
    const line = (th: ThreadKey, text: string) => ({ seq: ++seq, thread: th, text });
    const lines = [
      line(t(0, 1), 'start'),
      line(t(1, 1), 'start'),
      line(t(0, 1), 'tick'),
      line(t(1, 1), 'tick'),
      line(t(2, 1), 'start'),
      line(t(0, 1), 'tick'),
      line(t(1, 1), 'oops'),
    ];
    const out = aggregateOutput(lines, live);
    assert.deepEqual(
      out.map((g) => `${g.set} ${g.value}`),
      ['[0.1, 1.1, 2.1] start', '[0.1, 1.1] tick', '[0.1] tick', '[1.1] oops'],
    );
  });

  it('merges stacks into a call tree with the threads of each frame (parallel stacks)', () => {
    // innermost frame first, as V8 reports them
    const stack = (...fns: string[]) => fns.map((fn, i) => ({ fn, file: 'app.ts', line: 10 + i }));
    const roots = parallelStacks(
      [
        { thread: t(0, 1), frames: stack('rebuildChain', 'recover', 'main') },
        { thread: t(1, 1), frames: stack('rebuildChain', 'recover', 'main') },
        { thread: t(2, 1), frames: [{ fn: 'rebuildChain', file: 'app.ts', line: 99 }, ...stack('recover', 'main').map((f) => ({ ...f, line: f.line + 1 }))] },
        { thread: t(0, 2), frames: stack('serve', 'main') },
      ],
      live,
    );
    assert.equal(roots.length, 1);
    const main = roots[0]!;
    assert.equal(main.threads.length, 4);
    assert.deepEqual(
      main.children.map((c) => [c.label, c.set]),
      [
        ['recover (app.ts:11)', '[0.1, 1.1, 2.1]'],
        ['serve (app.ts:10)', '[0.2]'],
      ],
    );
    const rebuild = main.children[0]!.children[0]!;
    assert.equal(rebuild.label, 'rebuildChain (app.ts)', 'threads at different lines of one function share its node');
    assert.equal(rebuild.threads.length, 3);
    const text = renderStacks(roots);
    assert.match(text, /^@1 \[0\.\*, 1\.1, 2\.1\] \(4\) main \(app\.ts\)\n/);
    assert.match(text, /\n    @3 \[0\.1, 1\.1, 2\.1\] \(3\) rebuildChain \(app\.ts\)/);
  });
});
