import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logSumExp, majorityVote, meanWithStderr, passAtK } from '../../src/eval/stats.js';
import { Rng } from '../../src/eval/rng.js';

/** C(n, k) exactly with BigInt. */
function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
  return r;
}

test('pass@k equals the closed form 1 - C(n-c,k)/C(n,k)', () => {
  for (const [n, c, k] of [[10, 3, 1], [10, 3, 5], [200, 17, 100], [100, 0, 10], [100, 100, 1], [80, 5, 80], [20, 1, 19], [161, 40, 80]]) {
    const exact = 1 - Number((binom(n - c, k) * 1_000_000_000_000n) / binom(n, k)) / 1e12;
    assert.ok(Math.abs(passAtK(n, c, k) - exact) < 1e-9, `n=${n} c=${c} k=${k}: ${passAtK(n, c, k)} vs ${exact}`);
  }
  assert.ok(Math.abs(passAtK(5, 2, 1) - 0.4) < 1e-12);
  assert.equal(passAtK(5, 0, 3), 0);
  assert.equal(passAtK(5, 3, 3), 1, 'n - c < k: every k-subset has a pass');
});

test('pass@k equals a brute-force enumeration of k-subsets (small n) and a Monte-Carlo estimate', () => {
  // Enumerate all k-subsets of n samples whose first c pass.
  const n = 8;
  for (let c = 0; c <= n; c++) {
    for (let k = 1; k <= n; k++) {
      let total = 0;
      let hit = 0;
      for (let mask = 0; mask < 1 << n; mask++) {
        let bits = 0;
        for (let i = 0; i < n; i++) if (mask & (1 << i)) bits++;
        if (bits !== k) continue;
        total++;
        if (mask & ((1 << c) - 1)) hit++;
      }
      assert.ok(Math.abs(passAtK(n, c, k) - hit / total) < 1e-12, `n=${n} c=${c} k=${k}`);
    }
  }
  // Monte Carlo for a larger case: draw k of n without replacement, 20000 times.
  const rng = new Rng(7);
  const [N, C, K] = [50, 6, 10];
  const pool = Array.from({ length: N }, (_, i) => i < C);
  let hits = 0;
  const trials = 20000;
  for (let t = 0; t < trials; t++) if (rng.sample(pool, K).some((x) => x)) hits++;
  const p = passAtK(N, C, K);
  const se = Math.sqrt((p * (1 - p)) / trials);
  assert.ok(Math.abs(hits / trials - p) < 5 * se, `MC ${hits / trials} vs ${p}`);
});

test('pass@k rejects impossible arguments', () => {
  assert.throws(() => passAtK(5, 6, 1), /0 <= c <= n/);
  assert.throws(() => passAtK(5, 1, 6), /1 <= k <= n/);
  assert.throws(() => passAtK(5, 1, 0), /1 <= k <= n/);
});

test('meanWithStderr: sample standard deviation over sqrt(n)', () => {
  const m = meanWithStderr([1, 0, 1, 1]);
  assert.equal(m.value, 0.75);
  // sample variance = (3*(0.25)^2 + 0.75^2)/3 = 0.25; stderr = sqrt(0.25/4) = 0.25
  assert.ok(Math.abs(m.stderr - 0.25) < 1e-12);
  assert.ok(Number.isNaN(meanWithStderr([1]).stderr));
  assert.ok(Number.isNaN(meanWithStderr([]).value));
});

test('majorityVote: most frequent, ties to the first seen, nulls ignored', () => {
  assert.equal(majorityVote(['3', '5', '5', null, '3', '5']), '5');
  assert.equal(majorityVote(['7', '9', '9', '7']), '7');
  assert.equal(majorityVote([null, null, '2']), '2');
  assert.equal(majorityVote([null, null]), null);
  assert.equal(majorityVote(['\\frac12', '\\frac{1}{2}', '3'], (a) => a.replace('\\frac12', '\\frac{1}{2}')), '\\frac12');
});

test('logSumExp is stable', () => {
  assert.ok(Math.abs(logSumExp([-1000, -1000]) - (-1000 + Math.log(2))) < 1e-9);
  assert.equal(logSumExp([]), -Infinity);
});
