// Shared SIMD helpers for the kernels. Everything here is inlined into its callers.
// ASC_FEATURE_RELAXED_SIMD is a compile-time constant: the relaxed build gets a fused multiply-add,
// the plain build a multiply then an add (the dead branch is removed by the compiler).

/** a*b + c on four f32 lanes (fused in the relaxed build). */
// @ts-ignore: decorator
@inline export function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** c + S·(d_w·d_x) on four lanes, S an int32 block sum: the per-block step of the quantized products. */
// @ts-ignore: decorator
@inline export function scaleInto(s: v128, dw: v128, dx: v128, c: v128): v128 {
  return fma(f32x4.convert_i32x4_s(s), f32x4.mul(dw, dx), c);
}

/** Sum of the four f32 lanes, in the fixed order (l0 + l2) + (l1 + l3). */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/**
 * e^x on four lanes (Cephes expf: range reduction by ln2 in two parts, degree-6 polynomial,
 * scaling by 2^n through the exponent bits). Relative error ~2e-7 for x in [-87, 88]; inputs
 * are clamped to that range, so very negative inputs give ~1e-38 instead of 0 (harmless for
 * softmax sums) and NaN propagates.
 */
// @ts-ignore: decorator
@inline export function expv(x0: v128): v128 {
  // pmin/pmax are single minps/maxps instructions; min/max's NaN rules cost ~7 each under V8.
  // A NaN x0 is handled by the mask below, so the cheaper forms give the same results.
  const x = f32x4.pmin(f32x4.pmax(x0, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = fma(n, f32x4.splat(-0.693359375), x);
  r = fma(n, f32x4.splat(2.12194440e-4), r);
  let p = f32x4.splat(1.9875691500e-4);
  p = fma(p, r, f32x4.splat(1.3981999507e-3));
  p = fma(p, r, f32x4.splat(8.3334519073e-3));
  p = fma(p, r, f32x4.splat(4.1665795894e-2));
  p = fma(p, r, f32x4.splat(1.6666665459e-1));
  p = fma(p, r, f32x4.splat(5.0000001201e-1));
  p = fma(p, f32x4.mul(r, r), f32x4.add(r, f32x4.splat(1.0)));
  const e = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  // NaN input: keep it NaN (the clamp above would have turned it into a number).
  const nanMask = f32x4.ne(x0, x0);
  return v128.or(f32x4.mul(p, e), v128.and(nanMask, x0));
}

/** Scalar e^x through the vector routine (same rounding as expv). */
// @ts-ignore: decorator
@inline export function exps(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

/** dot(a[0..n), b[0..n)) with four-lane accumulators and a scalar tail. */
export function dot(a: usize, b: usize, n: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const o = <usize>(i << 2);
    acc0 = fma(v128.load(a + o), v128.load(b + o), acc0);
    acc1 = fma(v128.load(a + o, 16), v128.load(b + o, 16), acc1);
  }
  if (i + 4 <= n) {
    const o = <usize>(i << 2);
    acc0 = fma(v128.load(a + o), v128.load(b + o), acc0);
    i += 4;
  }
  let s = hsum(f32x4.add(acc0, acc1));
  for (; i < n; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}

/** y[0..n) += alpha * x[0..n) */
export function axpy(y: usize, alpha: f32, x: usize, n: i32): void {
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>(i << 2);
    v128.store(y + o, fma(av, v128.load(x + o), v128.load(y + o)));
  }
  for (; i < n; i++) {
    const o = <usize>(i << 2);
    store<f32>(y + o, load<f32>(y + o) + alpha * load<f32>(x + o));
  }
}

/** x[0..n) *= alpha */
export function scale(x: usize, alpha: f32, n: i32): void {
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>(i << 2);
    v128.store(x + o, f32x4.mul(v128.load(x + o), av));
  }
  for (; i < n; i++) {
    const o = <usize>(i << 2);
    store<f32>(x + o, load<f32>(x + o) * alpha);
  }
}

/** x[0..n) = 0 */
export function zero(x: usize, n: i32): void {
  memory.fill(x, 0, <usize>n << 2);
}

// ---- dynamic work claiming: heavy kernels cut their work into chunks that threads claim from a
// shared counter (zeroed by the dispatcher before every call), so a thread the OS deschedules on a
// busy machine does not hold up the others. A chunk's arithmetic never depends on which thread
// runs it, so results stay identical across thread counts.
// @ts-ignore: decorator
@inline export function claim(counter: usize): i32 { return atomic.add<i32>(counter, 1); }

// ---- work partitioning: results of split() are left in these module globals (thread-local:
// every thread has its own instance) so the kernels need no allocation.
export let partStart: i32 = 0;
export let partEnd: i32 = 0;

/** Splits [0, n) into nth contiguous parts whose boundaries are multiples of `unit`; part tid. */
export function split(n: i32, unit: i32, tid: i32, nth: i32): void {
  const units = (n + unit - 1) / unit;
  const u0 = <i32>((<i64>units * tid) / nth);
  const u1 = <i32>((<i64>units * (tid + 1)) / nth);
  partStart = min(u0 * unit, n);
  partEnd = min(u1 * unit, n);
}

/** f16 bits -> f32 (exact, including subnormals, infinities and NaN). */
export function halfToFloat(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (mant << 13));
  // normal and subnormal: place the bits, then rescale by 2^112 (a subnormal half becomes a
  // correctly scaled f32 because the multiplication normalises it).
  const mag = reinterpret<f32>(((h & 0x7fff) << 13)) * reinterpret<f32>(0x77800000);
  return reinterpret<f32>(reinterpret<u32>(mag) | sign);
}

/** Four f16 values (in the low 16 bits of each i32 lane) -> four f32, with the same rules. */
// @ts-ignore: decorator
@inline export function halfToFloatV(u: v128): v128 {
  const sign = i32x4.shl(v128.and(u, i32x4.splat(0x8000)), 16);
  const bits = i32x4.shl(v128.and(u, i32x4.splat(0x7fff)), 13);
  const mag = f32x4.mul(bits, f32x4.splat(reinterpret<f32>(0x77800000)));
  const isSpecial = i32x4.eq(v128.and(u, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  const special = v128.or(i32x4.splat(0x7f800000), bits);
  return v128.or(v128.bitselect(special, mag, isSpecial), sign);
}
