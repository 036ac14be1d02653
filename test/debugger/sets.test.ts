import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SetSyntaxError, describeSet, evaluateSet, formatSet, keyOf, parseSet, splitSetPrefix, type SetScope, type ThreadSet } from '../../runtime/debugger/sets';

/** 4 nodes: node 0 has 3 threads, node 1 has 5, node 2 has 1, node 3 has 2; 1.2 and 3.1 are stopped. */
function scope(named: [string, ThreadSet][] = []): SetScope {
  const threads: (SetScope['threads'][number])[] = [];
  const counts = [3, 5, 1, 2];
  counts.forEach((n, node) => {
    for (let thread = 1; thread <= n; thread++)
      threads.push({ node, thread, state: (node === 1 && thread === 2) || (node === 3 && thread === 1) ? 'stopped' : 'running' });
  });
  return { threads, named: new Map(named) };
}

const members = (text: string, s = scope()) => evaluateSet(parseSet(text), s).map(keyOf).join(' ');

describe('HPD thread sets', () => {
  it('denote single threads, whole nodes, node ranges and thread ranges', () => {
    assert.equal(members('[0.1]'), '0.1');
    assert.equal(members('[0.*]'), '0.1 0.2 0.3');
    assert.equal(members('[1:3.*]'), '1.1 1.2 1.3 1.4 1.5 2.1 3.1 3.2');
    assert.equal(members('[1.2:1.5]'), '1.2 1.3 1.4 1.5');
    assert.equal(members('[0.3:1.2]'), '0.3 1.1 1.2', 'a range runs in node.thread order across nodes');
    assert.equal(members('[0:3.2]'), '0.2 1.2 3.2', 'thread 2 of each node in the range that has one');
    assert.equal(members('[*.1]'), '0.1 1.1 2.1 3.1');
  });

  it('unions members, without duplicates, in thread order', () => {
    assert.equal(members('[1.1, 2.1]'), '1.1 2.1');
    assert.equal(members('[2.1, 0.*, 0.2]'), '0.1 0.2 0.3 2.1');
  });

  it('all, running and stopped are evaluated against the live threads each time', () => {
    assert.equal(evaluateSet(parseSet('[all]'), scope()).length, 11);
    assert.equal(members('all'), members('[all]'));
    assert.equal(members('stopped'), '1.2 3.1');
    assert.equal(members('[running]').split(' ').length, 9);
    // a node that joins is in [all] and [4.*] the moment its threads exist
    const s = scope();
    const joined = { ...s, threads: [...s.threads, { node: 4, thread: 1, state: 'running' as const }] };
    assert.equal(members('[4.*]', s), '');
    assert.equal(members('[4.*]', joined), '4.1');
    // a node that leaves is in no set any more
    const left = { ...s, threads: s.threads.filter((t) => t.node !== 1) };
    assert.equal(members('[1.*]', left), '');
  });

  it('named sets are dynamic formulas; static ones keep their members', () => {
    const workers: ThreadSet = parseSet('[1.2:1.5]');
    const frozen: ThreadSet = { items: [{ kind: 'members', members: [{ node: 1, thread: 2 }, { node: 2, thread: 1 }] }] };
    const s = scope([
      ['workers', workers],
      ['snapshot', frozen],
      ['both', parseSet('[workers, 0.1]')],
    ]);
    assert.equal(members('workers', s), '1.2 1.3 1.4 1.5');
    assert.equal(members('[both]', s), '0.1 1.2 1.3 1.4 1.5');
    // a static member that is gone is dropped, the others stay
    const without21 = { ...s, threads: s.threads.filter((t) => !(t.node === 2 && t.thread === 1)) };
    assert.equal(members('snapshot', without21), '1.2');
  });

  it('rejects malformed sets with a message naming the problem', () => {
    for (const bad of ['[]', '[0.]', '[x.1]', '[3:1.*]', '[1.5:1.2]', '0.1', '[1:2]', '[0.1']) {
      assert.throws(() => parseSet(bad), SetSyntaxError, bad);
    }
    assert.throws(() => members('nosuchset'), /no set named "nosuchset"/);
    const loop = scope([['a', parseSet('[b]')], ['b', parseSet('[a]')]]);
    assert.throws(() => members('a', loop), /defined in terms of itself/);
  });

  it('splits a command into its set prefix and the rest', () => {
    assert.deepEqual(splitSetPrefix('[1.*] print x'), { set: '[1.*]', rest: 'print x' });
    assert.deepEqual(splitSetPrefix('  go'), { set: null, rest: 'go' });
    assert.throws(() => splitSetPrefix('[1.* go'), SetSyntaxError);
  });

  it('formats a member list in the shortest notation', () => {
    const live = scope().threads;
    const f = (text: string) => formatSet(evaluateSet(parseSet(text), scope()), live);
    assert.equal(f('[0.*, 2.1]'), '[0.*, 2.1]');
    assert.equal(f('[0:1.*]'), '[0:1.*]');
    assert.equal(f('[1.2:1.4]'), '[1.2:1.4]');
    assert.equal(f('[1.2, 1.3]'), '[1.2, 1.3]');
    assert.equal(f('[all]'), '[all]');
    assert.equal(f('[1.1, 1.3, 1.4, 1.5, 3.*]'), '[1.1, 1.3:1.5, 3.*]');
    assert.equal(describeSet(parseSet('[1:3.*, 0.2:0.3, *.1]')), '[1:3.*, 0.2:0.3, *.1]');
  });
});
