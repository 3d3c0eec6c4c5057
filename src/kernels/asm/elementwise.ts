// Row-wise and element-wise kernels: RMSNorm, RoPE, SwiGLU, embedding, residual adds, AdamW,
// sum of squares, the NaN/Inf probe. Rows or element ranges are split over threads; reductions
// over rows (dweight of RMSNorm, embedding backward) are split over columns instead, so each
// element is summed in row order by one thread whatever the thread count.
import { fma, hsum, expv, split, partStart, partEnd } from './simd';

// ---------------------------------------------------------------- RMSNorm

export function rmsnorm_forward(out: usize, rstd: usize, inp: usize, weight: usize, N: i32, C: i32, eps: f32,
  tid: i32, nth: i32): void {
  split(N, 1, tid, nth);
  const rowBytes = <usize>C << 2;
  for (let n = partStart; n < partEnd; n++) {
    const x = inp + <usize>n * rowBytes;
    const y = out + <usize>n * rowBytes;
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) { const v = v128.load(x + <usize>(c << 2)); acc = fma(v, v, acc); }
    let ss = hsum(acc);
    for (; c < C; c++) { const v = load<f32>(x + <usize>(c << 2)); ss += v * v; }
    const r: f32 = <f32>1 / Mathf.sqrt(ss / <f32>C + eps);
    store<f32>(rstd + (<usize>n << 2), r);
    const rv = f32x4.splat(r);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>(c << 2);
      v128.store(y + o, f32x4.mul(f32x4.mul(v128.load(x + o), rv), v128.load(weight + o)));
    }
    for (; c < C; c++) { const o = <usize>(c << 2); store<f32>(y + o, load<f32>(x + o) * r * load<f32>(weight + o)); }
  }
}

export function rmsnorm_backward(dinp: usize, dweight: usize, dout: usize, inp: usize, weight: usize, rstd: usize,
  N: i32, C: i32, tid: i32, nth: i32): void {
  const rowBytes = <usize>C << 2;
  // dinp: rows split over threads.
  //   dx_i = r * w_i * dy_i - x_i * r^3 / C * Σ_j w_j dy_j x_j
  split(N, 1, tid, nth);
  for (let n = partStart; n < partEnd; n++) {
    const x = inp + <usize>n * rowBytes, dy = dout + <usize>n * rowBytes, dx = dinp + <usize>n * rowBytes;
    const r = load<f32>(rstd + (<usize>n << 2));
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>(c << 2);
      acc = fma(f32x4.mul(v128.load(weight + o), v128.load(dy + o)), v128.load(x + o), acc);
    }
    let dot = hsum(acc);
    for (; c < C; c++) { const o = <usize>(c << 2); dot += load<f32>(weight + o) * load<f32>(dy + o) * load<f32>(x + o); }
    const k: f32 = -dot * r * r * r / <f32>C;
    const rv = f32x4.splat(r), kv = f32x4.splat(k);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const o = <usize>(c << 2);
      const g = fma(f32x4.mul(v128.load(weight + o), v128.load(dy + o)), rv, f32x4.mul(v128.load(x + o), kv));
      v128.store(dx + o, f32x4.add(v128.load(dx + o), g));
    }
    for (; c < C; c++) {
      const o = <usize>(c << 2);
      store<f32>(dx + o, load<f32>(dx + o) + load<f32>(weight + o) * load<f32>(dy + o) * r + load<f32>(x + o) * k);
    }
  }
  // dweight: columns split over threads, rows summed in order.  dw_i += Σ_n dy_i x_i r_n
  split(C, 4, tid, nth);
  const c0 = partStart, c1 = partEnd;
  let c = c0;
  for (; c + 4 <= c1; c += 4) {
    const o = <usize>(c << 2);
    let acc = f32x4.splat(0);
    for (let n = 0; n < N; n++) {
      const ro = <usize>n * rowBytes + o;
      acc = fma(f32x4.mul(v128.load(dout + ro), v128.load(inp + ro)), f32x4.splat(load<f32>(rstd + (<usize>n << 2))), acc);
    }
    v128.store(dweight + o, f32x4.add(v128.load(dweight + o), acc));
  }
  for (; c < c1; c++) {
    const o = <usize>(c << 2);
    let s: f32 = 0;
    for (let n = 0; n < N; n++) {
      const ro = <usize>n * rowBytes + o;
      s += load<f32>(dout + ro) * load<f32>(inp + ro) * load<f32>(rstd + (<usize>n << 2));
    }
    store<f32>(dweight + o, load<f32>(dweight + o) + s);
  }
}

// ---------------------------------------------------------------- RoPE (interleaved pairs)

/** sign = +1: forward rotation (out may alias inp, overwritten); sign = -1: backward, dinp += R^T dout. */
function rope(out: usize, inp: usize, cos: usize, sin: usize, B: i32, T: i32, nH: i32, hd: i32, pos0: i32,
  backward: bool, tid: i32, nth: i32): void {
  const half = hd >> 1;
  split(B * T, 1, tid, nth);
  for (let row = partStart; row < partEnd; row++) {
    const pos = pos0 + row % T;
    const cp = cos + (<usize>(pos * half) << 2);
    const sp = sin + (<usize>(pos * half) << 2);
    for (let h = 0; h < nH; h++) {
      const base = (<usize>((row * nH + h) * hd)) << 2;
      const x = inp + base, y = out + base;
      for (let i = 0; i < half; i++) {
        const c = load<f32>(cp + (<usize>i << 2)), s = load<f32>(sp + (<usize>i << 2));
        const o = <usize>(i << 3);
        const x0 = load<f32>(x + o), x1 = load<f32>(x + o, 4);
        if (backward) {
          store<f32>(y + o, load<f32>(y + o) + x0 * c + x1 * s);
          store<f32>(y + o, load<f32>(y + o, 4) - x0 * s + x1 * c, 4);
        } else {
          store<f32>(y + o, x0 * c - x1 * s);
          store<f32>(y + o, x0 * s + x1 * c, 4);
        }
      }
    }
  }
}

export function rope_forward(out: usize, inp: usize, cos: usize, sin: usize, B: i32, T: i32, nH: i32, hd: i32, pos0: i32,
  tid: i32, nth: i32): void {
  rope(out, inp, cos, sin, B, T, nH, hd, pos0, false, tid, nth);
}

export function rope_backward(dinp: usize, dout: usize, cos: usize, sin: usize, B: i32, T: i32, nH: i32, hd: i32, pos0: i32,
  tid: i32, nth: i32): void {
  rope(dinp, dout, cos, sin, B, T, nH, hd, pos0, true, tid, nth);
}

// ---------------------------------------------------------------- SwiGLU

// @ts-ignore: decorator
@inline function sigmoidv(a: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expv(f32x4.neg(a))));
}

export function swiglu_forward(out: usize, a: usize, b: usize, n: i32, tid: i32, nth: i32): void {
  split(n, 16, tid, nth);
  let i = partStart;
  for (; i + 4 <= partEnd; i += 4) {
    const o = <usize>(i << 2);
    const av = v128.load(a + o);
    v128.store(out + o, f32x4.mul(f32x4.mul(av, sigmoidv(av)), v128.load(b + o)));
  }
  for (; i < partEnd; i++) {
    const o = <usize>(i << 2);
    const av = f32x4.splat(load<f32>(a + o));
    store<f32>(out + o, f32x4.extract_lane(f32x4.mul(av, sigmoidv(av)), 0) * load<f32>(b + o));
  }
}

export function swiglu_backward(da: usize, db: usize, dout: usize, a: usize, b: usize, n: i32, tid: i32, nth: i32): void {
  split(n, 16, tid, nth);
  const one = f32x4.splat(1);
  let i = partStart;
  for (; i + 4 <= partEnd; i += 4) {
    const o = <usize>(i << 2);
    const av = v128.load(a + o), bv = v128.load(b + o), dv = v128.load(dout + o);
    const s = sigmoidv(av);
    // silu'(a) = s * (1 + a * (1 - s))
    const dsilu = f32x4.mul(s, fma(av, f32x4.sub(one, s), one));
    v128.store(da + o, fma(f32x4.mul(dv, bv), dsilu, v128.load(da + o)));
    v128.store(db + o, fma(dv, f32x4.mul(av, s), v128.load(db + o)));
  }
  for (; i < partEnd; i++) {
    const o = <usize>(i << 2);
    const av = load<f32>(a + o), bv = load<f32>(b + o), dv = load<f32>(dout + o);
    const s = f32x4.extract_lane(sigmoidv(f32x4.splat(av)), 0);
    store<f32>(da + o, load<f32>(da + o) + dv * bv * (s * (1 + av * (1 - s))));
    store<f32>(db + o, load<f32>(db + o) + dv * (av * s));
  }
}

// ---------------------------------------------------------------- embedding (ids checked by the caller)

export function embedding_forward(out: usize, tokens: usize, table: usize, N: i32, C: i32, tid: i32, nth: i32): void {
  split(N, 1, tid, nth);
  const rowBytes = <usize>C << 2;
  for (let n = partStart; n < partEnd; n++) {
    const t = load<i32>(tokens + (<usize>n << 2));
    memory.copy(out + <usize>n * rowBytes, table + <usize>t * rowBytes, rowBytes);
  }
}

/** Columns split over threads; tokens visited in order, so duplicate ids sum deterministically. */
export function embedding_backward(dtable: usize, dout: usize, tokens: usize, N: i32, C: i32, tid: i32, nth: i32): void {
  split(C, 4, tid, nth);
  const rowBytes = <usize>C << 2;
  const c0 = partStart, c1 = partEnd;
  for (let n = 0; n < N; n++) {
    const t = load<i32>(tokens + (<usize>n << 2));
    const src = dout + <usize>n * rowBytes, dst = dtable + <usize>t * rowBytes;
    let c = c0;
    for (; c + 4 <= c1; c += 4) {
      const o = <usize>(c << 2);
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    for (; c < c1; c++) { const o = <usize>(c << 2); store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o)); }
  }
}

// ---------------------------------------------------------------- residual stream

export function add(out: usize, a: usize, b: usize, n: i32, tid: i32, nth: i32): void {
  split(n, 16, tid, nth);
  let i = partStart;
  for (; i + 4 <= partEnd; i += 4) {
    const o = <usize>(i << 2);
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < partEnd; i++) { const o = <usize>(i << 2); store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o)); }
}

export function accumulate(dst: usize, src: usize, n: i32, tid: i32, nth: i32): void {
  add(dst, dst, src, n, tid, nth);
}

// ---------------------------------------------------------------- AdamW (torch.optim.AdamW)

/**
 * p = p*decay - stepSize * m / (sqrt(v)/bc2Sqrt + eps), after m = m + (g-m)(1-b1), v = b2 v + (1-b2) g^2,
 * g = grad * gradScale; decay = 1 - lr*wd, stepSize = lr/(1-b1^t), bc2Sqrt = sqrt(1-b2^t).
 */
export function adamw(param: usize, grad: usize, m: usize, v: usize, n: i32, oneMinusBeta1: f32, beta2: f32,
  oneMinusBeta2: f32, eps: f32, decay: f32, stepSize: f32, bc2Sqrt: f32, gradScale: f32, tid: i32, nth: i32): void {
  // 1 - beta comes from the caller in double precision (1 - 0.9f would be off by 2e-7 relative)
  split(n, 16, tid, nth);
  const omb1 = f32x4.splat(oneMinusBeta1), b2 = f32x4.splat(beta2), omb2 = f32x4.splat(oneMinusBeta2);
  const epsv = f32x4.splat(eps), decv = f32x4.splat(decay), stepv = f32x4.splat(stepSize);
  const ibc2 = f32x4.splat(<f32>1 / bc2Sqrt), gs = f32x4.splat(gradScale);
  let i = partStart;
  for (; i + 4 <= partEnd; i += 4) {
    const o = <usize>(i << 2);
    const g = f32x4.mul(v128.load(grad + o), gs);
    let mv = v128.load(m + o);
    mv = fma(f32x4.sub(g, mv), omb1, mv);
    let vv = fma(b2, v128.load(v + o), f32x4.mul(omb2, f32x4.mul(g, g)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vv), ibc2), epsv);
    const p = v128.load(param + o);
    v128.store(param + o, f32x4.sub(f32x4.mul(p, decv), f32x4.div(f32x4.mul(stepv, mv), denom)));
  }
  for (; i < partEnd; i++) {
    const o = <usize>(i << 2);
    const g = load<f32>(grad + o) * gradScale;
    let mv = load<f32>(m + o);
    mv = mv + (g - mv) * oneMinusBeta1;
    const vv = beta2 * load<f32>(v + o) + oneMinusBeta2 * g * g;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    store<f32>(param + o, load<f32>(param + o) * decay - stepSize * mv / (Mathf.sqrt(vv) / bc2Sqrt + eps));
  }
}

// ---------------------------------------------------------------- reductions

export const SUMSQ_BLOCK: i32 = 65536;

/**
 * Sum of squares in float64 per fixed block of SUMSQ_BLOCK elements (blocks split over threads);
 * partial b goes to partials[b]. The caller adds the partials in block order, so the result does
 * not depend on the thread count.
 */
export function sum_squares(x: usize, n: i32, partials: usize, tid: i32, nth: i32): void {
  const blocks = (n + SUMSQ_BLOCK - 1) / SUMSQ_BLOCK;
  split(blocks, 1, tid, nth);
  for (let b = partStart; b < partEnd; b++) {
    const i0 = b * SUMSQ_BLOCK, i1 = min(n, i0 + SUMSQ_BLOCK);
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
      a0 = f64x2.add(a0, f64x2.mul(lo, lo));
      a1 = f64x2.add(a1, f64x2.mul(hi, hi));
    }
    const s2 = f64x2.add(a0, a1);
    let s = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
    for (; i < i1; i++) { const v = <f64>load<f32>(x + (<usize>i << 2)); s += v * v; }
    store<f64>(partials + (<usize>b << 3), s);
  }
}

/** Index of the first NaN/Inf in x[0..n), or -1 (single-threaded probe for setCheckFinite). */
export function first_non_finite(x: usize, n: i32): i32 {
  const expMask = i32x4.splat(0x7f800000);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    if (v128.any_true(i32x4.eq(v128.and(v, expMask), expMask))) break;
  }
  for (; i < n; i++) {
    if ((load<u32>(x + (<usize>i << 2)) & 0x7f800000) == 0x7f800000) return i;
  }
  return -1;
}
