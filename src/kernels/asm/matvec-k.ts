// Decode matrix-vector products for the K-quants Q4_K, Q5_K and Q6_K (superblocks of 256,
// quant-k.ts): each input row is rounded to Q8_K per 256 as llama.cpp does (quantize.ts), and every
// superblock's integer sums (sub-block scales applied in integers) are scaled by its d·dx, as
// ggml's vec_dot_q{4,5,6}_K_q8_K.
import { fma, hsum, split, partStart, partEnd } from './simd';

import { f16 } from './gemm';
import { quantizeBlock256K } from './quantize';

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
      let acc = f32x4.splat(0);
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
        // four lanes of partial sums, scaled and kept in four float lanes until the row's end
        const dx = load<f32>(pd);
        acc = fma(f32x4.convert_i32x4_s(isum), f32x4.splat(dx * f16(load<u16>(blk))), acc);
        acc = fma(f32x4.convert_i32x4_s(summ), f32x4.splat(-(dx * f16(load<u16>(blk, 2)))), acc);
        blk += blockBytes; xp8 += 256; xp16 += 512; bs += 16; pd += 4;
      }
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), hsum(acc));
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
      let acc = f32x4.splat(0);
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
        const t4 = i32x4.sub(isum, i32x4.shl(summ, 5)); // four lanes of partial sums, kept in float lanes
        acc = fma(f32x4.convert_i32x4_s(t4), f32x4.splat(load<f32>(xd + (<usize>(n * nsb + s) << 2)) * f16(load<u16>(blk, 208))), acc);
      }
      store<f32>(out + ((<usize>n * <usize>OC + <usize>o) << 2), hsum(acc));
    }
  }
}
