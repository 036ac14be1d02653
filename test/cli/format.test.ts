// The units and layouts of mcs's human output.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes, formatDuration, formatNodeSet, hexdump, table } from '../../runtime/cli/format';

describe('mcs output formats', () => {
  test('durations read like 12ms, 3.4s, 3m12s, 2h03m', () => {
    assert.equal(formatDuration(0.25), '0.3ms');
    assert.equal(formatDuration(12), '12ms');
    assert.equal(formatDuration(999.4), '999ms');
    assert.equal(formatDuration(3400), '3.4s');
    assert.equal(formatDuration(42_000), '42s');
    assert.equal(formatDuration(192_000), '3m12s');
    assert.equal(formatDuration(2 * 3_600_000 + 3 * 60_000), '2h03m');
    assert.equal(formatDuration(3 * 86_400_000 + 5 * 3_600_000), '3d05h');
    assert.equal(formatDuration(null), '-');
  });

  test('sizes read like 512 B, 4.0 KiB, 16.0 MiB', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(4096), '4.0 KiB');
    assert.equal(formatBytes(16 * 1024 * 1024), '16.0 MiB');
    assert.equal(formatBytes(3.5 * 1024 ** 3), '3.5 GiB');
  });

  test('node sets are ranges', () => {
    assert.equal(formatNodeSet([3, 0, 1, 2, 5, 7, 8]), '0-3,5,7-8');
    assert.equal(formatNodeSet([4]), '4');
    assert.equal(formatNodeSet([]), '-');
  });

  test('tables align columns, right-align numbers and leave no trailing blanks', () => {
    const out = table(
      [
        { n: 1, name: 'a' },
        { n: 100, name: 'longer' },
      ],
      [
        { header: 'N', align: 'right', value: (r) => String(r.n) },
        { header: 'NAME', value: (r) => r.name },
      ],
    );
    assert.equal(out, '  N  NAME\n  1  a\n100  longer\n');
  });

  test('hexdump collapses repeated lines and ends with the end offset', () => {
    const bytes = new Uint8Array(64);
    bytes.set([0x41, 0x42], 0);
    assert.equal(
      hexdump(bytes, 0x100),
      [
        '00000100  41 42 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |AB..............|',
        '00000110  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|',
        '*',
        '00000140',
        '',
      ].join('\n'),
    );
    assert.equal(hexdump(new Uint8Array(0)), '00000000\n');
  });
});
