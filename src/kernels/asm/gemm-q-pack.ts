// Weight packing for the quantized gemm (gemm-q.ts): a block of W's rows (C's columns), one K block
// of it, unpacked into panels of 4 columns with per-32-block scales (and offsets for the affine
// formats) — int16 panels ([block][column][32 × int16]) for the int16 micro-kernel path, byte
// panels ([block][column][32 × u8]) for the nibble path.
import { f16, B_NT_Q8_0, B_NT_Q4_K, B_NT_Q5_K, B_NT_Q6_K } from './gemm';

/**
 * Widens W rows j0..j0+nc, K range p0..p0+kc to int16 panels of 4 columns at dst ([panel][block]
 * [column][32 × int16], 256 bytes per block) with scales at dsc ([panel][block][4] f32); columns
 * past nc are zero.
 */
export function packBq(dst: usize, dsc: usize, doff: usize, w: usize, kind: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32): void {
  // the K-quants superblock by superblock (K blocks are whole superblocks)
  if (kind == B_NT_Q4_K || kind == B_NT_Q5_K) { for (let s = 0; s < kc >> 8; s++) packBq45(dst, dsc, doff, w, K, j0, nc, p0, kc, s, kind == B_NT_Q5_K); return; }
  if (kind == B_NT_Q6_K) { for (let s = 0; s < kc >> 8; s++) packBq6k(dst, dsc, w, K, j0, nc, p0, kc, s); return; }
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
function packBq45(dst: usize, dsc: usize, doff: usize, w: usize, K: i32, j0: i32, nc: i32, p0: i32, kc: i32, s: i32, five: bool): void {
  const low4 = i8x16.splat(0x0f), one = i8x16.splat(1);
  const blockBytes: usize = five ? 176 : 144, qs: usize = five ? 48 : 16;
  for (let jp = 0; jp < nc; jp += 4) {
    // superblock s of the K block: its 8 blocks of the panel (256 bytes each) and their scales
    const panel = dst + <usize>(jp * kc * 2) + <usize>(s << 11);
    const scales = dsc + <usize>(jp * (kc >> 5) * 4) + <usize>(s << 7), offs = doff + <usize>(jp * (kc >> 5) * 4) + <usize>(s << 7);
    for (let c = 0; c < 4; c++) {
      if (jp + c >= nc) {
        for (let b = 0; b < 8; b++) {
          memory.fill(panel + <usize>((b << 8) + (c << 6)), 0, 64);
          store<f32>(scales + <usize>((b * 4 + c) << 2), 0);
          store<f32>(offs + <usize>((b * 4 + c) << 2), 0);
        }
        continue;
      }
      const blk = w + (<usize>(j0 + jp + c) * <usize>(K >> 8) + <usize>((p0 >> 8) + s)) * blockBytes;
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

function packBq6k(dst: usize, dsc: usize, w: usize, K: i32, j0: i32, nc: i32, p0: i32, kc: i32, s: i32): void {
  const low4 = i8x16.splat(0x0f), three = i8x16.splat(3), off = i16x8.splat(32);
  for (let jp = 0; jp < nc; jp += 4) {
    const panel = dst + <usize>(jp * kc * 2) + <usize>(s << 11);
    const scales = dsc + <usize>(jp * (kc >> 5) * 4) + <usize>(s << 7);
    for (let c = 0; c < 4; c++) {
      if (jp + c >= nc) {
        for (let b = 0; b < 8; b++) { memory.fill(panel + <usize>((b << 8) + (c << 6)), 0, 64); store<f32>(scales + <usize>((b * 4 + c) << 2), 0); }
        continue;
      }
      const blk = w + (<usize>(j0 + jp + c) * <usize>(K >> 8) + <usize>((p0 >> 8) + s)) * 210;
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
export function packBNibbles(dst: usize, dsc: usize, doff: usize, w: usize, kind: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32): void {
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
        for (let sb = 0; sb < nb >> 3; sb++) { // the K block's superblocks, 8 blocks each
          const blk = w + (<usize>row * <usize>(K >> 8) + <usize>((p0 >> 8) + sb)) * 144;
          const d = f16(load<u16>(blk)), dmin = f16(load<u16>(blk, 2));
          for (let j = 0; j < 8; j++) {
            const b = sb * 8 + j;
            const sc: u32 = j < 4 ? load<u8>(blk + 4 + j) & 63 : (load<u8>(blk + 8 + j) & 0xf) | ((load<u8>(blk + j) >> 6) << 4);
            const m: u32 = j < 4 ? load<u8>(blk + 8 + j) & 63 : (load<u8>(blk + 8 + j) >> 4) | ((load<u8>(blk + 4 + j) >> 6) << 4);
            store<f32>(scales + <usize>((b * 4 + c) << 2), d * <f32>sc);
            store<f32>(offs + <usize>((b * 4 + c) << 2), -(dmin * <f32>m));
            const q0 = v128.load(blk + 16 + <usize>((j >> 1) << 5)), q1 = v128.load(blk + 32 + <usize>((j >> 1) << 5));
            const o = panel + <usize>((b << 7) + (c << 5));
            v128.store(o, j & 1 ? i8x16.shr_u(q0, 4) : v128.and(q0, low4));
            v128.store(o, j & 1 ? i8x16.shr_u(q1, 4) : v128.and(q1, low4), 16);
          }
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
