// `break FUNCTION` finds every definition of FUNCTION in the code V8 runs, which
// for a node is tsx's whitespace-minified esbuild output (a module on one line).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { transformSync } from 'esbuild';
import { functionEntries } from '../../runtime/debugger/function-entries';

/** The source at each position: what follows the entry. */
const at = (source: string, fn: string) =>
  functionEntries(source, fn).map((p) => source.split('\n')[p.line]!.slice(p.column, p.column + 24));

describe('function entries for break FUNCTION', () => {
  it('finds class methods in minified output, where a method follows "}" on the same line', () => {
    const src = readFileSync(new URL('../../runtime/apps/webcache/global-cache.ts', import.meta.url), 'utf8');
    // what tsx hands V8
    const { code } = transformSync(src, { loader: 'ts', format: 'esm', target: 'node20', minifyWhitespace: true });
    assert.equal(code.trimEnd().split('\n').length, 1, 'minified: one line');
    assert.deepEqual(at(code, 'rebuild'), ['const mem=this.space.mem']);
    assert.deepEqual(at(code, 'buildMaster'), ['const mem=this.space.mem']);
  });

  it('does not take a call or a member access for a definition', () => {
    const code = 'class A{async recover(R){await this.rebuild(this.context(R));x.rebuild=1}rebuild(rc){return rc}}';
    assert.deepEqual(at(code, 'rebuild'), ['return rc}}']);
    assert.deepEqual(at(code, 'recover'), ['await this.rebuild(this.']);
    assert.deepEqual(at(code, 'context'), []);
  });

  it('finds declarations, function expressions, arrows and object methods, static, getters and generators', () => {
    const code = [
      'function work(n) {',
      '  return n;',
      '}',
      'const a = async function (x) { return 1 };',
      'const b = async (x, y) => { return 2 };',
      'const c = x => x + 3;',
      'const o = {d(k){return 4},*e(){yield 5}};',
      'class K{static f(){return 6}get g(){return 7}}',
    ].join('\n');
    assert.deepEqual(functionEntries(code, 'work'), [{ line: 0, column: 18 }]);
    assert.deepEqual(at(code, 'a'), [' return 1 };']);
    assert.deepEqual(at(code, 'b'), [' return 2 };']);
    assert.deepEqual(at(code, 'c'), ['x + 3;']);
    assert.deepEqual(at(code, 'd'), ['return 4},*e(){yield 5}}']);
    assert.deepEqual(at(code, 'e'), ['yield 5}};']);
    assert.deepEqual(at(code, 'f'), ['return 6}get g(){return ']);
    assert.deepEqual(at(code, 'g'), ['return 7}}']);
  });

  it('takes a function name literally, not as a pattern', () => {
    assert.deepEqual(functionEntries('function a$b(){x}function aXb(){y}', 'a$b'), [{ line: 0, column: 15 }]);
  });
});
