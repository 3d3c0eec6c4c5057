// Decode matrix-vector products out[n, o] = Σ_k x[n,k] W[o,k] for a few input rows (N <= 3),
// reading the weight once in its stored type. Memory-bound: the loops are shaped so every weight
// byte is loaded once and the (small) inputs stay in L1. Work is split over output rows.
//   f32 / f16: float dot products (f16 widened with integer bit operations: no f16 SIMD in wasm).
//   q8_0 / q4_0: the input row is quantized to int8 per 32-block (as llama.cpp does) and held as
//   int16; block dots use i32x4.dot_i16x8_s, scaled by d_w * d_x per block.
import { fma, hsum, split, partStart, partEnd, halfToFloatV } from './simd';
import { f16 } from './gemm';

export const MATVEC_MAX_N: i32 = 3;

export function matvec_f32(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32, tid: i32, nth: i32): void {
  split(OC, 4, tid, nth);
  const rowBytes = <usize>K << 2;
  let o = partStart;
  for (; o + 4 <= partEnd; o += 4) {
    const w0 = w + <usize>o * rowBytes, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
    for (let n = 0; n < N; n++) {
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

export function matvec_f16(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32, tid: i32, nth: i32): void {
  split(OC, 2, tid, nth);
  const rowBytes = <usize>K << 1;
  for (let o = partStart; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      const xn = x + ((<usize>n * <usize>K) << 2);
      let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
      let k = 0;
      for (; k + 8 <= K; k += 8) {
        const h = v128.load(wr + <usize>(k << 1));
        const xo = xn + <usize>(k << 2);
        a0 = fma(halfToFloatV(i32x4.extend_low_i16x8_u(h)), v128.load(xo), a0);
        a1 = fma(halfToFloatV(i32x4.extend_high_i16x8_u(h)), v128.load(xo, 16), a1);
      }
      let s = hsum(f32x4.add(a0, a1));
      for (; k < K; k++) s += f16(load<u16>(wr + <usize>(k << 1))) * load<f32>(xn + <usize>(k << 2));
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), s);
    }
  }
}

/**
 * Quantizes N rows of x[N,K] (K a multiple of 32) into int16 values q[N,K] (in [-127, 127]) and
 * per-block scales d[N, K/32] (d = max|x|/127), written to xq and xd.
 */
function quantizeRowsQ8(x: usize, N: i32, K: i32, xq: usize, xd: usize): void {
  const nb = K >> 5;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nb; b++) {
      const src = x + ((<usize>(n * K + b * 32)) << 2);
      let amax = f32x4.splat(0);
      for (let j = 0; j < 32; j += 4) amax = f32x4.max(amax, f32x4.abs(v128.load(src + <usize>(j << 2))));
      const m = max(max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)),
        max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
      const d: f32 = m / 127;
      const id = f32x4.splat(d > 0 ? <f32>1 / d : 0);
      store<f32>(xd + (<usize>(n * nb + b) << 2), d);
      const dst = xq + (<usize>(n * K + b * 32) << 1);
      for (let j = 0; j < 32; j += 8) {
        const lo = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(src + <usize>(j << 2)), id)));
        const hi = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(src + <usize>((j + 4) << 2)), id)));
        v128.store(dst + <usize>(j << 1), i16x8.narrow_i32x4_s(lo, hi));
      }
    }
  }
}

/** Bytes of per-thread scratch the quantized matvec needs for N rows of K. */
export function matvecQScratch(N: i32, K: i32): i32 { return N * K * 2 + N * (K >> 5) * 4; }

export function matvec_q8_0(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  const xq = scratch + <usize>tid * scratchStride;
  const xd = xq + <usize>(N * K * 2);
  quantizeRowsQ8(x, N, K, xq, xd); // every thread quantizes for itself: no barrier needed
  split(OC, 2, tid, nth);
  const nb = K >> 5;
  const rowBytes = <usize>(nb * 34);
  for (let o = partStart; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      const xqn = xq + (<usize>(n * K) << 1);
      const xdn = xd + (<usize>(n * nb) << 2);
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const blk = wr + <usize>(b * 34);
        const xp = xqn + <usize>(b << 6);
        const q0 = v128.load(blk, 2);
        const q1 = v128.load(blk, 18);
        let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q0), v128.load(xp));
        s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q0), v128.load(xp, 16)));
        s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(q1), v128.load(xp, 32)));
        s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(q1), v128.load(xp, 48)));
        acc = fma(f32x4.convert_i32x4_s(s), f32x4.splat(f16(load<u16>(blk)) * load<f32>(xdn + <usize>(b << 2))), acc);
      }
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), hsum(acc));
    }
  }
}

export function matvec_q4_0(out: usize, x: usize, w: usize, N: i32, K: i32, OC: i32,
  scratch: usize, scratchStride: usize, tid: i32, nth: i32): void {
  const xq = scratch + <usize>tid * scratchStride;
  const xd = xq + <usize>(N * K * 2);
  quantizeRowsQ8(x, N, K, xq, xd);
  split(OC, 2, tid, nth);
  const nb = K >> 5;
  const rowBytes = <usize>(nb * 18);
  const low4 = i8x16.splat(0x0f);
  const eight = i8x16.splat(8);
  for (let o = partStart; o < partEnd; o++) {
    const wr = w + <usize>o * rowBytes;
    for (let n = 0; n < N; n++) {
      const xqn = xq + (<usize>(n * K) << 1);
      const xdn = xd + (<usize>(n * nb) << 2);
      let acc = f32x4.splat(0);
      for (let b = 0; b < nb; b++) {
        const blk = wr + <usize>(b * 18);
        const xp = xqn + <usize>(b << 6);
        const q = v128.load(blk, 2);
        const lo = i8x16.sub(v128.and(q, low4), eight);      // elements 0..15
        const hi = i8x16.sub(i8x16.shr_u(q, 4), eight);        // elements 16..31
        let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), v128.load(xp));
        s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), v128.load(xp, 16)));
        s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), v128.load(xp, 32)));
        s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), v128.load(xp, 48)));
        acc = fma(f32x4.convert_i32x4_s(s), f32x4.splat(f16(load<u16>(blk)) * load<f32>(xdn + <usize>(b << 2))), acc);
      }
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), hsum(acc));
    }
  }
}
