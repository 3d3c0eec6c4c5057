// The prefill product for block-quantized weights, in integers: C[M,N] (=|+=) A[M,K] · W[N,K]^T
// with W stored in a GGUF block format (Q8_0, Q4_0: blocks of 32 along K; Q4_K, Q5_K, Q6_K:
// superblocks of 256) and A f32 row-major. A is quantized as llama.cpp does (quantize.ts: Q8_0
// per 32 values; Q8_K per 256 for the K-quants); each (row, column, 32-block) product
//   S = Σ_k xq[k] · wq[k]   (an exact int32)
// enters C as  c = fma(S, d_w · d_x, c), block after block in K order, starting from C's old value
// when accumulating; the affine formats (Q4_K, Q5_K: w = a·q − b per 32-value sub-block; Q4_0 on
// the nibble path: w = d·q − 8d) add c += Σxq·(−b)·dx. The decode kernels (matvec-q.ts,
// matvec-k.ts) compute the same integers.
//
// Structure as in gemm.ts (BLIS), but with rows in the vector lanes: A is quantized once per call
// into int16 panels of 8 rows ([block][pair of k][8 rows][2 × int16], gemm_q_pack_a), and each
// K block of W's rows (C's columns) is unpacked by gemm-q-pack.ts in place order ([block][column]
// [32 values]), which needs no transposing. The 8×4 micro-kernel takes, per pair of k, two vectors
// of A (8 rows) and four 32-bit broadcasts of W, for eight int16 dot products: these issue on the
// multiply ports and their adds on the integer ALUs, so it runs ahead of the f32 micro-kernel,
// whose fused multiply-adds all queue on the two FMA ports. 4-bit weights in the relaxed build take
// the nibble path instead: W as bytes, A as int8, the relaxed int8 dot product (pmaddubsw) doing 16
// products per instruction. C's 8×4 tile is transposed once per K block on its way in and out.
import { claim, fma, scaleInto } from './simd';
import { B_NT_Q4_0, B_NT_Q4_K, B_NT_Q5_K, B_NT_Q6_K, chunkSize } from './gemm';
import { packBq, packBNibbles } from './gemm-q-pack';
import { quantizeBlock32, quantizeBlock256K, blockSum } from './quantize';

/** K-quant weights: activations rounded to Q8_K per 256 values, K blocks of one superblock. */
// @ts-ignore: decorator
@inline function isK(kind: i32): bool { return kind == B_NT_Q4_K || kind == B_NT_Q5_K || kind == B_NT_Q6_K; }

const KC_MAX: i32 = 768; // a multiple of 256 (A comes packed whole; only W's block is unpacked per call)
const NC: i32 = 256;

// @ts-ignore: decorator
@inline function kBlock(K: i32, kind: i32): i32 {
  // equal blocks (a short last one would re-read C for little work), whole superblocks for K-quants
  const unit = isK(kind) ? 255 : 31;
  const nk = (K + KC_MAX - 1) / KC_MAX;
  return min(KC_MAX, (((K + nk - 1) / nk) + unit) & ~unit);
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
      c0L = fma(bL, ob, c0L); c0H = fma(bH, ob, c0H);
      ob = v128.load32_splat(woff, 4);
      c1L = fma(bL, ob, c1L); c1H = fma(bH, ob, c1H);
      ob = v128.load32_splat(woff, 8);
      c2L = fma(bL, ob, c2L); c2H = fma(bH, ob, c2H);
      ob = v128.load32_splat(woff, 12);
      c3L = fma(bL, ob, c3L); c3H = fma(bH, ob, c3H);
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
