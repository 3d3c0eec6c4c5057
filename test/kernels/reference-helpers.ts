// Helpers for the reference-kernel tests and the model gradient checks: random float64 arrays and
// a central finite-difference checker.
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';

/** A Float64Array typed as Float32Array (the reference backend's 'f64' precision), filled N(0, std). */
export function randn64(rng: Rng, n: number, std = 1): Float32Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = std * rng.normal();
  return a as unknown as Float32Array;
}

export function zeros64(n: number): Float32Array {
  return new Float64Array(n) as unknown as Float32Array;
}

export function randn32(rng: Rng, n: number, std = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = std * rng.normal();
  return a;
}

/**
 * Compares an analytic gradient with central differences (f(x+h) - f(x-h)) / 2h of the scalar
 * `loss()` over `x`, at every index or at `samples` random ones. In float64 the truncation error
 * is O(h^2) and the rounding error O(eps/h): h = 1e-5 keeps both near 1e-10.
 */
export function checkGrad(label: string, x: Float32Array, analytic: ArrayLike<number>, loss: () => number,
  opts: { rng?: Rng; samples?: number; h?: number; rtol?: number; atol?: number } = {}): number {
  const h = opts.h ?? 1e-5;
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-8;
  const n = x.length;
  const idx: number[] = [];
  if (opts.samples === undefined || opts.samples >= n) for (let i = 0; i < n; i++) idx.push(i);
  else for (let s = 0; s < opts.samples; s++) idx.push(opts.rng!.intBelow(n));
  let worst = 0;
  for (const i of idx) {
    const x0 = x[i];
    x[i] = x0 + h;
    const lp = loss();
    x[i] = x0 - h;
    const lm = loss();
    x[i] = x0;
    const numeric = (lp - lm) / (2 * h);
    const a = analytic[i];
    const err = Math.abs(a - numeric);
    const tol = atol + rtol * Math.max(Math.abs(a), Math.abs(numeric));
    worst = Math.max(worst, err / tol);
    if (err > tol) assert.fail(`${label}[${i}]: analytic ${a} vs finite difference ${numeric} (|diff| ${err.toExponential(2)} > tol ${tol.toExponential(2)})`);
  }
  return worst;
}

/** sum_i r[i] * y[i]: a random linear functional, so d/dy of the "loss" is exactly r. */
export function dotWith(r: ArrayLike<number>, y: ArrayLike<number>, n = y.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += r[i] * y[i];
  return s;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
