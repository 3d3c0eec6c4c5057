/**
 * Test helpers for the K-quants: llama.cpp's Q8_K activation rounding (what its CPU path applies to
 * activations before every K-quant dot product; ggml quantize_row_q8_K_ref), and random but valid
 * K-quant tensors (llama-ts does not quantize to K-quants, so test files are made of random blocks).
 */
import { f32ToF16 } from '../../src/kernels/quant.js';
import { K_BLOCK_BYTES, type KQuantType } from '../../src/kernels/quant-k.js';
import { Rng } from '../../src/util/rng.js';

const fr = Math.fround;

/** Round half to even, as ggml's nearest_int. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * In place, per 256-block: the value of largest magnitude (the first, on ties) maps to -127 through
 * iscale = -127/max; q = min(127, nearest(iscale·x)); x becomes q / iscale.
 */
export function roundActivationsQ8_K(x: Float32Array | Float64Array, n: number): void {
  for (let b = 0; b < n; b += 256) {
    let amax = 0, max = 0;
    for (let j = b; j < b + 256; j++) { const v = fr(x[j]); if (Math.abs(v) > amax) { amax = Math.abs(v); max = v; } }
    if (amax === 0) { x.fill(0, b, b + 256); continue; }
    const iscale = fr(-127 / max);
    const d = fr(1 / iscale);
    for (let j = b; j < b + 256; j++) x[j] = fr(d * (Math.min(127, rint(fr(iscale * fr(x[j])))) | 0)); // an int: no -0 from q
  }
}

/** A [rows, cols] tensor of random K-quant superblocks whose values are about `scale` in size. */
export function randomKQuant(type: KQuantType, rows: number, cols: number, seed: number, scale = 0.05): Uint8Array {
  const rng = new Rng(seed);
  const bytes = K_BLOCK_BYTES[type];
  const out = new Uint8Array(rows * (cols / 256) * bytes);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rng.uniform() * 256);
  const setF16 = (o: number, v: number) => { const h = f32ToF16(v); out[o] = h & 0xff; out[o + 1] = h >> 8; };
  for (let o = 0; o < out.length; o += bytes) {
    if (type === 'q6_k') setF16(o + 208, scale / (128 * 32));            // d·sc·(q-32): |sc| <= 128, |q-32| <= 32
    else { setF16(o, scale / (63 * (type === 'q4_k' ? 15 : 31))); setF16(o + 2, scale / 63 / 3); } // d·sc·q − dmin·m
  }
  return out;
}
