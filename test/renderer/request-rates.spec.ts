// The Overview's requests/s: rates from consecutive samples of each node's
// request counter, robust to a node restarting (its counter starts again) and to
// a node that counts nothing.
import { describe, expect, it } from 'vitest';
import { requestRates, type StatusSample } from '../../renderer/src/stores/cluster';

const sample = (atMs: number, counts: [node: number, incarnation: number, count: number][]): StatusSample => ({
  atMs,
  generation: 1,
  memoryFailures: 0,
  members: 2,
  heartbeatAgeMs: new Map(),
  requests: new Map(counts.map(([node, incarnation, count]) => [node, { incarnation, count }])),
});

describe('requestRates', () => {
  it('is the count difference per second between samples', () => {
    const h = [sample(0, [[0, 1, 100]]), sample(500, [[0, 1, 150]]), sample(1500, [[0, 1, 150]])];
    expect(requestRates(h, 0)).toEqual([null, 100, 0]);
  });

  it('a restarted node counts from its new incarnation; a node without a counter has no value', () => {
    const h = [sample(0, [[0, 1, 900], [1, 1, 5]]), sample(1000, [[0, 2, 30]]), sample(2000, [[0, 2, 90], [1, 1, 5]])];
    expect(requestRates(h, 0)).toEqual([null, 30, 60]);
    expect(requestRates(h, 1)).toEqual([null, null, null]);
  });
});
