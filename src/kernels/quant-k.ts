/**
 * GGUF's "K-quants" Q4_K, Q5_K and Q6_K (llama.cpp's Q4_K_M / Q5_K_M / Q6_K files): decoding,
 * bit-exact with ggml's dequantize_row_q{4,5,6}_K, and quantizing to Q4_K, bit-exact with
 * quantize_row_q4_K_ref (fixtures/model/ggml-kquant.*). Superblocks of
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
 * The kernels multiply the three directly, activations rounded to Q8_K first as llama.cpp does
 * (roundActivationsQ8_K).
 */
import { f16LookupTable, f16ToF32, f32ToF16, roundHalfEven } from './quant.js';

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
    for (let j = b; j < b + QK_K; j++) x[j] = fr(d * (Math.min(127, roundHalfEven(fr(iscale * fr(x[j])))) | 0)); // q an int: no -0
  }
}

/**
 * Sub-block fit of ggml's make_qkx2_quants: x ≈ scale·L − min over n values (L in 0..nmax,
 * min >= 0 returned through out[1]), minimizing the weighted squared error: a first fit from the
 * range, then nstep+1 trial scales around it, each refined by weighted least squares. Every
 * float32 step of the C code is rounded as it is there.
 */
function fitScaleMin(x: Float32Array, o: number, n: number, nmax: number, w: Float32Array, L: Uint8Array, lo: number,
  rmin: number, rdelta: number, nstep: number, out: [number, number]): void {
  let min = x[o], max = x[o];
  let sumW = w[0], sumX = fr(w[0] * x[o]);
  for (let i = 1; i < n; i++) {
    const v = x[o + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = fr(sumW + w[i]);
    sumX = fr(sumX + fr(w[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) { L.fill(0, lo, lo + n); out[0] = 0; out[1] = -min; return; }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, roundHalfEven(fr(iscale * fr(x[o + i] - min)))));
    L[lo + i] = l;
    const diff = fr(fr(fr(scale * l) + min) - x[o + i]);
    best = fr(best + fr(w[i] * fr(diff * diff)));
  }
  const aux = new Uint8Array(n);
  for (let is = 0; is <= nstep; is++) {
    // min moves to each better fit, and the next trials start from it (as in the C code)
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0, sumL2 = 0, sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, roundHalfEven(fr(iscale * fr(x[o + i] - min)))));
      aux[i] = l;
      const wl = fr(w[i] * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * x[o + i]));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
    let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
    if (thisMin > 0) { thisMin = 0; thisScale = fr(sumXL / sumL2); }
    let err = 0;
    for (let i = 0; i < n; i++) {
      const diff = fr(fr(fr(thisScale * aux[i]) + thisMin) - x[o + i]);
      err = fr(err + fr(w[i] * fr(diff * diff)));
    }
    if (err < best) { L.set(aux, lo); best = err; scale = thisScale; min = thisMin; }
  }
  out[0] = scale;
  out[1] = -min;
}

/**
 * [rows, cols] floats -> Q4_K superblocks (cols a multiple of 256), as ggml's quantize_row_q4_K_ref:
 * per 32-value sub-block a scale and min fitted with weights rms(sub-block) + |x|, both quantized to
 * 6 bits against the superblock's largest (d = max scale / 63, dmin = max min / 63, in f16), then
 * the values re-quantized with the stored scales.
 */
export function quantizeQ4_K(src: ArrayLike<number>, rows: number, cols: number): Uint8Array {
  if (!Number.isInteger(cols) || cols <= 0 || cols % QK_K !== 0) {
    throw new Error(`q4_k: a row of ${cols} values is not a whole number of ${QK_K}-value superblocks`);
  }
  if (src.length < rows * cols) throw new Error(`quantizeQ4_K: input holds ${src.length} values, [${rows}, ${cols}] needs ${rows * cols}`);
  const x = Float32Array.from({ length: rows * cols }, (_, i) => src[i]);
  const out = new Uint8Array(rows * (cols / QK_K) * 144);
  const L = new Uint8Array(QK_K);
  const w = new Float32Array(32);
  const scales = new Float32Array(8), mins = new Float32Array(8);
  const fit: [number, number] = [0, 0];
  for (let b = 0; b < (rows * cols) / QK_K; b++) {
    const xo = b * QK_K, o = b * 144;
    let maxScale = 0, maxMin = 0;
    for (let j = 0; j < 8; j++) {
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[xo + 32 * j + l] * x[xo + 32 * j + l]));
      const av = fr(Math.sqrt(fr(sumX2 / 32)));
      for (let l = 0; l < 32; l++) w[l] = fr(av + Math.abs(x[xo + 32 * j + l]));
      fitScaleMin(x, xo + 32 * j, 32, 15, w, L, 32 * j, -1, fr(0.1), 20, fit);
      scales[j] = fit[0]; mins[j] = fit[1];
      if (fit[0] > maxScale) maxScale = fit[0];
      if (fit[1] > maxMin) maxMin = fit[1];
    }
    const invScale = maxScale > 0 ? fr(63 / maxScale) : 0, invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, roundHalfEven(fr(invScale * scales[j]))), lm = Math.min(63, roundHalfEven(fr(invMin * mins[j])));
      if (j < 4) {
        out[o + 4 + j] = ls; out[o + 8 + j] = lm;
      } else {
        out[o + 8 + j] = (ls & 0xf) | ((lm & 0xf) << 4);
        out[o + j] |= (ls >> 4) << 6;
        out[o + 4 + j] |= (lm >> 4) << 6;
      }
    }
    const dh = f32ToF16(fr(maxScale / 63)), mh = f32ToF16(fr(maxMin / 63));
    out[o] = dh & 0xff; out[o + 1] = dh >> 8; out[o + 2] = mh & 0xff; out[o + 3] = mh >> 8;
    const d = f16ToF32(dh), dmin = f16ToF32(mh);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMin(out, o + 4, j);
      const dj = fr(d * sc);
      if (!dj) continue; // a zero scale keeps the fit's values
      const mj = fr(dmin * m);
      for (let l = 0; l < 32; l++) L[32 * j + l] = Math.max(0, Math.min(15, roundHalfEven(fr(fr(x[xo + 32 * j + l] + mj) / dj))));
    }
    for (let g = 0; g < 4; g++) {
      for (let l = 0; l < 32; l++) out[o + 16 + 32 * g + l] = L[64 * g + l] | (L[64 * g + 32 + l] << 4);
    }
  }
  return out;
}
