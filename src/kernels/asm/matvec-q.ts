// Decode matrix-vector products for GGUF's Q8_0 and Q4_0 weights (blocks of 32): each input row
// is quantized per 32-block as llama.cpp does (quantize.ts) and held as int16 (and int8 for the
// relaxed dot product); every block's exact integer dot product is scaled by d_w·d_x.
import { hsum, scaleInto, split, partStart, partEnd } from './simd';
import { f16 } from './gemm';
import { quantizeBlock32, blockSum } from './quantize';

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
