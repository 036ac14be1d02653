// Zipf-distributed ranks (P(rank k) ∝ 1/k^s), the classic model of Web object
// popularity (Breslau et al., 1999: s ≈ 0.64–0.83 for proxy traces; 0.9 is the
// benchmark default). Sampling is a binary search in the precomputed CDF.
import { prng } from './sample-site';

export function zipfSampler(n: number, exponent: number, seed: number): () => number {
  if (!(n >= 1)) throw new Error('zipf: need at least one item');
  if (!(exponent >= 0)) throw new Error('zipf: the exponent must be >= 0');
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, exponent);
  for (let k = 0; k < n; k++) cdf[k] /= sum;
  const rand = prng(seed);
  return () => {
    const u = rand();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
