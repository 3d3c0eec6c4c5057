// The prefill product for block-quantized weights, in integers: C[M,N] (=|+=) A[M,K] · W[N,K]^T
// with W stored as q8_0 or q4_0 (GGUF blocks of 32 along K) and A f32 row-major. A is quantized
// per 32-block as llama.cpp does (quantize.ts); each (row, column, block) product
//   S = Σ_k xq[k] · wq[k]   (an exact int32, from i32x4.dot_i16x8_s on int16 panels)
// enters C as  c = fma(S, d_w · d_x, c), block after block in K order, starting from C's old value
// when accumulating. The decode kernels (matvec.ts) compute the same integers.
//
// Structure as in gemm.ts (BLIS), but with rows in the vector lanes: MC×KC blocks of A are
// quantized into int16 panels of 8 rows ([block][pair of k][8 rows][2 × int16]), and W's rows
// (C's columns) are widened to int16 in place order ([block][column][32 × int16]), which needs no
// transposing: packing W costs about as much as reading it. The 8×4 micro-kernel takes, per pair
// of k, two vectors of A (8 rows) and four 32-bit broadcasts of W, for eight dot products; these
// issue on the multiply ports and their adds on the integer ALUs, so it runs ahead of the f32
// micro-kernel, whose fused multiply-adds all queue on the two FMA ports. C's 8×4 tile is
// transposed once per K block on its way in and out.
import { claim } from './simd';
import { f16, B_NT_Q8_0 } from './gemm';
import { quantizeBlock32 } from './quantize';

const MC: i32 = 64;
const KC_MAX: i32 = 384; // a multiple of 32
const NC: i32 = 256;

// @ts-ignore: decorator
@inline function kBlock(K: i32): i32 {
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
 * Quantizes A[i0..i0+mc, p0..p0+kc) (row stride lda floats) into 8-row int16 panels at dst
 * (512 bytes per block of 32) and scales at dsc ([panel][block][8] f32); rows past mc are zero.
 * tmp: 512 bytes.
 */
function packAq(dst: usize, dsc: usize, a: usize, lda: i32, i0: i32, mc: i32, p0: i32, kc: i32, tmp: usize): void {
  const nb = kc >> 5;
  for (let ip = 0; ip < mc; ip += 8) {
    const rows = min(8, mc - ip);
    const panel = dst + <usize>(ip * kc * 2);
    const scales = dsc + <usize>(ip * nb * 4);
    for (let b = 0; b < nb; b++) {
      for (let r = 0; r < 8; r++) {
        let d: f32 = 0;
        if (r < rows) d = quantizeBlock32(a + ((<usize>(i0 + ip + r) * <usize>lda + <usize>(p0 + b * 32)) << 2), tmp + <usize>(r << 6));
        else memory.fill(tmp + <usize>(r << 6), 0, 64);
        store<f32>(scales + <usize>((b * 8 + r) << 2), d);
      }
      // row r's pairs (k, k+1) are 32-bit units: four rows × four pairs per transpose
      const out = panel + <usize>(b << 9);
      for (let g = 0; g < 4; g++) {
        const o = <usize>(g << 4);
        transposeStore(v128.load(tmp + o), v128.load(tmp + 64 + o), v128.load(tmp + 128 + o), v128.load(tmp + 192 + o), out + <usize>(g << 7), 32);
        transposeStore(v128.load(tmp + 256 + o), v128.load(tmp + 320 + o), v128.load(tmp + 384 + o), v128.load(tmp + 448 + o), out + <usize>(g << 7) + 16, 32);
      }
    }
  }
}

/**
 * Widens W rows j0..j0+nc, K range p0..p0+kc to int16 panels of 4 columns at dst ([panel][block]
 * [column][32 × int16], 256 bytes per block) with scales at dsc ([panel][block][4] f32); columns
 * past nc are zero.
 */
function packBq(dst: usize, dsc: usize, w: usize, kind: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32): void {
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

/** c = fma(S, d_w · d_x, c) on four lanes (rows) of one column. */
// @ts-ignore: decorator
@inline function scaleInto(s: v128, dw: v128, dx: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(f32x4.convert_i32x4_s(s), f32x4.mul(dw, dx), c);
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.mul(dw, dx)), c);
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
 * Accumulators hold columns: cjL = rows 0..3 of column j, cjH = rows 4..7.
 */
function micro8x4q(ap: usize, xs: usize, bp: usize, ws: usize, nb: i32, cp: usize, ldcBytes: usize, accumulate: bool): void {
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
    const dxL = v128.load(xs), dxH = v128.load(xs, 16);
    let dw = v128.load32_splat(ws);
    c0L = scaleInto(s0L, dw, dxL, c0L); c0H = scaleInto(s0H, dw, dxH, c0H);
    dw = v128.load32_splat(ws, 4);
    c1L = scaleInto(s1L, dw, dxL, c1L); c1H = scaleInto(s1H, dw, dxH, c1H);
    dw = v128.load32_splat(ws, 8);
    c2L = scaleInto(s2L, dw, dxL, c2L); c2H = scaleInto(s2H, dw, dxH, c2H);
    dw = v128.load32_splat(ws, 12);
    c3L = scaleInto(s3L, dw, dxL, c3L); c3H = scaleInto(s3H, dw, dxH, c3H);
    xs += 32;
    ws += 16;
  }
  transpose4(c0L, c1L, c2L, c3L);
  v128.store(cp, t0); v128.store(cp + ldcBytes, t1); v128.store(cp + 2 * ldcBytes, t2); v128.store(cp + 3 * ldcBytes, t3);
  const cq = cp + 4 * ldcBytes;
  transpose4(c0H, c1H, c2H, c3H);
  v128.store(cq, t0); v128.store(cq + ldcBytes, t1); v128.store(cq + 2 * ldcBytes, t2); v128.store(cq + 3 * ldcBytes, t3);
}

/** A partial tile (mr < 8 or nr < 4) through an 8×4 tile buffer, so the formula is the same. */
function microEdgeQ(ap: usize, xs: usize, bp: usize, ws: usize, nb: i32, cp: usize, ldcBytes: usize, accumulate: bool,
  mr: i32, nr: i32, tile: usize): void {
  memory.fill(tile, 0, 128);
  if (accumulate) {
    for (let r = 0; r < mr; r++) memory.copy(tile + <usize>(r << 4), cp + <usize>r * ldcBytes, <usize>(nr << 2));
  }
  micro8x4q(ap, xs, bp, ws, nb, tile, 16, accumulate);
  for (let r = 0; r < mr; r++) memory.copy(cp + <usize>r * ldcBytes, tile + <usize>(r << 4), <usize>(nr << 2));
}

/** C[i0..i1, j0..j1) on the calling thread alone. */
function gemmQRange(c: usize, ldc: i32, a: usize, lda: i32, w: usize, kind: i32, K: i32, accumulate: bool,
  scratch: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  // scratch: [A panels MC·KC int16][A scales][tmp 512 B][tile 128 B] ... [W panels NC·KC int16][W scales]
  const apack = scratch;
  const ascale = apack + <usize>(MC * KC_MAX * 2);
  const tmp = ascale + <usize>(MC * (KC_MAX >> 5) * 4);
  const tile = tmp + 512;
  const bpack = scratch + <usize>(MC * KC_MAX * 4);
  const bscale = bpack + <usize>(NC * KC_MAX * 2);
  const KC = kBlock(K);
  const ldcBytes = <usize>ldc << 2;
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const nb = kc >> 5;
      const acc = accumulate || pc > 0;
      packBq(bpack, bscale, w, kind, K, jc, nc, pc, kc);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packAq(apack, ascale, a, lda, ic, mc, pc, kc, tmp);
        for (let jr = 0; jr < nc; jr += 4) {
          const nr = min(4, nc - jr);
          const bp = bpack + <usize>(jr * kc * 2);
          const ws = bscale + <usize>(jr * nb * 4);
          for (let ir = 0; ir < mc; ir += 8) {
            const mr = min(8, mc - ir);
            const ap = apack + <usize>(ir * kc * 2);
            const xs = ascale + <usize>(ir * nb * 4);
            const cp = c + <usize>(ic + ir) * ldcBytes + (<usize>(jc + jr) << 2);
            if (mr == 8 && nr == 4) micro8x4q(ap, xs, bp, ws, nb, cp, ldcBytes, acc);
            else microEdgeQ(ap, xs, bp, ws, nb, cp, ldcBytes, acc, mr, nr, tile);
          }
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
 * The parallel entry (K a multiple of 32, K > 0): blocks of ~256 rows × ~256 columns of C are
 * claimed from `counter`; each quantizes and packs what it reads.
 */
export function gemm_q(c: usize, ldc: i32, a: usize, lda: i32, w: usize, kind: i32,
  M: i32, N: i32, K: i32, accumulate: i32, scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const s = scratch + <usize>tid * scratchStride;
  const cm = chunkSize(M, 256, 8), cn = chunkSize(N, 256, 4);
  const rowChunks = (M + cm - 1) / cm, colChunks = (N + cn - 1) / cn;
  const total = rowChunks * colChunks;
  for (let t = claim(counter); t < total; t = claim(counter)) {
    const i0 = (t % rowChunks) * cm, j0 = (t / rowChunks) * cn;
    gemmQRange(c, ldc, a, lda, w, kind, K, accumulate != 0, s, i0, min(M, i0 + cm), j0, min(N, j0 + cn));
  }
}
