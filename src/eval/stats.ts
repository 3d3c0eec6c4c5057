/** Small statistics used by scoring and reports. */

export interface MetricValue {
  value: number;
  /** Standard error of the mean (sample standard deviation / sqrt(n)); NaN when n < 2. */
  stderr: number;
  n: number;
}

export function meanWithStderr(xs: readonly number[]): MetricValue {
  const n = xs.length;
  if (n === 0) return { value: NaN, stderr: NaN, n: 0 };
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / n;
  if (n < 2) return { value: mean, stderr: NaN, n };
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { value: mean, stderr: Math.sqrt(ss / (n - 1) / n), n };
}

/**
 * The unbiased pass@k estimator of Chen et al. 2021: 1 - C(n-c, k) / C(n, k), computed as the
 * numerically stable product 1 - prod_{i=n-c+1..n} (1 - k/i).
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new Error(`pass@k needs integers 0 <= c <= n and 1 <= k <= n (got n=${n} c=${c} k=${k})`);
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/**
 * Majority vote over extracted answers (maj1@k). Ties go to the answer seen first, so the result
 * is deterministic; `null` answers (nothing extracted) never win unless all are null.
 */
export function majorityVote<T>(answers: readonly (T | null)[], key: (a: T) => string = String): T | null {
  const counts = new Map<string, { value: T; count: number; first: number }>();
  answers.forEach((a, i) => {
    if (a === null) return;
    const k = key(a);
    const e = counts.get(k);
    if (e) e.count++; else counts.set(k, { value: a, count: 1, first: i });
  });
  let best: { value: T; count: number; first: number } | null = null;
  for (const e of counts.values()) if (!best || e.count > best.count || (e.count === best.count && e.first < best.first)) best = e;
  return best ? best.value : null;
}

/** log(sum(exp(xs))) without overflow. */
export function logSumExp(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}
