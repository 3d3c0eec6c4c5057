// Decode matrix-vector products out[n, o] = Σ_k x[n,k] W[o,k] for a few input rows (N <= 3),
// reading the weight once in its stored type. Memory-bound: the loops are shaped so every weight
// byte is loaded once and the (small) inputs stay in L1. Work is split over output rows.
//   f32 / f16: float dot products (f16 widened with integer bit operations: no f16 SIMD in wasm).
//   q8_0 / q4_0: the input row is quantized to int8 per 32-block (as llama.cpp does) and held as
//   int16; block dots use i32x4.dot_i16x8_s, scaled by d_w * d_x per block.
import { fma, hsum, split, partStart, partEnd } from './simd';
import { f16 } from './gemm';
import { quantizeBlock32, quantizeBlock256K, blockSum } from './quantize';

export const MATVEC_MAX_N: i32 = 3;

// Four weight rows at a time, against two input rows at once: 8 accumulators + 6 loads per
// 8 fused multiply-adds (fits V8's 16 vector registers), so each weight block is read from
// memory once for all N rows (it stays in L1 while the input rows pass over it).
export function matvec_f32(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32, tid: i32, nth: i32): void {
  split(OC, 8, tid, nth);
  const rowBytes = <usize>K << 2;
  let o = partStart;
  // one input row: eight weight rows at once (eight memory streams in flight)
  if (N == 1) {
    for (; o + 8 <= partEnd; o += 8) {
      const w0 = w + <usize>o * rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const off = <usize>(k << 2);
        const xv = v128.load(x + off);
        const p = w0 + off;
        a0 = fma(v128.load(p), xv, a0);
        a1 = fma(v128.load(p + rowBytes), xv, a1);
        a2 = fma(v128.load(p + 2 * rowBytes), xv, a2);
        a3 = fma(v128.load(p + 3 * rowBytes), xv, a3);
        a4 = fma(v128.load(p + 4 * rowBytes), xv, a4);
        a5 = fma(v128.load(p + 5 * rowBytes), xv, a5);
        a6 = fma(v128.load(p + 6 * rowBytes), xv, a6);
        a7 = fma(v128.load(p + 7 * rowBytes), xv, a7);
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3), s4 = hsum(a4), s5 = hsum(a5), s6 = hsum(a6), s7 = hsum(a7);
      for (; k < K; k++) {
        const off = <usize>(k << 2);
        const xs = load<f32>(x + off);
        const p = w0 + off;
        s0 += load<f32>(p) * xs; s1 += load<f32>(p + rowBytes) * xs; s2 += load<f32>(p + 2 * rowBytes) * xs; s3 += load<f32>(p + 3 * rowBytes) * xs;
        s4 += load<f32>(p + 4 * rowBytes) * xs; s5 += load<f32>(p + 5 * rowBytes) * xs; s6 += load<f32>(p + 6 * rowBytes) * xs; s7 += load<f32>(p + 7 * rowBytes) * xs;
      }
      const op = out + (<usize>o << 2);
      store<f32>(op, s0); store<f32>(op, s1, 4); store<f32>(op, s2, 8); store<f32>(op, s3, 12);
      store<f32>(op, s4, 16); store<f32>(op, s5, 20); store<f32>(op, s6, 24); store<f32>(op, s7, 28);
    }
  }
  for (; o + 4 <= partEnd; o += 4) {
    const w0 = w + <usize>o * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
    let n = 0;
    for (; n + 2 <= N; n += 2) {
      const xa = x + <usize>n * rowBytes, xb = xa + rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const off = <usize>(k << 2);
        const xv = v128.load(xa + off), yv = v128.load(xb + off);
        const v0 = v128.load(w0 + off), v1 = v128.load(w1 + off), v2 = v128.load(w2 + off), v3 = v128.load(w3 + off);
        a0 = fma(v0, xv, a0); a1 = fma(v1, xv, a1); a2 = fma(v2, xv, a2); a3 = fma(v3, xv, a3);
        b0 = fma(v0, yv, b0); b1 = fma(v1, yv, b1); b2 = fma(v2, yv, b2); b3 = fma(v3, yv, b3);
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      let t0 = hsum(b0), t1 = hsum(b1), t2 = hsum(b2), t3 = hsum(b3);
      for (; k < K; k++) {
        const off = <usize>(k << 2);
        const xs = load<f32>(xa + off), ys = load<f32>(xb + off);
        const u0 = load<f32>(w0 + off), u1 = load<f32>(w1 + off), u2 = load<f32>(w2 + off), u3 = load<f32>(w3 + off);
        s0 += u0 * xs; s1 += u1 * xs; s2 += u2 * xs; s3 += u3 * xs;
        t0 += u0 * ys; t1 += u1 * ys; t2 += u2 * ys; t3 += u3 * ys;
      }
      const op = out + ((<usize>n * <usize>OC + <usize>o) << 2);
      store<f32>(op, s0); store<f32>(op, s1, 4); store<f32>(op, s2, 8); store<f32>(op, s3, 12);
      const oq = op + (<usize>OC << 2);
      store<f32>(oq, t0); store<f32>(oq, t1, 4); store<f32>(oq, t2, 8); store<f32>(oq, t3, 12);
    }
    for (; n < N; n++) {
      const xn = x + <usize>n * rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const off = <usize>(k << 2);
        const xv = v128.load(xn + off);
        a0 = fma(v128.load(w0 + off), xv, a0);
        a1 = fma(v128.load(w1 + off), xv, a1);
        a2 = fma(v128.load(w2 + off), xv, a2);
        a3 = fma(v128.load(w3 + off), xv, a3);
      }
      let s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
      for (; k < K; k++) {
        const off = <usize>(k << 2);
        const xs = load<f32>(xn + off);
        s0 += load<f32>(w0 + off) * xs; s1 += load<f32>(w1 + off) * xs;
        s2 += load<f32>(w2 + off) * xs; s3 += load<f32>(w3 + off) * xs;
      }
      const op = out + ((<usize>n * <usize>OC + <usize>o) << 2);
      store<f32>(op, s0); store<f32>(op, s1, 4); store<f32>(op, s2, 8); store<f32>(op, s3, 12);
    }
  }
  for (; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      const xn = x + <usize>n * rowBytes;
      let a0 = f32x4.splat(0);
      let k = 0;
      for (; k + 4 <= K; k += 4) a0 = fma(v128.load(wr + <usize>(k << 2)), v128.load(xn + <usize>(k << 2)), a0);
      let s = hsum(a0);
      for (; k < K; k++) s += load<f32>(wr + <usize>(k << 2)) * load<f32>(xn + <usize>(k << 2));
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), s);
    }
  }
}

/**
 * f32 weights stored in panels of 8 rows, w[o/8][k][8] (OC a multiple of 8): a thread's share is
 * one contiguous memory stream, which the hardware prefetcher follows at full speed (rows read 8 at
 * a time in the row-major layout are 8 short streams: 18 vs 32 GB/s on one core for K = 768).
 * Per pair of k: four panel loads (8 rows × k, k+1) against broadcasts of x[k], x[k+1]; even and
 * odd k accumulate apart and are added at the end. Two input rows share each panel load; every
 * row's arithmetic is the same as alone, so batched decode is bitwise equal to single decode.
 */
export function matvec_f32p(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32, tid: i32, nth: i32): void {
  split(OC, 8, tid, nth);
  const panelBytes = <usize>K << 5;
  const rowBytes = <usize>K << 2;
  for (let o = partStart; o < partEnd; o += 8) {
    const p0 = w + <usize>(o >> 3) * panelBytes;
    let n = 0;
    for (; n + 2 <= N; n += 2) {
      const xa = x + <usize>n * rowBytes, xb = xa + rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
      let p = p0;
      let k = 0;
      for (; k + 2 <= K; k += 2) {
        const w0 = v128.load(p), w1 = v128.load(p, 16), w2 = v128.load(p, 32), w3 = v128.load(p, 48);
        const off = <usize>(k << 2);
        let s0 = v128.load32_splat(xa + off), s1 = v128.load32_splat(xa + off, 4);
        a0 = fma(w0, s0, a0); a1 = fma(w1, s0, a1); a2 = fma(w2, s1, a2); a3 = fma(w3, s1, a3);
        s0 = v128.load32_splat(xb + off); s1 = v128.load32_splat(xb + off, 4);
        b0 = fma(w0, s0, b0); b1 = fma(w1, s0, b1); b2 = fma(w2, s1, b2); b3 = fma(w3, s1, b3);
        p += 64;
      }
      if (k < K) {
        const w0 = v128.load(p), w1 = v128.load(p, 16);
        const off = <usize>(k << 2);
        let s0 = v128.load32_splat(xa + off);
        a0 = fma(w0, s0, a0); a1 = fma(w1, s0, a1);
        s0 = v128.load32_splat(xb + off);
        b0 = fma(w0, s0, b0); b1 = fma(w1, s0, b1);
      }
      const op = out + ((<usize>n * <usize>OC + <usize>o) << 2);
      v128.store(op, f32x4.add(a0, a2)); v128.store(op, f32x4.add(a1, a3), 16);
      const oq = op + (<usize>OC << 2);
      v128.store(oq, f32x4.add(b0, b2)); v128.store(oq, f32x4.add(b1, b3), 16);
    }
    for (; n < N; n++) {
      const xa = x + <usize>n * rowBytes;
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
      let p = p0;
      let k = 0;
      for (; k + 2 <= K; k += 2) {
        const off = <usize>(k << 2);
        const s0 = v128.load32_splat(xa + off), s1 = v128.load32_splat(xa + off, 4);
        a0 = fma(v128.load(p), s0, a0); a1 = fma(v128.load(p, 16), s0, a1);
        a2 = fma(v128.load(p, 32), s1, a2); a3 = fma(v128.load(p, 48), s1, a3);
        p += 64;
      }
      if (k < K) {
        const s0 = v128.load32_splat(xa + <usize>(k << 2));
        a0 = fma(v128.load(p), s0, a0); a1 = fma(v128.load(p, 16), s0, a1);
      }
      const op = out + ((<usize>n * <usize>OC + <usize>o) << 2);
      v128.store(op, f32x4.add(a0, a2)); v128.store(op, f32x4.add(a1, a3), 16);
    }
  }
}

/**
 * f16 weights widened in registers: sign-extend to i32, shift the bits into place and clear the
 * three copies of the sign that land in the exponent field, then scale by 2^112 — exact for
 * normal and subnormal halves in 4 operations per 4 weights. Infinity/NaN would come out as
 * large finite numbers, so the loop also ORs a flag of "exponent all ones" and a row that has
 * any is recomputed exactly with the table.
 */
// @ts-ignore: decorator
@inline function halfBitsToFloat(lanes: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(lanes, 13), i32x4.splat(0x8fffffff)), f32x4.splat(reinterpret<f32>(0x77800000)));
}

function dotF16Exact(wr: usize, xn: usize, K: i32): f32 {
  let s: f32 = 0;
  for (let k = 0; k < K; k++) s += f16(load<u16>(wr + <usize>(k << 1))) * load<f32>(xn + <usize>(k << 2));
  return s;
}

export function matvec_f16(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32, tid: i32, nth: i32): void {
  split(OC, 2, tid, nth);
  const rowBytes = <usize>K << 1;
  const expMask = i16x8.splat(0x7c00);
  for (let o = partStart; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      const xn = x + ((<usize>n * <usize>K) << 2);
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      let special = i16x8.splat(0);
      let k = 0;
      for (; k + 8 <= K; k += 8) {
        const h = v128.load(wr + <usize>(k << 1));
        const xo = xn + <usize>(k << 2);
        special = v128.or(special, i16x8.eq(v128.and(h, expMask), expMask));
        a0 = fma(halfBitsToFloat(i32x4.extend_low_i16x8_s(h)), v128.load(xo), a0);
        a1 = fma(halfBitsToFloat(i32x4.extend_high_i16x8_s(h)), v128.load(xo, 16), a1);
      }
      let s = hsum(f32x4.add(a0, a1));
      for (; k < K; k++) s += f16(load<u16>(wr + <usize>(k << 1))) * load<f32>(xn + <usize>(k << 2));
      if (v128.any_true(special)) s = dotF16Exact(wr, xn, K);
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), s);
    }
  }
}

/**
 * Quantizes N rows of x[N,K] (K a multiple of 32) per 32-block as quantize.ts does: int16 values
 * xq[N,K], int8 copies x8[N,K], scales xd[N, K/32] and the blocks' integer sums xs[N, K/32] (the
 * zero-point term of q4_0's biased nibbles).
 */
function quantizeRowsQ8(x: usize, N: i32, K: i32, xq: usize, xd: usize, x8: usize, xs: usize): void {
  const nb = K >> 5;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nb; b++) {
      const e = n * K + b * 32;
      const dst = xq + (<usize>e << 1);
      store<f32>(xd + (<usize>(n * nb + b) << 2), quantizeBlock32(x + (<usize>e << 2), dst));
      store<i32>(xs + (<usize>(n * nb + b) << 2), blockSum);
      for (let j = 0; j < 32; j += 16) {
        v128.store(x8 + <usize>(e + j), i8x16.narrow_i16x8_s(v128.load(dst + <usize>(j << 1)), v128.load(dst + <usize>(j << 1), 16)));
      }
    }
  }
}

/** Bytes of per-thread scratch the quantized matvec needs for N rows of K. */
export function matvecQScratch(N: i32, K: i32): i32 { return N * K * 3 + N * (K >> 5) * 8 + 64; }

/** c = fma(S, dw·dx, c) on four lanes: the per-block step gemm-q.ts takes too. */
// @ts-ignore: decorator
@inline function scaleInto(s: v128, w: v128, dx: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(f32x4.convert_i32x4_s(s), f32x4.mul(w, dx), c);
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(w, dx)), c);
}

/** Σ xq·wq over one q8_0 block (int16 activations at xp), as four i32 partial sums. */
// @ts-ignore: decorator
@inline function dotQ8(blk: usize, xp: usize): v128 {
  const q0 = v128.load(blk, 2);
  const q1 = v128.load(blk, 18);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q0), v128.load(xp));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q0), v128.load(xp, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q1), v128.load(xp, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q1), v128.load(xp, 48)));
}

/**
 * Σ xq·(nib - 8) over one q4_0 block, as four i32 partial sums. The relaxed build takes the raw
 * nibbles (0..15, valid 7-bit operands) through the int8 dot product (pmaddubsw on x86) and the
 * caller subtracts 8·Σxq; the plain build widens (nib - 8) to int16. (The fused
 * i32x4.relaxed_dot_i8x16_i7x16_add_s gave doubled sums and ignored its addend on Node 20's V8 —
 * measured — so it is not used.)
 */
// @ts-ignore: decorator
@inline function dotQ4(blk: usize, xp16: usize, xp8: usize): v128 {
  const q = v128.load(blk, 2);
  const low4 = i8x16.splat(0x0f);
  if (ASC_FEATURE_RELAXED_SIMD) {
    // pair sums of both halves fit in i16 (2·2·127·15), so they are added before one widening
    return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp8), v128.and(q, low4)),
      i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp8, 16), i8x16.shr_u(q, 4))));
  }
  const eight = i8x16.splat(8);
  const lo = i8x16.sub(v128.and(q, low4), eight);      // elements 0..15
  const hi = i8x16.sub(i8x16.shr_u(q, 4), eight);      // elements 16..31
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), v128.load(xp16));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), v128.load(xp16, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), v128.load(xp16, 32)));
  return i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), v128.load(xp16, 48)));
}

/**
 * Quantized weights (q8_0: 34-byte blocks; q4_0: 18-byte blocks), one output row at a time (one
 * memory stream per thread): per block the integer dot product's four partial sums are scaled by
 * d_w·d_x into four float lanes, summed across lanes at the end. The integers are the prefill
 * gemm's (gemm-q.ts), so decode and prefill differ only in float rounding order (~1e-7 relative).
 */
// @ts-ignore: decorator
@inline function matvecQuant(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32, q4: bool,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  const nb = K >> 5;
  const xq = scratch + <usize>tid * scratchStride;
  const xd = xq + <usize>(N * K * 2);
  const xs = xd + <usize>(N * nb * 4);
  const x8 = xs + <usize>(N * nb * 4);
  quantizeRowsQ8(x, N, K, xq, xd, x8, xs); // every thread quantizes for itself: no barrier needed
  split(OC, 2, tid, nth);
  const blockBytes: usize = q4 ? 18 : 34;
  const rowBytes = <usize>nb * blockBytes;
  for (let o = partStart; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      let xp16 = xq + (<usize>(n * K) << 1), xp8 = x8 + <usize>(n * K);
      let pd = xd + (<usize>(n * nb) << 2), ps = xs + (<usize>(n * nb) << 2);
      let p = wr;
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        let s: v128;
        if (q4) {
          s = dotQ4(p, xp16, xp8);
          // the relaxed dot took the raw nibbles: Σ xq·(nib - 8) = Σ xq·nib - 8·Σxq, 2·Σxq per lane
          if (ASC_FEATURE_RELAXED_SIMD) s = i32x4.sub(s, i32x4.splat(load<i32>(ps) << 1));
        } else {
          s = dotQ8(p, xp16);
        }
        acc = scaleInto(s, f32x4.splat(f16(load<u16>(p))), v128.load32_splat(pd), acc);
        p += blockBytes; xp16 += 64; xp8 += 32; pd += 4; ps += 4;
      }
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), hsum(acc));
    }
  }
}

export function matvec_q8_0(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  matvecQuant(out, x, w, N, K, OC, false, scratch, scratchStride, tid, nth);
}

export function matvec_q4_0(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  matvecQuant(out, x, w, N, K, OC, true, scratch, scratchStride, tid, nth);
}

/** Bytes of per-thread scratch matvec_q4_k needs for N rows of K (int16 and int8 values, scales, block sums). */
export function matvecQ4KScratch(N: i32, K: i32): i32 { return N * K * 3 + N * (K >> 8) * 4 + N * (K >> 5) * 6 + 64; }

/**
 * Q4_K weights (144-byte superblocks of 256: f16 d, dmin, twelve bytes of 6-bit scales and mins,
 * 128 bytes of nibbles; quant-k.ts), activations rounded to Q8_K per 256 as llama.cpp does. Per
 * superblock, as ggml's vec_dot_q4_K_q8_K: sumi = Σ_j sc_j·Σ q·xq and summ = Σ_j m_j·Σ xq over
 * the eight sub-blocks j (exact integers), then s += dx·d·sumi − dx·dmin·summ. The scales and mins
 * are unpacked with 32-bit masks (four of each per word), the mins meet the activations' block sums
 * in one int16 dot product.
 */
export function matvec_q4_k(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  matvecK45(out, x, w, N, K, OC, false, scratch, scratchStride, tid, nth);
}

/** Q5_K (176-byte superblocks): Q4_K's layout and formula with a fifth bit per value in qh[32]. */
export function matvec_q5_k(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  matvecK45(out, x, w, N, K, OC, true, scratch, scratchStride, tid, nth);
}

// @ts-ignore: decorator
@inline function matvecK45(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32, five: bool,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  const nsb = K >> 8;
  const xq = scratch + <usize>tid * scratchStride;   // int16 [N, K]
  const x8 = xq + <usize>(N * K * 2);                // int8 [N, K]
  const xd = x8 + <usize>(N * K);                    // f32 [N, nsb]
  const xs = xd + <usize>(N * nsb * 4);              // i32 [N, K/32]: Σq per 32
  const xs16 = xs + <usize>(N * (K >> 5) * 4);       // int16 [N, K/32]: the same, narrowed
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < nsb; s++) {
      const e = n * K + s * 256;
      const dst = xq + (<usize>e << 1);
      const sums = xs + (<usize>(e >> 5) << 2);
      store<f32>(xd + (<usize>(n * nsb + s) << 2), quantizeBlock256K(x + (<usize>e << 2), dst, sums));
      v128.store(xs16 + (<usize>(e >> 5) << 1), i16x8.narrow_i32x4_s(v128.load(sums), v128.load(sums, 16)));
      for (let j = 0; j < 256; j += 16) {
        v128.store(x8 + <usize>(e + j), i8x16.narrow_i16x8_s(v128.load(dst + <usize>(j << 1)), v128.load(dst + <usize>(j << 1), 16)));
      }
    }
  }
  split(OC, 2, tid, nth);
  const blockBytes: usize = five ? 176 : 144;
  const qs: usize = five ? 48 : 16;
  const rowBytes = <usize>nsb * blockBytes;
  const low4 = i8x16.splat(0x0f);
  for (let o = partStart; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      let acc: f32 = 0;
      let blk = wr;
      let xp8 = x8 + <usize>(n * K), xp16 = xq + (<usize>(n * K) << 1);
      let bs = xs16 + (<usize>(n * (K >> 5)) << 1);
      let pd = xd + (<usize>(n * nsb) << 2);
      for (let s = 0; s < nsb; s++) {
        const u0 = load<u32>(blk, 4), u1 = load<u32>(blk, 8), u2 = load<u32>(blk, 12);
        const scLo = u0 & 0x3f3f3f3f, scHi = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
        const mLo = u1 & 0x3f3f3f3f, mHi = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
        const sv = i16x8.extend_low_i8x16_u(i32x4.replace_lane(i32x4.splat(scLo), 1, scHi));
        const mv = i16x8.extend_low_i8x16_u(i32x4.replace_lane(i32x4.splat(mLo), 1, mHi));
        const summ = i32x4.dot_i16x8_s(mv, v128.load(bs));
        let isum = i32x4.splat(0);
        const h0 = five ? v128.load(blk, 16) : i8x16.splat(0), h1 = five ? v128.load(blk, 32) : i8x16.splat(0);
        isum = i32x4.add(isum, k45Pair(blk + qs, h0, h1, 0, five, v128.shuffle<i16>(sv, sv, 0,0,0,0,0,0,0,0), v128.shuffle<i16>(sv, sv, 1,1,1,1,1,1,1,1), xp8, xp16));
        isum = i32x4.add(isum, k45Pair(blk + qs + 32, h0, h1, 1, five, v128.shuffle<i16>(sv, sv, 2,2,2,2,2,2,2,2), v128.shuffle<i16>(sv, sv, 3,3,3,3,3,3,3,3), xp8 + 64, xp16 + 128));
        isum = i32x4.add(isum, k45Pair(blk + qs + 64, h0, h1, 2, five, v128.shuffle<i16>(sv, sv, 4,4,4,4,4,4,4,4), v128.shuffle<i16>(sv, sv, 5,5,5,5,5,5,5,5), xp8 + 128, xp16 + 256));
        isum = i32x4.add(isum, k45Pair(blk + qs + 96, h0, h1, 3, five, v128.shuffle<i16>(sv, sv, 6,6,6,6,6,6,6,6), v128.shuffle<i16>(sv, sv, 7,7,7,7,7,7,7,7), xp8 + 192, xp16 + 384));
        // lanes 0..3: Σ sc·S partials; the mins' four partials summed alongside
        const t = i32x4.add(isum, v128.shuffle<i32>(isum, isum, 2, 3, 0, 1));
        const m = i32x4.add(summ, v128.shuffle<i32>(summ, summ, 2, 3, 0, 1));
        const sumi = i32x4.extract_lane(t, 0) + i32x4.extract_lane(t, 1);
        const sm = i32x4.extract_lane(m, 0) + i32x4.extract_lane(m, 1);
        const dx = load<f32>(pd);
        acc += dx * f16(load<u16>(blk)) * <f32>sumi - dx * f16(load<u16>(blk, 2)) * <f32>sm;
        blk += blockBytes; xp8 += 256; xp16 += 512; bs += 16; pd += 4;
      }
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), acc);
    }
  }
}

/**
 * Sub-blocks 2i and 2i+1 of a Q4_K / Q5_K superblock: their values from the 32 bytes of nibbles at
 * q (low halves: 2i, high halves: 2i+1), plus for Q5_K the fifth bits (bits 2i and 2i+1 of the
 * 32 bytes h0, h1); sc0, sc1 their scales broadcast. i is a constant at every call.
 */
// @ts-ignore: decorator
@inline function k45Pair(q: usize, h0: v128, h1: v128, i: i32, five: bool, sc0: v128, sc1: v128, xp8: usize, xp16: usize): v128 {
  const low4 = i8x16.splat(0x0f);
  const q0 = v128.load(q), q1 = v128.load(q, 16);
  let l0 = v128.and(q0, low4), l1 = v128.and(q1, low4), u0 = i8x16.shr_u(q0, 4), u1 = i8x16.shr_u(q1, 4);
  if (five) {
    const b0 = i8x16.splat(<i8>(<i32>1 << <i32>(2 * i))), b1 = i8x16.splat(<i8>(<i32>2 << <i32>(2 * i)));
    l0 = v128.or(l0, fifthBit(v128.and(h0, b0), 2 * i)); l1 = v128.or(l1, fifthBit(v128.and(h1, b0), 2 * i));
    u0 = v128.or(u0, fifthBit(v128.and(h0, b1), 2 * i + 1)); u1 = v128.or(u1, fifthBit(v128.and(h1, b1), 2 * i + 1));
  }
  return subPair(l0, l1, u0, u1, xp8, xp16, sc0, sc1);
}

/**
 * Σ sc0·(Σ q·xq over sub-block 2i) + sc1·(same over 2i+1) as four i32 partial sums: l0, l1 the 32
 * values of sub-block 2i and u0, u1 those of 2i+1 (bytes 0..31, valid 7-bit operands of the relaxed
 * int8 dot product; pair sums of both halves fit in i16: 2·2·127·31); xp8/xp16 are the 64
 * activations (int8 / int16); sc0, sc1 are the scales broadcast to eight int16 lanes.
 */
// @ts-ignore: decorator
@inline function subPair(l0: v128, l1: v128, u0: v128, u1: v128, xp8: usize, xp16: usize, sc0: v128, sc1: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const plo = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp8), l0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp8, 16), l1));
    const phi = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp8, 32), u0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp8, 48), u1));
    return i32x4.add(i32x4.dot_i16x8_s(plo, sc0), i32x4.dot_i16x8_s(phi, sc1));
  }
  let a = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(l0), v128.load(xp16));
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(l0), v128.load(xp16, 16)));
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(l1), v128.load(xp16, 32)));
  a = i32x4.add(a, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(l1), v128.load(xp16, 48)));
  let b = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(u0), v128.load(xp16, 64));
  b = i32x4.add(b, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(u0), v128.load(xp16, 80)));
  b = i32x4.add(b, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(u1), v128.load(xp16, 96)));
  b = i32x4.add(b, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(u1), v128.load(xp16, 112)));
  return i32x4.add(i32x4.mul(a, i32x4.extend_low_i16x8_s(sc0)), i32x4.mul(b, i32x4.extend_low_i16x8_s(sc1)));
}

/** A byte lane's bit `bit` (the only one set) moved to bit 4 (the value 16). */
// @ts-ignore: decorator
@inline function fifthBit(v: v128, bit: i32): v128 {
  if (bit < 4) return i8x16.shl(v, 4 - bit);
  if (bit > 4) return i8x16.shr_u(v, bit - 4);
  return v;
}

/** Bytes of per-thread scratch matvec_q6_k needs for N rows of K. */
export function matvecQ6KScratch(N: i32, K: i32): i32 { return N * K * 3 + N * (K >> 8) * 4 + N * (K >> 5) * 4 + N * (K >> 4) * 2 + 64; }

/**
 * Σ sc·(q·x) over one 16-value group of a Q6_K superblock: q the 6-bit values (bytes 0..63, valid
 * 7-bit operands of the relaxed int8 dot product), xp8/xp16 the group's activations, sc its scale
 * broadcast to eight int16 lanes; four i32 partial sums. (The −32 offset is applied by the caller.)
 */
// @ts-ignore: decorator
@inline function q6Group(q: v128, xp8: usize, xp16: usize, sc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp8), q), sc);
  const a = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(q), v128.load(xp16)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(q), v128.load(xp16, 16)));
  return i32x4.mul(a, i32x4.extend_low_i16x8_s(sc));
}

/**
 * A quarter of a Q6_K superblock: the 16 values at offsets 0, 32, 64 and 96 from one of its four
 * starting points (low bits at ql and ql + 32, the pairs of high bits in qh), times their four
 * scales; four i32 partial sums of Σ sc·q·xq. The high bits are moved into place with masks.
 */
// @ts-ignore: decorator
@inline function q6Quarter(ql: usize, qh: usize, xp8: usize, xp16: usize, sa: v128, sb: v128, sc: v128, sd: v128): v128 {
  const low4 = i8x16.splat(0x0f);
  const l0 = v128.load(ql), l1 = v128.load(ql, 32), hb = v128.load(qh);
  const qa = v128.or(v128.and(l0, low4), i8x16.shl(v128.and(hb, i8x16.splat(3)), 4));
  const qb = v128.or(v128.and(l1, low4), i8x16.shl(v128.and(hb, i8x16.splat(12)), 2));
  const qc = v128.or(i8x16.shr_u(l0, 4), v128.and(hb, i8x16.splat(48)));
  const qd = v128.or(i8x16.shr_u(l1, 4), i8x16.shr_u(v128.and(hb, i8x16.splat(<i8>192)), 2));
  return i32x4.add(i32x4.add(q6Group(qa, xp8, xp16, sa), q6Group(qb, xp8 + 32, xp16 + 64, sb)),
    i32x4.add(q6Group(qc, xp8 + 64, xp16 + 128, sc), q6Group(qd, xp8 + 96, xp16 + 192, sd)));
}

/**
 * Q6_K weights (210-byte superblocks: 4 low bits in ql, 2 high bits in qh, sixteen int8 scales
 * of 16 values, f16 d; quant-k.ts), activations rounded to Q8_K per 256 as llama.cpp does:
 * s += dx·d·(Σ_k sc_k·Σ q·xq − 32·Σ_k sc_k·Σ xq), the sums exact integers.
 */
export function matvec_q6_k(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  const nsb = K >> 8;
  const xq = scratch + <usize>tid * scratchStride;   // int16 [N, K]
  const x8 = xq + <usize>(N * K * 2);                // int8 [N, K]
  const xd = x8 + <usize>(N * K);                    // f32 [N, nsb]
  const xs = xd + <usize>(N * nsb * 4);              // i32 [N, K/32] (quantizeBlock256K's sums, unused here)
  const xs16 = xs + <usize>(N * (K >> 5) * 4);       // int16 [N, K/16]: Σq per 16
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < nsb; s++) {
      const e = n * K + s * 256;
      const dst = xq + (<usize>e << 1);
      store<f32>(xd + (<usize>(n * nsb + s) << 2), quantizeBlock256K(x + (<usize>e << 2), dst, xs + (<usize>(e >> 5) << 2)));
      for (let j = 0; j < 256; j += 16) {
        const v0 = v128.load(dst + <usize>(j << 1)), v1 = v128.load(dst + <usize>(j << 1), 16);
        v128.store(x8 + <usize>(e + j), i8x16.narrow_i16x8_s(v0, v1));
        const p = i32x4.extadd_pairwise_i16x8_s(i16x8.add(v0, v1));
        store<i16>(xs16 + (<usize>((e + j) >> 4) << 1), <i16>(i32x4.extract_lane(p, 0) + i32x4.extract_lane(p, 1) + i32x4.extract_lane(p, 2) + i32x4.extract_lane(p, 3)));
      }
    }
  }
  split(OC, 2, tid, nth);
  const rowBytes = <usize>nsb * 210;
  for (let o = partStart; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      let acc: f32 = 0;
      for (let s = 0; s < nsb; s++) {
        const blk = wr + <usize>s * 210;
        const e = n * K + s * 256;
        const scv = v128.load(blk, 192);
        const bs = xs16 + (<usize>(e >> 4) << 1);
        const summ = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(scv), v128.load(bs)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(scv), v128.load(bs, 16)));
        // the sixteen scales as int16 lanes (0..7, 8..15), each broadcast where its group is summed
        const s0 = i16x8.extend_low_i8x16_s(scv), s1 = i16x8.extend_high_i8x16_s(scv);
        const p8 = x8 + <usize>e, p16 = xq + (<usize>e << 1);
        let isum = q6Quarter(blk, blk + 128, p8, p16, v128.shuffle<i16>(s0, s0, 0, 0, 0, 0, 0, 0, 0, 0), v128.shuffle<i16>(s0, s0, 2, 2, 2, 2, 2, 2, 2, 2),
          v128.shuffle<i16>(s0, s0, 4, 4, 4, 4, 4, 4, 4, 4), v128.shuffle<i16>(s0, s0, 6, 6, 6, 6, 6, 6, 6, 6));
        isum = i32x4.add(isum, q6Quarter(blk + 16, blk + 144, p8 + 16, p16 + 32, v128.shuffle<i16>(s0, s0, 1, 1, 1, 1, 1, 1, 1, 1), v128.shuffle<i16>(s0, s0, 3, 3, 3, 3, 3, 3, 3, 3),
          v128.shuffle<i16>(s0, s0, 5, 5, 5, 5, 5, 5, 5, 5), v128.shuffle<i16>(s0, s0, 7, 7, 7, 7, 7, 7, 7, 7)));
        isum = i32x4.add(isum, q6Quarter(blk + 64, blk + 160, p8 + 128, p16 + 256, v128.shuffle<i16>(s1, s1, 0, 0, 0, 0, 0, 0, 0, 0), v128.shuffle<i16>(s1, s1, 2, 2, 2, 2, 2, 2, 2, 2),
          v128.shuffle<i16>(s1, s1, 4, 4, 4, 4, 4, 4, 4, 4), v128.shuffle<i16>(s1, s1, 6, 6, 6, 6, 6, 6, 6, 6)));
        isum = i32x4.add(isum, q6Quarter(blk + 80, blk + 176, p8 + 144, p16 + 288, v128.shuffle<i16>(s1, s1, 1, 1, 1, 1, 1, 1, 1, 1), v128.shuffle<i16>(s1, s1, 3, 3, 3, 3, 3, 3, 3, 3),
          v128.shuffle<i16>(s1, s1, 5, 5, 5, 5, 5, 5, 5, 5), v128.shuffle<i16>(s1, s1, 7, 7, 7, 7, 7, 7, 7, 7)));
        const t4 = i32x4.sub(isum, i32x4.shl(summ, 5));
        const tt = i32x4.add(t4, v128.shuffle<i32>(t4, t4, 2, 3, 0, 1));
        const sumi = i32x4.extract_lane(tt, 0) + i32x4.extract_lane(tt, 1);
        acc += load<f32>(xd + (<usize>(n * nsb + s) << 2)) * f16(load<u16>(blk, 208)) * <f32>sumi;
      }
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), acc);
    }
  }
}
