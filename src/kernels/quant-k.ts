/**
 * GGUF's "K-quants" Q4_K, Q5_K and Q6_K (llama.cpp's Q4_K_M / Q5_K_M / Q6_K files): decoding only,
 * bit-exact with ggml's dequantize_row_q{4,5,6}_K (fixtures/model/ggml-kquant.*). Superblocks of
 * 256 values along a row, little-endian:
 *   Q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }           144 bytes
 *        eight sub-blocks of 32, each with a 6-bit scale sc and min m packed in `scales`;
 *        x = d·sc·q − dmin·m, q the 4-bit value (sub-block 2i in the low nibbles of qs[32i..32i+32),
 *        sub-block 2i+1 in the high nibbles)
 *   Q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] } 176 bytes
 *        as Q4_K with a fifth bit: bit j of qh[l] is the high bit of value l of sub-block j
 *   Q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }           210 bytes
 *        sixteen sub-blocks of 16 with int8 scales; x = d·sc·(q − 32), q 6-bit: 4 low bits in ql,
 *        2 high bits in qh, in two halves of 128 values
 * The kernels multiply Q4_K weights directly (activations rounded to Q8_K first, as llama.cpp
 * does: roundActivationsQ8_K); the inference loader re-encodes Q5_K and Q6_K as Q8_0.
 */
import { f16LookupTable } from './quant.js';

export type KQuantType = 'q4_k' | 'q5_k' | 'q6_k';
export const QK_K = 256;
export const K_BLOCK_BYTES: Record<KQuantType, number> = { q4_k: 144, q5_k: 176, q6_k: 210 };

const fr = Math.fround;

/** The 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes at s (ggml's get_scale_min_k4). */
function scaleMin(q: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [q[s + j] & 63, q[s + j + 4] & 63];
  return [(q[s + j + 4] & 0xf) | ((q[s + j - 4] >> 6) << 4), (q[s + j + 4] >> 4) | ((q[s + j] >> 6) << 4)];
}

function decodeQ4orQ5(src: Uint8Array, o: number, dst: Float32Array | Float64Array, y: number, five: boolean): void {
  const t = f16LookupTable();
  const d = t[src[o] | (src[o + 1] << 8)];
  const dmin = t[src[o + 2] | (src[o + 3] << 8)];
  const sc = o + 4;
  const qh = o + 16;                     // Q5_K only
  let qs = o + (five ? 48 : 16);
  for (let j = 0; j < 8; j += 2) {       // two sub-blocks per 32 bytes of nibbles
    const [s1, m1] = scaleMin(src, sc, j), [s2, m2] = scaleMin(src, sc, j + 1);
    const d1 = fr(d * s1), mm1 = fr(dmin * m1), d2 = fr(d * s2), mm2 = fr(dmin * m2);
    for (let l = 0; l < 32; l++) {
      let lo = src[qs + l] & 0xf, hi = src[qs + l] >> 4;
      if (five) {
        lo += (src[qh + l] >> j) & 1 ? 16 : 0;
        hi += (src[qh + l] >> (j + 1)) & 1 ? 16 : 0;
      }
      dst[y + j * 32 + l] = fr(fr(d1 * lo) - mm1);
      dst[y + (j + 1) * 32 + l] = fr(fr(d2 * hi) - mm2);
    }
    qs += 32;
  }
}

function decodeQ6(src: Uint8Array, o: number, dst: Float32Array | Float64Array, y: number): void {
  const d = f16LookupTable()[src[o + 208] | (src[o + 209] << 8)];
  for (let half = 0; half < 2; half++) {
    const ql = o + half * 64, qh = o + 128 + half * 32, sc = o + 192 + half * 8, yo = y + half * 128;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const h = src[qh + l];
      const q1 = ((src[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
      const q2 = ((src[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
      const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
      const s = (i: number) => fr(d * ((src[sc + i] << 24) >> 24));
      dst[yo + l] = fr(s(is) * q1);
      dst[yo + l + 32] = fr(s(is + 2) * q2);
      dst[yo + l + 64] = fr(s(is + 4) * q3);
      dst[yo + l + 96] = fr(s(is + 6) * q4);
    }
  }
}

/** Decodes row `r` of a [rows, cols] K-quant matrix (cols a multiple of 256) into dst[0..cols). */
export function dequantizeRowK(type: KQuantType, src: Uint8Array, r: number, cols: number, dst: Float32Array | Float64Array): void {
  const nb = cols / QK_K, bytes = K_BLOCK_BYTES[type];
  for (let b = 0; b < nb; b++) {
    const o = (r * nb + b) * bytes;
    if (type === 'q6_k') decodeQ6(src, o, dst, b * QK_K);
    else decodeQ4orQ5(src, o, dst, b * QK_K, type === 'q5_k');
  }
}

/** Decodes a [rows, cols] K-quant matrix to float32. */
export function dequantizeK(type: KQuantType, src: Uint8Array, rows: number, cols: number, dst = new Float32Array(rows * cols)): Float32Array {
  if (!Number.isInteger(cols) || cols <= 0 || cols % QK_K !== 0) {
    throw new Error(`${type}: a row of ${cols} values is not a whole number of ${QK_K}-value superblocks`);
  }
  const need = rows * (cols / QK_K) * K_BLOCK_BYTES[type];
  if (src.length < need) throw new Error(`dequantize ${type}: ${src.length} bytes, [${rows}, ${cols}] needs ${need}`);
  for (let r = 0; r < rows; r++) dequantizeRowK(type, src, r, cols, dst.subarray(r * cols, (r + 1) * cols));
  return dst;
}

/** Round half to even (ggml's nearest_int, WebAssembly f32x4.nearest). */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The activation rounding of K-quant weight products, in place: llama.cpp's Q8_K (ggml
 * quantize_row_q8_K_ref). Per 256-block, the value of largest magnitude (the first, on ties) maps
 * to -127 through iscale = -127/max; q = min(127, nearest-even(iscale·x)); x becomes q·(1/iscale).
 */
export function roundActivationsQ8_K(x: Float32Array | Float64Array, rows: number, cols: number): void {
  if (!Number.isInteger(cols) || cols <= 0 || cols % QK_K !== 0) {
    throw new Error(`q8_K activations: a row of ${cols} values is not a whole number of ${QK_K}-value superblocks`);
  }
  for (let b = 0; b < rows * cols; b += QK_K) {
    let amax = 0, max = 0;
    for (let j = b; j < b + QK_K; j++) { const v = fr(x[j]); if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; } }
    if (amax === 0) { x.fill(0, b, b + QK_K); continue; }
    const iscale = fr(-127 / max);
    const d = fr(1 / iscale);
    for (let j = b; j < b + QK_K; j++) x[j] = fr(d * (Math.min(127, rint(fr(iscale * fr(x[j])))) | 0)); // q an int: no -0
  }
}
