// The prefill product for block-quantized weights, in integers: C[M,N] (=|+=) A[M,K] · W[N,K]^T
// with W stored as q8_0 or q4_0 (GGUF blocks of 32 along K) and A f32 row-major. A is quantized
// per 32-block as llama.cpp does (quantize.ts); each (row, column, block) product
//   S = Σ_k xq[k] · wq[k]   (an exact int32, from i32x4.dot_i16x8_s on int16 panels)
// enters C as  c = fma(S, d_w · d_x, c), block after block in K order, starting from C's old value
// when accumulating. The decode kernels (matvec.ts) compute the same integers.
//
// Structure as in gemm.ts (BLIS), but with rows in the vector lanes: A is quantized once per call
// into int16 panels of 8 rows ([block][pair of k][8 rows][2 × int16], gemm_q_pack_a), and W's rows
// (C's columns) are widened to int16 in place order ([block][column][32 × int16]), which needs no
// transposing: packing W costs about as much as reading it. The 8×4 micro-kernel takes, per pair
// of k, two vectors of A (8 rows) and four 32-bit broadcasts of W, for eight dot products; these
// issue on the multiply ports and their adds on the integer ALUs, so it runs ahead of the f32
// micro-kernel, whose fused multiply-adds all queue on the two FMA ports. C's 8×4 tile is
// transposed once per K block on its way in and out.
//
// Q4_K weights (quant-k.ts) are affine per 32-value sub-block, w = a·q − b with a = d·sc and
// b = dmin·m: each block adds c += S·a·dx − Σxq·b·dx, and A is rounded to Q8_K per 256 values
// (llama.cpp's rule for K-quants: one scale for the eight blocks of a superblock), so K blocks are
// whole superblocks.
import { claim } from './simd';
import { f16, B_NT_Q8_0, B_NT_Q4_0 } from './gemm';
import { quantizeBlock32, quantizeBlock256K, blockSum } from './quantize';

export const B_NT_Q4_K: i32 = 6;
export const B_NT_Q6_K: i32 = 7;
export const B_NT_Q5_K: i32 = 8;

/** K-quant weights: activations rounded to Q8_K per 256 values, K blocks of one superblock. */
// @ts-ignore: decorator
@inline function isK(kind: i32): bool { return kind == B_NT_Q4_K || kind == B_NT_Q5_K || kind == B_NT_Q6_K; }

const KC_MAX: i32 = 384; // a multiple of 32
const NC: i32 = 256;

// @ts-ignore: decorator
@inline function kBlock(K: i32, kind: i32): i32 {
  if (isK(kind)) return 256; // one superblock
  const nk = (K + KC_MAX - 1) / KC_MAX;
  return min(KC_MAX, (((K + nk - 1) / nk) + 31) & ~31);
}

/** Transposes four vectors of four 32-bit lanes (rows r0..r3) and stores column j at dst + j·stride. */
// @ts-ignore: decorator
@inline function transposeStore(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize): void {
  const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + stride, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * stride, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * stride, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7));
}

/**
 * Quantizes rows i0..i0+rows (rows <= 8) of A[·, 0..K) (row stride lda floats) into one 8-row int16
 * panel at dst ([block][pair of k][8 rows][2 × int16], 512 bytes per block of 32), with the
 * blocks' scales at dsc and their sums Σq at dsum ([block][8] f32 each); rows past `rows` are zero.
 * k256 (Q4_K weights): Q8_K rounding, one scale per superblock of 256. tmp: 4 KiB + 256 B.
 */
function packPanelA(dst: usize, dsc: usize, dsum: usize, a: usize, lda: i32, i0: i32, rows: i32, K: i32, k256: bool, tmp: usize): void {
  const sums = tmp + 4096; // eight rows × eight i32 block sums, after the rows
  const span = k256 ? 256 : 32; // values quantized per call, rows at tmp + r·2·span
  for (let p0 = 0; p0 < K; p0 += span) {
    for (let r = 0; r < 8; r++) {
      const t = tmp + <usize>(r * span * 2);
      if (r >= rows) {
        memory.fill(t, 0, <usize>(span * 2));
        for (let b = 0; b < span >> 5; b++) {
          store<f32>(dsc + <usize>(((p0 >> 5) + b) * 32 + r * 4), 0);
          store<f32>(dsum + <usize>(((p0 >> 5) + b) * 32 + r * 4), 0);
        }
        continue;
      }
      const src = a + ((<usize>(i0 + r) * <usize>lda + <usize>p0) << 2);
      if (k256) {
        const d = quantizeBlock256K(src, t, sums + <usize>(r << 5));
        for (let b = 0; b < 8; b++) {
          store<f32>(dsc + <usize>(((p0 >> 5) + b) * 32 + r * 4), d);
          store<f32>(dsum + <usize>(((p0 >> 5) + b) * 32 + r * 4), <f32>load<i32>(sums + <usize>((r << 5) + (b << 2))));
        }
      } else {
        store<f32>(dsc + <usize>((p0 >> 5) * 32 + r * 4), quantizeBlock32(src, t));
        store<f32>(dsum + <usize>((p0 >> 5) * 32 + r * 4), <f32>blockSum);
      }
    }
    // row r's pairs (k, k+1) are 32-bit units: four rows × four pairs per transpose
    const rowStride = <usize>(span * 2);
    for (let b = 0; b < span >> 5; b++) {
      const out = dst + <usize>(((p0 >> 5) + b) << 9);
      for (let g = 0; g < 4; g++) {
        const o = tmp + <usize>((b << 6) + (g << 4));
        transposeStore(v128.load(o), v128.load(o + rowStride), v128.load(o + 2 * rowStride), v128.load(o + 3 * rowStride), out + <usize>(g << 7), 32);
        const h = o + 4 * rowStride;
        transposeStore(v128.load(h), v128.load(h + rowStride), v128.load(h + 2 * rowStride), v128.load(h + 3 * rowStride), out + <usize>(g << 7) + 16, 32);
      }
    }
  }
}

/** Bytes gemm_q_pack_a writes for M rows of K: int16 panels, then scales, then sums. */
export function gemmQPackedBytes(M: i32, K: i32): i32 { const m8 = (M + 7) & ~7; return m8 * K * 2 + m8 * (K >> 5) * 8; }

/**
 * A[M,K] quantized and packed once for a whole gemm_q call (panels of 8 rows over all of K, at
 * dst, the layout packPanelA writes; scales and sums after them), the panels claimed from
 * `counter` by the threads. Quantizing inside every block of C instead repeated it once per 256
 * columns: a fifth of the product's time.
 */
export function gemm_q_pack_a(a: usize, lda: i32, kind: i32, M: i32, K: i32, dst: usize,
  scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const tmp = scratch + <usize>tid * scratchStride;
  const m8 = (M + 7) & ~7;
  const dsc = dst + <usize>(m8 * K * 2), dsum = dsc + <usize>(m8 * (K >> 5) * 4);
  const panels = m8 >> 3;
  const nibbles = usesNibbles(kind);
  for (let p = claim(counter); p < panels; p = claim(counter)) {
    const i0 = p << 3;
    // the nibble path keeps int8 panels ([pair][8 rows][2 × i8], at dst + i0·K): the int16 panel
    // is made in this thread's scratch (after tmp; 16·K bytes) and each pair's 32 bytes narrowed to 16
    const panel = nibbles ? tmp + 8192 : dst + <usize>(i0 * K * 2);
    packPanelA(panel, dsc + <usize>(i0 * (K >> 5) * 4), dsum + <usize>(i0 * (K >> 5) * 4),
      a, lda, i0, min(8, M - i0), K, isK(kind), tmp);
    if (nibbles) {
      const out = dst + <usize>(i0 * K);
      for (let kp = 0; kp < (K >> 1); kp++) {
        const q = panel + <usize>(kp << 5);
        v128.store(out + <usize>(kp << 4), i8x16.narrow_i16x8_s(v128.load(q), v128.load(q, 16)));
      }
    }
  }
}

/** Q4_0 and Q4_K take the nibble path where the relaxed int8 dot product exists. */
// @ts-ignore: decorator
@inline function usesNibbles(kind: i32): bool {
  return ASC_FEATURE_RELAXED_SIMD && (kind == B_NT_Q4_K || kind == B_NT_Q4_0);
}

/**
 * Widens W rows j0..j0+nc, K range p0..p0+kc to int16 panels of 4 columns at dst ([panel][block]
 * [column][32 × int16], 256 bytes per block) with scales at dsc ([panel][block][4] f32); columns
 * past nc are zero.
 */
function packBq(dst: usize, dsc: usize, doff: usize, w: usize, kind: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32): void {
  if (kind == B_NT_Q4_K || kind == B_NT_Q5_K) { packBq45(dst, dsc, doff, w, K, j0, nc, p0, kind == B_NT_Q5_K); return; }
  if (kind == B_NT_Q6_K) { packBq6k(dst, dsc, w, K, j0, nc, p0); return; }
  const nb = kc >> 5;
  const blockBytes: usize = kind == B_NT_Q8_0 ? 34 : 18;
  const low4 = i8x16.splat(0x0f), eight = i8x16.splat(8);
  for (let jp = 0; jp < nc + 3; jp += 4) {
    if (jp >= nc) break;
    const panel = dst + <usize>(jp * kc * 2);
    const scales = dsc + <usize>(jp * nb * 4);
    for (let c = 0; c < 4; c++) {
      let o = panel + <usize>(c << 6);
      let sp = scales + <usize>(c << 2);
      if (jp + c >= nc) {
        for (let b = 0; b < nb; b++) { memory.fill(o, 0, 64); store<f32>(sp, 0); o += 256; sp += 16; }
        continue;
      }
      let bp = w + <usize>(j0 + jp + c) * <usize>(K >> 5) * blockBytes + <usize>(p0 >> 5) * blockBytes;
      for (let b = 0; b < nb; b++) {
        let v0: v128, v1: v128;
        if (kind == B_NT_Q8_0) {
          v0 = v128.load(bp, 2); v1 = v128.load(bp, 18);
        } else {
          const q = v128.load(bp, 2);
          v0 = i8x16.sub(v128.and(q, low4), eight);   // elements 0..15
          v1 = i8x16.sub(i8x16.shr_u(q, 4), eight);   // elements 16..31
        }
        v128.store(o, i16x8.extend_low_i8x16_s(v0));
        v128.store(o, i16x8.extend_high_i8x16_s(v0), 16);
        v128.store(o, i16x8.extend_low_i8x16_s(v1), 32);
        v128.store(o, i16x8.extend_high_i8x16_s(v1), 48);
        store<f32>(sp, f16(load<u16>(bp)));
        bp += blockBytes; o += 256; sp += 16;
      }
    }
  }
}

/**
 * Q4_K (or Q5_K: `five`) rows j0..j0+nc, superblock p0/256: the 4-bit (5-bit) values as int16 in
 * packBq's layout, each sub-block's a = d·sc at dsc and −b = −dmin·m at doff ([panel][block][4] f32).
 */
function packBq45(dst: usize, dsc: usize, doff: usize, w: usize, K: i32, j0: i32, nc: i32, p0: i32, five: bool): void {
  const low4 = i8x16.splat(0x0f), one = i8x16.splat(1);
  const blockBytes: usize = five ? 176 : 144, qs: usize = five ? 48 : 16;
  for (let jp = 0; jp < nc; jp += 4) {
    const panel = dst + <usize>(jp * 512);
    const scales = dsc + <usize>(jp * 32), offs = doff + <usize>(jp * 32);
    for (let c = 0; c < 4; c++) {
      if (jp + c >= nc) {
        for (let b = 0; b < 8; b++) {
          memory.fill(panel + <usize>((b << 8) + (c << 6)), 0, 64);
          store<f32>(scales + <usize>((b * 4 + c) << 2), 0);
          store<f32>(offs + <usize>((b * 4 + c) << 2), 0);
        }
        continue;
      }
      const blk = w + (<usize>(j0 + jp + c) * <usize>(K >> 8) + <usize>(p0 >> 8)) * blockBytes;
      const d = f32x4.splat(f16(load<u16>(blk))), dmin = f32x4.splat(f16(load<u16>(blk, 2)));
      const h0 = v128.load(blk, 16), h1 = v128.load(blk, 32); // Q5_K's fifth bits
      // the eight 6-bit scales and mins (ggml's get_scale_min_k4, four per 32-bit word)
      const u0 = load<u32>(blk, 4), u1 = load<u32>(blk, 8), u2 = load<u32>(blk, 12);
      const sc = i32x4.replace_lane(i32x4.splat(u0 & 0x3f3f3f3f), 1, (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4));
      const mn = i32x4.replace_lane(i32x4.splat(u1 & 0x3f3f3f3f), 1, ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4));
      const sc16 = i16x8.extend_low_i8x16_u(sc), mn16 = i16x8.extend_low_i8x16_u(mn);
      const a0 = f32x4.mul(d, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(sc16)));
      const a1 = f32x4.mul(d, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(sc16)));
      const b0 = f32x4.neg(f32x4.mul(dmin, f32x4.convert_i32x4_u(i32x4.extend_low_i16x8_u(mn16))));
      const b1 = f32x4.neg(f32x4.mul(dmin, f32x4.convert_i32x4_u(i32x4.extend_high_i16x8_u(mn16))));
      // [block][4 columns] layout: column c of block b at (b·4 + c)·4
      const sp = scales + <usize>(c << 2), op = offs + <usize>(c << 2);
      store<f32>(sp, f32x4.extract_lane(a0, 0)); store<f32>(sp, f32x4.extract_lane(a0, 1), 16);
      store<f32>(sp, f32x4.extract_lane(a0, 2), 32); store<f32>(sp, f32x4.extract_lane(a0, 3), 48);
      store<f32>(sp, f32x4.extract_lane(a1, 0), 64); store<f32>(sp, f32x4.extract_lane(a1, 1), 80);
      store<f32>(sp, f32x4.extract_lane(a1, 2), 96); store<f32>(sp, f32x4.extract_lane(a1, 3), 112);
      store<f32>(op, f32x4.extract_lane(b0, 0)); store<f32>(op, f32x4.extract_lane(b0, 1), 16);
      store<f32>(op, f32x4.extract_lane(b0, 2), 32); store<f32>(op, f32x4.extract_lane(b0, 3), 48);
      store<f32>(op, f32x4.extract_lane(b1, 0), 64); store<f32>(op, f32x4.extract_lane(b1, 1), 80);
      store<f32>(op, f32x4.extract_lane(b1, 2), 96); store<f32>(op, f32x4.extract_lane(b1, 3), 112);
      // sub-blocks 2i (low nibbles) and 2i+1 (high nibbles) of qs[32i .. 32i+32)
      for (let i = 0; i < 4; i++) {
        const q0 = v128.load(blk + qs + <usize>(i << 5)), q1 = v128.load(blk + qs + 16 + <usize>(i << 5));
        let lo0 = v128.and(q0, low4), lo1 = v128.and(q1, low4), hi0 = i8x16.shr_u(q0, 4), hi1 = i8x16.shr_u(q1, 4);
        if (five) {
          // bit 2i of qh is the fifth bit of sub-block 2i, bit 2i+1 that of 2i+1
          lo0 = v128.or(lo0, i8x16.shl(v128.and(i8x16.shr_u(h0, 2 * i), one), 4));
          lo1 = v128.or(lo1, i8x16.shl(v128.and(i8x16.shr_u(h1, 2 * i), one), 4));
          hi0 = v128.or(hi0, i8x16.shl(v128.and(i8x16.shr_u(h0, 2 * i + 1), one), 4));
          hi1 = v128.or(hi1, i8x16.shl(v128.and(i8x16.shr_u(h1, 2 * i + 1), one), 4));
        }
        const o = panel + <usize>((i << 9) + (c << 6));
        v128.store(o, i16x8.extend_low_i8x16_u(lo0)); v128.store(o, i16x8.extend_high_i8x16_u(lo0), 16);
        v128.store(o, i16x8.extend_low_i8x16_u(lo1), 32); v128.store(o, i16x8.extend_high_i8x16_u(lo1), 48);
        v128.store(o, i16x8.extend_low_i8x16_u(hi0), 256); v128.store(o, i16x8.extend_high_i8x16_u(hi0), 272);
        v128.store(o, i16x8.extend_low_i8x16_u(hi1), 288); v128.store(o, i16x8.extend_high_i8x16_u(hi1), 304);
      }
    }
  }
}

/**
 * Q6_K rows j0..j0+nc, superblock p0/256 (quant-k.ts: 16 sub-blocks of 16 with int8 scales): each
 * value sc·(q − 32) as int16 (|sc·(q − 32)| <= 128·32 fits, and the products with int8 activations
 * stay exact in the int32 sums), in packBq's layout, the block scale d at dsc. The products are
 * then ggml's Σ sc·Σ (q − 32)·xq exactly.
 */
/** Sixteen 6-bit values q (bytes 0..63) stored as int16 sc·(q − 32) at o. */
// @ts-ignore: decorator
@inline function q6Store(o: usize, q: v128, sc: i8, off: v128): void {
  const s = i16x8.splat(<i16>sc);
  v128.store(o, i16x8.mul(i16x8.sub(i16x8.extend_low_i8x16_u(q), off), s));
  v128.store(o, i16x8.mul(i16x8.sub(i16x8.extend_high_i8x16_u(q), off), s), 16);
}

function packBq6k(dst: usize, dsc: usize, w: usize, K: i32, j0: i32, nc: i32, p0: i32): void {
  const low4 = i8x16.splat(0x0f), three = i8x16.splat(3), off = i16x8.splat(32);
  for (let jp = 0; jp < nc; jp += 4) {
    const panel = dst + <usize>(jp * 512);
    const scales = dsc + <usize>(jp * 32);
    for (let c = 0; c < 4; c++) {
      if (jp + c >= nc) {
        for (let b = 0; b < 8; b++) { memory.fill(panel + <usize>((b << 8) + (c << 6)), 0, 64); store<f32>(scales + <usize>((b * 4 + c) << 2), 0); }
        continue;
      }
      const blk = w + (<usize>(j0 + jp + c) * <usize>(K >> 8) + <usize>(p0 >> 8)) * 210;
      const d = f16(load<u16>(blk, 208));
      for (let b = 0; b < 8; b++) store<f32>(scales + <usize>((b * 4 + c) << 2), d);
      for (let h = 0; h < 2; h++) {
        const ql = blk + <usize>(h * 64), qh = blk + 128 + <usize>(h * 32), sc = blk + 192 + <usize>(h * 8);
        for (let t = 0; t < 2; t++) { // values t·16 .. t·16+16 of each of the four 32-value groups
          const l0 = v128.load(ql + <usize>(t << 4)), l1 = v128.load(ql + 32 + <usize>(t << 4)), hb = v128.load(qh + <usize>(t << 4));
          const b0 = h * 4;
          q6Store(panel + <usize>((b0 << 8) + (c << 6) + (t << 5)), v128.or(v128.and(l0, low4), i8x16.shl(v128.and(hb, three), 4)), load<i8>(sc + <usize>t), off);
          q6Store(panel + <usize>(((b0 + 1) << 8) + (c << 6) + (t << 5)), v128.or(v128.and(l1, low4), i8x16.shl(v128.and(i8x16.shr_u(hb, 2), three), 4)), load<i8>(sc + <usize>(2 + t)), off);
          q6Store(panel + <usize>(((b0 + 2) << 8) + (c << 6) + (t << 5)), v128.or(i8x16.shr_u(l0, 4), i8x16.shl(v128.and(i8x16.shr_u(hb, 4), three), 4)), load<i8>(sc + <usize>(4 + t)), off);
          q6Store(panel + <usize>(((b0 + 3) << 8) + (c << 6) + (t << 5)), v128.or(i8x16.shr_u(l1, 4), i8x16.shl(i8x16.shr_u(hb, 6), 4)), load<i8>(sc + <usize>(6 + t)), off);
        }
      }
    }
  }
}

/**
 * The nibble path (relaxed build, Q4_0 and Q4_K): W rows j0..j0+nc, K range p0..p0+kc kept as
 * bytes 0..15 in panels of 4 columns ([panel][block][column][32 × u8], 128 bytes per block), with
 * each block's scale a at dsc and offset −b at doff, w = a·q − b: Q4_0 has a = d, b = 8d; Q4_K
 * a = d·sc, b = dmin·m per sub-block.
 */
function packBNibbles(dst: usize, dsc: usize, doff: usize, w: usize, kind: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32): void {
  const nb = kc >> 5;
  const low4 = i8x16.splat(0x0f);
  for (let jp = 0; jp < nc; jp += 4) {
    const panel = dst + <usize>(jp * kc);
    const scales = dsc + <usize>(jp * nb * 4), offs = doff + <usize>(jp * nb * 4);
    for (let c = 0; c < 4; c++) {
      if (jp + c >= nc) {
        for (let b = 0; b < nb; b++) {
          memory.fill(panel + <usize>((b << 7) + (c << 5)), 0, 32);
          store<f32>(scales + <usize>((b * 4 + c) << 2), 0);
          store<f32>(offs + <usize>((b * 4 + c) << 2), 0);
        }
        continue;
      }
      const row = j0 + jp + c;
      if (kind == B_NT_Q4_K) {
        const blk = w + (<usize>row * <usize>(K >> 8) + <usize>(p0 >> 8)) * 144;
        const d = f16(load<u16>(blk)), dmin = f16(load<u16>(blk, 2));
        for (let b = 0; b < 8; b++) {
          const sc: u32 = b < 4 ? load<u8>(blk + 4 + b) & 63 : (load<u8>(blk + 8 + b) & 0xf) | ((load<u8>(blk + b) >> 6) << 4);
          const m: u32 = b < 4 ? load<u8>(blk + 8 + b) & 63 : (load<u8>(blk + 8 + b) >> 4) | ((load<u8>(blk + 4 + b) >> 6) << 4);
          store<f32>(scales + <usize>((b * 4 + c) << 2), d * <f32>sc);
          store<f32>(offs + <usize>((b * 4 + c) << 2), -(dmin * <f32>m));
          const q0 = v128.load(blk + 16 + <usize>((b >> 1) << 5)), q1 = v128.load(blk + 32 + <usize>((b >> 1) << 5));
          const o = panel + <usize>((b << 7) + (c << 5));
          v128.store(o, b & 1 ? i8x16.shr_u(q0, 4) : v128.and(q0, low4));
          v128.store(o, b & 1 ? i8x16.shr_u(q1, 4) : v128.and(q1, low4), 16);
        }
      } else {
        let bp = w + (<usize>row * <usize>(K >> 5) + <usize>(p0 >> 5)) * 18;
        for (let b = 0; b < nb; b++) {
          const d = f16(load<u16>(bp));
          store<f32>(scales + <usize>((b * 4 + c) << 2), d);
          store<f32>(offs + <usize>((b * 4 + c) << 2), -(<f32>8 * d));
          const q = v128.load(bp, 2);
          const o = panel + <usize>((b << 7) + (c << 5));
          v128.store(o, v128.and(q, low4));        // elements 0..15
          v128.store(o, i8x16.shr_u(q, 4), 16);    // elements 16..31
          bp += 18;
        }
      }
    }
  }
}

/** c = fma(S, d_w · d_x, c) on four lanes (rows) of one column. */
// @ts-ignore: decorator
@inline function scaleInto(s: v128, dw: v128, dx: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(f32x4.convert_i32x4_s(s), f32x4.mul(dw, dx), c);
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(dw, dx)), c);
}

// @ts-ignore: decorator
@inline function fmaF(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** 4×4 transpose of four vectors, returned through the module-level t0..t3. */
let t0: v128, t1: v128, t2: v128, t3: v128;
// @ts-ignore: decorator
@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128): void {
  const u0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5);
  const u1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
  const u2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7);
  const u3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
  t0 = v128.shuffle<i32>(u0, u1, 0, 1, 4, 5);
  t1 = v128.shuffle<i32>(u0, u1, 2, 3, 6, 7);
  t2 = v128.shuffle<i32>(u2, u3, 0, 1, 4, 5);
  t3 = v128.shuffle<i32>(u2, u3, 2, 3, 6, 7);
}

/**
 * The 8×4 tile at cp (row stride ldcBytes) over nb blocks of packed A (ap, xs) and W (bp, ws).
 * Accumulators hold columns: cjL = rows 0..3 of column j, cjH = rows 4..7. Per block, the int16
 * path takes 16 pairs of k: two A vectors (8 rows) and four 32-bit W broadcasts, eight int16 dot
 * products. The nibble path (nibbles: A int8 panels, 256 bytes per block; W bytes 0..15, valid
 * 7-bit operands of the relaxed int8 dot product, pmaddubsw on x86, 16 products per instruction)
 * takes one A vector per pair against four 16-bit W broadcasts; the pair sums (at most 2·127·15)
 * add up in int16 over 8 pairs before widening. Affine weights (woff != 0) add Σxq·(−b)·dx.
 */
function micro8x4q(ap: usize, xs: usize, bp: usize, ws: usize, nb: i32, cp: usize, ldcBytes: usize, accumulate: bool,
  xsum: usize, woff: usize, nibbles: bool): void {
  let c0L = f32x4.splat(0), c1L = f32x4.splat(0), c2L = f32x4.splat(0), c3L = f32x4.splat(0);
  let c0H = f32x4.splat(0), c1H = f32x4.splat(0), c2H = f32x4.splat(0), c3H = f32x4.splat(0);
  if (accumulate) {
    transpose4(v128.load(cp), v128.load(cp + ldcBytes), v128.load(cp + 2 * ldcBytes), v128.load(cp + 3 * ldcBytes));
    c0L = t0; c1L = t1; c2L = t2; c3L = t3;
    const cq = cp + 4 * ldcBytes;
    transpose4(v128.load(cq), v128.load(cq + ldcBytes), v128.load(cq + 2 * ldcBytes), v128.load(cq + 3 * ldcBytes));
    c0H = t0; c1H = t1; c2H = t2; c3H = t3;
  }
  for (let b = 0; b < nb; b++) {
    let s0L = i32x4.splat(0), s1L = i32x4.splat(0), s2L = i32x4.splat(0), s3L = i32x4.splat(0);
    let s0H = i32x4.splat(0), s1H = i32x4.splat(0), s2H = i32x4.splat(0), s3H = i32x4.splat(0);
    let wp = bp;
    if (nibbles) {
      for (let half = 0; half < 2; half++) {
        let u0 = i16x8.splat(0), u1 = i16x8.splat(0), u2 = i16x8.splat(0), u3 = i16x8.splat(0);
        for (let kp = 0; kp < 8; kp++) {
          const x = v128.load(ap);
          u0 = i16x8.add(u0, dotNibbles(x, v128.load16_splat(wp)));
          u1 = i16x8.add(u1, dotNibbles(x, v128.load16_splat(wp, 32)));
          u2 = i16x8.add(u2, dotNibbles(x, v128.load16_splat(wp, 64)));
          u3 = i16x8.add(u3, dotNibbles(x, v128.load16_splat(wp, 96)));
          ap += 16;
          wp += 2;
        }
        s0L = i32x4.add(s0L, i32x4.extend_low_i16x8_s(u0)); s0H = i32x4.add(s0H, i32x4.extend_high_i16x8_s(u0));
        s1L = i32x4.add(s1L, i32x4.extend_low_i16x8_s(u1)); s1H = i32x4.add(s1H, i32x4.extend_high_i16x8_s(u1));
        s2L = i32x4.add(s2L, i32x4.extend_low_i16x8_s(u2)); s2H = i32x4.add(s2H, i32x4.extend_high_i16x8_s(u2));
        s3L = i32x4.add(s3L, i32x4.extend_low_i16x8_s(u3)); s3H = i32x4.add(s3H, i32x4.extend_high_i16x8_s(u3));
      }
      bp += 128;
    } else {
      for (let kp = 0; kp < 16; kp++) {
        const xL = v128.load(ap), xH = v128.load(ap, 16);
        let y = v128.load32_splat(wp);
        s0L = i32x4.add(s0L, i32x4.dot_i16x8_s(xL, y)); s0H = i32x4.add(s0H, i32x4.dot_i16x8_s(xH, y));
        y = v128.load32_splat(wp, 64);
        s1L = i32x4.add(s1L, i32x4.dot_i16x8_s(xL, y)); s1H = i32x4.add(s1H, i32x4.dot_i16x8_s(xH, y));
        y = v128.load32_splat(wp, 128);
        s2L = i32x4.add(s2L, i32x4.dot_i16x8_s(xL, y)); s2H = i32x4.add(s2H, i32x4.dot_i16x8_s(xH, y));
        y = v128.load32_splat(wp, 192);
        s3L = i32x4.add(s3L, i32x4.dot_i16x8_s(xL, y)); s3H = i32x4.add(s3H, i32x4.dot_i16x8_s(xH, y));
        ap += 32;
        wp += 4;
      }
      bp += 256;
    }
    const dxL = v128.load(xs), dxH = v128.load(xs, 16);
    let dw = v128.load32_splat(ws);
    c0L = scaleInto(s0L, dw, dxL, c0L); c0H = scaleInto(s0H, dw, dxH, c0H);
    dw = v128.load32_splat(ws, 4);
    c1L = scaleInto(s1L, dw, dxL, c1L); c1H = scaleInto(s1H, dw, dxH, c1H);
    dw = v128.load32_splat(ws, 8);
    c2L = scaleInto(s2L, dw, dxL, c2L); c2H = scaleInto(s2H, dw, dxH, c2H);
    dw = v128.load32_splat(ws, 12);
    c3L = scaleInto(s3L, dw, dxL, c3L); c3H = scaleInto(s3H, dw, dxH, c3H);
    if (woff) {
      // affine weights: c += Σxq · (−b) · dx, Σxq the row's block sum
      const bL = f32x4.mul(v128.load(xsum), dxL), bH = f32x4.mul(v128.load(xsum, 16), dxH);
      let ob = v128.load32_splat(woff);
      c0L = fmaF(bL, ob, c0L); c0H = fmaF(bH, ob, c0H);
      ob = v128.load32_splat(woff, 4);
      c1L = fmaF(bL, ob, c1L); c1H = fmaF(bH, ob, c1H);
      ob = v128.load32_splat(woff, 8);
      c2L = fmaF(bL, ob, c2L); c2H = fmaF(bH, ob, c2H);
      ob = v128.load32_splat(woff, 12);
      c3L = fmaF(bL, ob, c3L); c3H = fmaF(bH, ob, c3H);
      xsum += 32;
      woff += 16;
    }
    xs += 32;
    ws += 16;
  }
  transpose4(c0L, c1L, c2L, c3L);
  v128.store(cp, t0); v128.store(cp + ldcBytes, t1); v128.store(cp + 2 * ldcBytes, t2); v128.store(cp + 3 * ldcBytes, t3);
  const cq = cp + 4 * ldcBytes;
  transpose4(c0H, c1H, c2H, c3H);
  v128.store(cq, t0); v128.store(cq + ldcBytes, t1); v128.store(cq + 2 * ldcBytes, t2); v128.store(cq + 3 * ldcBytes, t3);
}

/** Pair sums x[2i]·w[2i] + x[2i+1]·w[2i+1] in int16 (only the relaxed build takes the nibble path). */
// @ts-ignore: decorator
@inline function dotNibbles(x: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(x, w);
  return i16x8.splat(0);
}

/** A partial tile (mr < 8 or nr < 4) through an 8×4 tile buffer, so the formula is the same. */
function microEdgeQ(ap: usize, xs: usize, bp: usize, ws: usize, nb: i32, cp: usize, ldcBytes: usize, accumulate: bool,
  xsum: usize, woff: usize, mr: i32, nr: i32, tile: usize, nibbles: bool): void {
  memory.fill(tile, 0, 128);
  if (accumulate) {
    for (let r = 0; r < mr; r++) memory.copy(tile + <usize>(r << 4), cp + <usize>r * ldcBytes, <usize>(nr << 2));
  }
  micro8x4q(ap, xs, bp, ws, nb, tile, 16, accumulate, xsum, woff, nibbles);
  for (let r = 0; r < mr; r++) memory.copy(cp + <usize>r * ldcBytes, tile + <usize>(r << 4), <usize>(nr << 2));
}

/** C[i0..i1, j0..j1) on the calling thread alone; A comes packed by gemm_q_pack_a (apk, scales ask, sums asm). */
function gemmQRange(c: usize, ldc: i32, apk: usize, ask: usize, asm: usize, w: usize, kind: i32, K: i32, accumulate: bool,
  scratch: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  // scratch: [tile 128 B][W panels NC·KC int16][W scales][W offsets]
  const tile = scratch;
  const bpack = scratch + 128;
  const bscale = bpack + <usize>(NC * KC_MAX * 2);
  const boff = bscale + <usize>(NC * (KC_MAX >> 5) * 4);
  const nibbles = usesNibbles(kind);
  const affine = kind == B_NT_Q4_K || kind == B_NT_Q5_K || nibbles;
  const KC = kBlock(K, kind);
  const ldcBytes = <usize>ldc << 2;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const nb = kc >> 5;
      const acc = accumulate || pc > 0;
      if (nibbles) packBNibbles(bpack, bscale, boff, w, kind, K, jc, nc, pc, kc);
      else packBq(bpack, bscale, boff, w, kind, K, jc, nc, pc, kc);
      for (let jr = 0; jr < nc; jr += 4) {
        const nr = min(4, nc - jr);
        const bp = bpack + <usize>(nibbles ? jr * kc : jr * kc * 2);
        const ws = bscale + <usize>(jr * nb * 4);
        const wo: usize = affine ? boff + <usize>(jr * nb * 4) : 0;
        for (let ir = i0; ir < i1; ir += 8) {
          const mr = min(8, i1 - ir);
          // the 8-row panel of rows ir.., from block pc/32 on
          const ap = nibbles ? apk + <usize>(ir * K) + <usize>(pc << 3) : apk + <usize>(ir * K * 2) + <usize>(pc << 4);
          const xs = ask + <usize>(ir * (K >> 5) * 4) + <usize>pc;
          const xsum = asm + <usize>(ir * (K >> 5) * 4) + <usize>pc;
          const cp = c + <usize>ir * ldcBytes + (<usize>(jc + jr) << 2);
          if (mr == 8 && nr == 4) micro8x4q(ap, xs, bp, ws, nb, cp, ldcBytes, acc, xsum, wo, nibbles);
          else microEdgeQ(ap, xs, bp, ws, nb, cp, ldcBytes, acc, xsum, wo, mr, nr, tile, nibbles);
        }
      }
    }
  }
}

function chunkSize(n: i32, target: i32, unit: i32): i32 {
  const parts = max(1, (n + target - 1) / target);
  const per = (n + parts - 1) / parts;
  return max(unit, ((per + unit - 1) / unit) * unit);
}

/**
 * The parallel entry (K a multiple of 32, of 256 for Q4_K; K > 0), after gemm_q_pack_a packed A
 * at `apk`: blocks of ~256 rows × ~256 columns of C are claimed from `counter`; each unpacks the
 * weight block it reads.
 */
export function gemm_q(c: usize, ldc: i32, apk: usize, w: usize, kind: i32,
  M: i32, N: i32, K: i32, accumulate: i32, scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const s = scratch + <usize>tid * scratchStride;
  const m8 = (M + 7) & ~7;
  const ask = apk + <usize>(m8 * K * 2), asm = ask + <usize>(m8 * (K >> 5) * 4);
  const cm = chunkSize(M, 256, 8), cn = chunkSize(N, 256, 4);
  const rowChunks = (M + cm - 1) / cm, colChunks = (N + cn - 1) / cn;
  const total = rowChunks * colChunks;
  for (let t = claim(counter); t < total; t = claim(counter)) {
    const i0 = (t % rowChunks) * cm, j0 = (t / rowChunks) * cn;
    gemmQRange(c, ldc, apk, ask, asm, w, kind, K, accumulate != 0, s, i0, min(M, i0 + cm), j0, min(N, j0 + cn));
  }
}
