// Decode matrix-vector products out[n, o] = Σ_k x[n,k] W[o,k] for a few input rows (the decode
// step, or a server's batch of them), reading the weight once in its stored type. Memory-bound:
// the loops are shaped so every weight byte is loaded once and the (small) inputs stay in L1. Work
// is split over output rows. Float weights here: f32 (row-major or in panels of 8 rows) and f16
// (widened with integer bit operations: no f16 SIMD in wasm); the block-quantized ones in
// matvec-q.ts (Q8_0, Q4_0) and matvec-k.ts (the K-quants).
import { fma, hsum, split, partStart, partEnd } from './simd';
import { f16 } from './gemm';

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
