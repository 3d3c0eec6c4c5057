// General matrix product C[M,N] (=|+=) A[M,K] · B[K,N] with a 4×8 register-blocked micro-kernel
// (eight f32x4 accumulators), the structure of BLIS/GotoBLAS: B is split into KC×NC blocks packed
// into 8-column panels (kept in L2, one panel in L1), A into 4-row panels of an MC×KC block.
//   A[i,k] = a[i*aRs + k*aCs]  (any strides: the dW product reads dout transposed)
//   B: kind NN: B[k,j] = b[k*ldb + j]  (read in place, no packing)
//      kind NT_*: B[k,j] = W[j, k] of a row-major weight W[N,K] stored as f32 or f16 (packed per
//      block, widened on the way). Block-quantized weights (the B_NT_Q* kinds) take gemm-q.ts.
//      kind PANELS8: W already in the packed panels' layout (inference weights, see matvec.ts).
// Summation order for every C element: K blocks in order, within a block k ascending — the same
// whatever the thread partition, so results are identical across thread counts.
import { fma, claim, halfToFloat } from './simd';

export const B_NN: i32 = 0;
export const B_NT_F32: i32 = 1;
export const B_NT_F16: i32 = 2;
export const B_NT_Q8_0: i32 = 3;
export const B_NT_Q4_0: i32 = 4;
export const B_PANELS8: i32 = 5; // W[N,K] f32 stored as panels of 8 rows, [N/8][K][8] (N a multiple of 8): read in place
export const B_NT_Q4_K: i32 = 6;  // the K-quants: gemm-q.ts
export const B_NT_Q6_K: i32 = 7;
export const B_NT_Q5_K: i32 = 8;

const MC: i32 = 64;
const KC_MAX: i32 = 384; // K blocks are at most this long, multiples of 32
const NC: i32 = 256;

/** Bytes of scratch one gemm call needs (A block, B block, edge tile). */
export const GEMM_SCRATCH: i32 = MC * KC_MAX * 4 + NC * KC_MAX * 4 + 4 * 8 * 4;

/**
 * K is cut into equal blocks (rounded up to 32) rather than KC_MAX plus a short remainder: a
 * short last block would re-read and re-write the whole of C for little work (K = 288 split as
 * 256 + 32 ran at a third of the speed once C left the cache).
 */
// @ts-ignore: decorator
@inline function kBlock(K: i32): i32 {
  const nk = (K + KC_MAX - 1) / KC_MAX;
  return min(KC_MAX, (((K + nk - 1) / nk) + 31) & ~31);
}

// f16 -> f32 table (65536 entries) used to decode block scales; its address is set per heap.
let f16Table: usize = 0;
export function setF16Table(ptr: usize): void { f16Table = ptr; }
export function initF16Table(ptr: usize): void {
  for (let h: u32 = 0; h < 65536; h++) store<f32>(ptr + (<usize>h << 2), halfToFloat(h));
  f16Table = ptr;
}
// @ts-ignore: decorator
@inline export function f16(bits: u32): f32 { return load<f32>(f16Table + (<usize>bits << 2)); }

function micro4x8(ap: usize, bp: usize, ldbBytes: usize, kc: i32, cp: usize, ldcBytes: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = fma(a, b0, c00); c01 = fma(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = fma(a, b0, c10); c11 = fma(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = fma(a, b0, c20); c21 = fma(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = fma(a, b0, c30); c31 = fma(a, b1, c31);
    ap += 16;
    bp += ldbBytes;
  }
  if (accumulate) {
    c00 = f32x4.add(v128.load(cp), c00); c01 = f32x4.add(v128.load(cp, 16), c01);
    v128.store(cp, c00); v128.store(cp, c01, 16); cp += ldcBytes;
    c10 = f32x4.add(v128.load(cp), c10); c11 = f32x4.add(v128.load(cp, 16), c11);
    v128.store(cp, c10); v128.store(cp, c11, 16); cp += ldcBytes;
    c20 = f32x4.add(v128.load(cp), c20); c21 = f32x4.add(v128.load(cp, 16), c21);
    v128.store(cp, c20); v128.store(cp, c21, 16); cp += ldcBytes;
    c30 = f32x4.add(v128.load(cp), c30); c31 = f32x4.add(v128.load(cp, 16), c31);
    v128.store(cp, c30); v128.store(cp, c31, 16);
  } else {
    v128.store(cp, c00); v128.store(cp, c01, 16); cp += ldcBytes;
    v128.store(cp, c10); v128.store(cp, c11, 16); cp += ldcBytes;
    v128.store(cp, c20); v128.store(cp, c21, 16); cp += ldcBytes;
    v128.store(cp, c30); v128.store(cp, c31, 16);
  }
}

/** Edge blocks (mr < 4 or nr < 8): full 4×8 product into a tile, then only the valid part out. */
function microEdge(ap: usize, bp: usize, ldbBytes: usize, kc: i32, cp: usize, ldcBytes: usize, accumulate: bool,
  mr: i32, nr: i32, tile: usize): void {
  micro4x8(ap, bp, ldbBytes, kc, tile, 32, false);
  for (let r = 0; r < mr; r++) {
    const src = tile + <usize>(r * 32);
    const dst = cp + <usize>r * ldcBytes;
    for (let j = 0; j < nr; j++) {
      const o = <usize>(j << 2);
      const v = load<f32>(src + o);
      store<f32>(dst + o, accumulate ? load<f32>(dst + o) + v : v);
    }
  }
}

/** Packs A[i0..i0+mc, p0..p0+kc) into 4-row panels [mc/4][kc][4], zero-padding the last panel. */
function packA(dst: usize, a: usize, aRs: i32, aCs: i32, i0: i32, mc: i32, p0: i32, kc: i32): void {
  for (let ip = 0; ip < mc; ip += 4) {
    const rows = min(4, mc - ip);
    const panel = dst + <usize>(ip * kc * 4);
    const base = a + (<usize>(i0 + ip) * <usize>aRs + <usize>p0 * <usize>aCs) * 4;
    if (rows == 4 && aRs == 1) {
      // A transposed in memory: the 4 rows at one k are contiguous.
      const step = <usize>aCs << 2;
      for (let k = 0; k < kc; k++) v128.store(panel + <usize>(k << 4), v128.load(base + <usize>k * step));
    } else if (rows == 4 && aCs == 1) {
      // Row-major A: 4×4 transposes of (4 rows) × (4 consecutive k).
      const rs = <usize>aRs << 2;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const p = base + <usize>(k << 2);
        const r0 = v128.load(p), r1 = v128.load(p + rs), r2 = v128.load(p + 2 * rs), r3 = v128.load(p + 3 * rs);
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
        const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
        const q = panel + <usize>(k << 4);
        v128.store(q, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
        v128.store(q, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(q, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(q, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
      }
      for (; k < kc; k++) {
        const p = base + <usize>(k << 2);
        const q = panel + <usize>(k << 4);
        store<f32>(q, load<f32>(p)); store<f32>(q, load<f32>(p + rs), 4);
        store<f32>(q, load<f32>(p + 2 * rs), 8); store<f32>(q, load<f32>(p + 3 * rs), 12);
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < 4; r++) {
          const v: f32 = r < rows ? load<f32>(base + (<usize>r * <usize>aRs + <usize>k * <usize>aCs) * 4) : 0;
          store<f32>(panel + <usize>((k * 4 + r) << 2), v);
        }
      }
    }
  }
}

/** Widens W[row, p0..p0+kc) (row-major, stored as f32 or f16) into dst[k*8] (stride 8 floats). */
function widenColumn(dst: usize, b: usize, kind: i32, ldb: i32, K: i32, row: i32, p0: i32, kc: i32): void {
  if (kind == B_NT_F32) {
    const src = b + (<usize>row * <usize>ldb + <usize>p0) * 4;
    for (let k = 0; k < kc; k++) store<f32>(dst + <usize>(k << 5), load<f32>(src + <usize>(k << 2)));
  } else {
    const src = b + (<usize>row * <usize>ldb + <usize>p0) * 2;
    for (let k = 0; k < kc; k++) store<f32>(dst + <usize>(k << 5), f16(load<u16>(src + <usize>(k << 1))));
  }
}

/** Packs B[p0..p0+kc, j0..j0+nc) of a transposed weight into 8-column panels [nc/8][kc][8]. */
function packBT(dst: usize, b: usize, kind: i32, ldb: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32): void {
  for (let jp = 0; jp < nc; jp += 8) {
    const cols = min(8, nc - jp);
    const panel = dst + <usize>(jp * kc * 4);
    if (kind == B_NT_F32 && cols == 8) {
      // Two 4×4 transposes per 4 consecutive k: rows j..j+3 and j+4..j+7 of W.
      const rs = <usize>ldb << 2;
      const base = b + (<usize>(j0 + jp) * <usize>ldb + <usize>p0) * 4;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        for (let h = 0; h < 2; h++) {
          const p = base + <usize>(k << 2) + <usize>(h * 4) * rs;
          const r0 = v128.load(p), r1 = v128.load(p + rs), r2 = v128.load(p + 2 * rs), r3 = v128.load(p + 3 * rs);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const q = panel + <usize>(k << 5) + <usize>(h << 4);
          v128.store(q, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(q, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32);
          v128.store(q, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64);
          v128.store(q, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96);
        }
      }
      for (; k < kc; k++) {
        for (let c = 0; c < 8; c++) {
          store<f32>(panel + <usize>((k * 8 + c) << 2), load<f32>(base + <usize>c * rs + <usize>(k << 2)));
        }
      }
    } else {
      for (let c = 0; c < 8; c++) {
        if (c < cols) widenColumn(panel + <usize>(c << 2), b, kind, ldb, K, j0 + jp + c, p0, kc);
        else for (let k = 0; k < kc; k++) store<f32>(panel + <usize>((k * 8 + c) << 2), 0);
      }
    }
  }
}

/** C[i0..i1, j0..j1) of the product, on the calling thread alone. */
export function gemmRange(c: usize, ldc: i32, a: usize, aRs: i32, aCs: i32, b: usize, kind: i32, ldb: i32,
  K: i32, accumulate: bool, scratch: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  const apack = scratch;
  const bpack = scratch + <usize>(MC * KC_MAX * 4);
  const tile = bpack + <usize>(NC * KC_MAX * 4);
  const KC = kBlock(K);
  const ldcBytes = <usize>ldc << 2;
  if (K == 0) {
    if (!accumulate) for (let i = i0; i < i1; i++) memory.fill(c + <usize>i * ldcBytes + (<usize>j0 << 2), 0, <usize>(j1 - j0) << 2);
    return;
  }
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const acc = accumulate || pc > 0;
      if (kind != B_NN && kind != B_PANELS8) packBT(bpack, b, kind, ldb, K, jc, nc, pc, kc);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(apack, a, aRs, aCs, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += 8) {
          const nr = min(8, nc - jr);
          let bp: usize, ldbBytes: usize;
          if (kind == B_NN) {
            bp = b + (<usize>pc * <usize>ldb + <usize>(jc + jr)) * 4;
            ldbBytes = <usize>ldb << 2;
          } else if (kind == B_PANELS8) {
            bp = b + (<usize>((jc + jr) >> 3) * <usize>K + <usize>pc) * 32;
            ldbBytes = 32;
          } else {
            bp = bpack + <usize>(jr * kc * 4);
            ldbBytes = 32;
          }
          for (let ir = 0; ir < mc; ir += 4) {
            const mr = min(4, mc - ir);
            const ap = apack + <usize>(ir * kc * 4);
            const cp = c + <usize>(ic + ir) * ldcBytes + (<usize>(jc + jr) << 2);
            if (mr == 4 && nr == 8) micro4x8(ap, bp, ldbBytes, kc, cp, ldcBytes, acc);
            else microEdge(ap, bp, ldbBytes, kc, cp, ldcBytes, acc, mr, nr, tile);
          }
        }
      }
    }
  }
}

/** Rows or columns per work chunk: about `target`, a multiple of `unit`, evenly spread over n. */
export function chunkSize(n: i32, target: i32, unit: i32): i32 {
  const parts = max(1, (n + target - 1) / target);
  const per = (n + parts - 1) / parts;
  return max(unit, ((per + unit - 1) / unit) * unit);
}

/**
 * The parallel entry: C is cut into blocks of ~256 rows × ~256 columns that the threads claim
 * from `counter` (each block packs its own B panel and A blocks).
 */
export function gemm(c: usize, ldc: i32, a: usize, aRs: i32, aCs: i32, b: usize, kind: i32, ldb: i32,
  M: i32, N: i32, K: i32, accumulate: i32, scratch: usize, scratchStride: usize, counter: usize, tid: i32, nth: i32): void {
  const s = scratch + <usize>tid * scratchStride;
  const cm = chunkSize(M, 256, 4), cn = chunkSize(N, 256, 8);
  const rowChunks = (M + cm - 1) / cm, colChunks = (N + cn - 1) / cn;
  const total = rowChunks * colChunks;
  for (let t = claim(counter); t < total; t = claim(counter)) {
    const i0 = (t % rowChunks) * cm, j0 = (t / rowChunks) * cn;
    gemmRange(c, ldc, a, aRs, aCs, b, kind, ldb, K, accumulate != 0, s, i0, min(M, i0 + cm), j0, min(N, j0 + cn));
  }
}
