/**
 * Number formats of stored weights: IEEE half precision (f16) and GGUF's block quantizations
 * Q8_0 and Q4_0, bit-exact with llama.cpp's reference quantizers (ggml-quants.c,
 * quantize_row_q8_0_ref / quantize_row_q4_0_ref) so the GGUF files we write load there, and theirs here.
 *
 * Block layouts (32 weights along a row, little-endian):
 *   Q8_0: { f16 d; int8 qs[32] }             34 bytes;  x[j] = qs[j] * d
 *   Q4_0: { f16 d; uint8 qs[16] }            18 bytes;  byte j holds element j in its low nibble and
 *                                                       element j+16 in its high nibble; x = (q - 8) * d
 * The quantizers compute in float32 exactly as the C code does (Math.fround at every step), because
 * a single ulp of difference in the scale can flip a rounded quant.
 */

export const QK = 32;                 // weights per block (QK8_0 == QK4_0 == 32)
export const Q8_0_BLOCK_BYTES = 34;
export const Q4_0_BLOCK_BYTES = 18;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
const fr = Math.fround;

/** float32 -> IEEE binary16 bits, round-to-nearest-even; overflow -> ±inf, NaN stays NaN (quiet). */
export function f32ToF16(x: number): number {
  scratchF32[0] = x;
  const bits = scratchU32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15; // the half-precision biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    // Normal half: keep 10 mantissa bits, round on the 13 dropped ones. A carry out of the
    // mantissa correctly bumps the exponent (and 0x7bff rounds up to 0x7c00 = inf).
    let h = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  // Subnormal half (or zero): value = m * 2^-24 with m = M * 2^(e-14), M the 24-bit significand.
  if (exp === 0) return sign; // float32 subnormals are far below half's smallest subnormal
  const shift = 14 - e;       // >= 14
  if (shift > 24) return sign; // below half of the smallest subnormal: rounds to zero
  const M = mant | 0x800000;
  let m = M >>> shift;
  const rest = M & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (m & 1) !== 0)) m++; // may carry into the smallest normal: still right
  return sign | m;
}

let f16Table: Float32Array | null = null;

/** IEEE binary16 bits -> number (exact; subnormals, ±inf and NaN included). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** All 65536 half values as floats: dequantization looks scales up here. */
export function f16LookupTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

/** C's roundf: halves round away from zero (JS Math.round rounds them toward +inf). */
function roundAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

export function quantBytes(type: 'f32' | 'f16' | 'q8_0' | 'q4_0', rows: number, cols: number): number {
  switch (type) {
    case 'f32': return rows * cols * 4;
    case 'f16': return rows * cols * 2;
    case 'q8_0': checkBlockCols('q8_0', cols); return rows * (cols / QK) * Q8_0_BLOCK_BYTES;
    case 'q4_0': checkBlockCols('q4_0', cols); return rows * (cols / QK) * Q4_0_BLOCK_BYTES;
  }
}

function checkBlockCols(type: string, cols: number): void {
  if (!Number.isInteger(cols) || cols <= 0 || cols % QK !== 0) {
    throw new Error(`${type}: a row of ${cols} values is not a whole number of ${QK}-value blocks; ` +
      `quantize only tensors whose row length is a multiple of ${QK} (keep others in f16/f32)`);
  }
}

function checkMatrix(op: string, src: ArrayLike<number>, rows: number, cols: number, dstLen: number, dstNeed: number): void {
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`${op}: invalid row count ${rows}`);
  if (src.length < rows * cols) throw new Error(`${op}: input holds ${src.length} values, [${rows}, ${cols}] needs ${rows * cols}`);
  if (dstLen < dstNeed) throw new Error(`${op}: output holds ${dstLen} elements, [${rows}, ${cols}] needs ${dstNeed}`);
}

// ---------------------------------------------------------------- f16

export function quantizeF16(src: ArrayLike<number>, rows: number, cols: number, dst = new Uint16Array(rows * cols)): Uint16Array {
  checkMatrix('quantizeF16', src, rows, cols, dst.length, rows * cols);
  for (let i = 0; i < rows * cols; i++) dst[i] = f32ToF16(src[i]);
  return dst;
}

export function dequantizeF16(src: Uint16Array, rows: number, cols: number, dst = new Float32Array(rows * cols)): Float32Array {
  checkMatrix('dequantizeF16', src, rows, cols, dst.length, rows * cols);
  const t = f16LookupTable();
  for (let i = 0; i < rows * cols; i++) dst[i] = t[src[i]];
  return dst;
}

// ---------------------------------------------------------------- Q8_0

/** Quantizes one block of 32 values starting at src[s] into dst[o .. o+34). */
function quantizeBlockQ8_0(src: ArrayLike<number>, s: number, dst: Uint8Array, o: number): void {
  let amax = 0;
  for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(fr(src[s + j])));
  const d = fr(amax / 127);
  const id = d !== 0 ? fr(1 / d) : 0;
  const h = f32ToF16(d);
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
  for (let j = 0; j < QK; j++) {
    const q = roundAwayFromZero(fr(fr(src[s + j]) * id));
    dst[o + 2 + j] = q & 0xff; // int8 two's complement
  }
}

/** [rows, cols] floats -> GGUF Q8_0 blocks (cols a multiple of 32). */
export function quantizeQ8_0(src: ArrayLike<number>, rows: number, cols: number, dst?: Uint8Array): Uint8Array {
  checkBlockCols('q8_0', cols);
  const out = dst ?? new Uint8Array(quantBytes('q8_0', rows, cols));
  checkMatrix('quantizeQ8_0', src, rows, cols, out.length, quantBytes('q8_0', rows, cols));
  const nb = (rows * cols) / QK;
  for (let b = 0; b < nb; b++) quantizeBlockQ8_0(src, b * QK, out, b * Q8_0_BLOCK_BYTES);
  return out;
}

/** Dequantizes row `r` of a Q8_0 matrix with `cols` columns into dst[0..cols). */
export function dequantizeRowQ8_0(src: Uint8Array, r: number, cols: number, dst: Float32Array | Float64Array): void {
  const t = f16LookupTable();
  const nbRow = cols / QK;
  for (let b = 0; b < nbRow; b++) {
    const o = (r * nbRow + b) * Q8_0_BLOCK_BYTES;
    const d = t[src[o] | (src[o + 1] << 8)];
    for (let j = 0; j < QK; j++) dst[b * QK + j] = ((src[o + 2 + j] << 24) >> 24) * d;
  }
}

export function dequantizeQ8_0(src: Uint8Array, rows: number, cols: number, dst = new Float32Array(rows * cols)): Float32Array {
  checkBlockCols('q8_0', cols);
  checkMatrix('dequantizeQ8_0', { length: rows * cols } as ArrayLike<number>, rows, cols, dst.length, rows * cols);
  if (src.length < quantBytes('q8_0', rows, cols)) {
    throw new Error(`dequantizeQ8_0: ${src.length} bytes, [${rows}, ${cols}] needs ${quantBytes('q8_0', rows, cols)}`);
  }
  for (let r = 0; r < rows; r++) dequantizeRowQ8_0(src, r, cols, dst.subarray(r * cols, (r + 1) * cols));
  return dst;
}

/** Round half to even (x86 _MM_ROUND_NEAREST, ggml's nearest_int, WebAssembly f32x4.nearest). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The activation rounding of every block-quantized (q8_0/q4_0) weight product, in place: each
 * 32-block of a row becomes d·q with d = f16(max|x|/127) and q = nearest-even(x·127/max|x|), as
 * llama.cpp's x86 CPU path quantizes the activations into Q8_0 before its integer dot products
 * (ggml-cpu quantize_row_q8_0 — not the _ref quantizer above, which rounds half away from zero
 * through 1/d). The WebAssembly kernels compute exactly these integers (asm/quantize.ts).
 */
export function roundActivationsQ8_0(x: Float32Array | Float64Array, rows: number, cols: number): void {
  checkBlockCols('q8_0 activations', cols);
  for (let b = 0; b < (rows * cols) / QK; b++) {
    const s = b * QK;
    let m = 0;
    for (let j = 0; j < QK; j++) m = Math.max(m, Math.abs(fr(x[s + j])));
    const d = f16ToF32(f32ToF16(fr(m / 127)));
    const id = m !== 0 ? fr(127 / m) : 0;
    for (let j = 0; j < QK; j++) x[s + j] = d * Math.max(-127, Math.min(127, roundHalfEven(fr(fr(x[s + j]) * id))));
  }
}

// ---------------------------------------------------------------- Q4_0

function quantizeBlockQ4_0(src: ArrayLike<number>, s: number, dst: Uint8Array, o: number): void {
  // The scale comes from the signed value of largest magnitude (first one wins ties), so that
  // value maps exactly to q = 0, i.e. -8 * d: the asymmetric 4-bit range [-8, 7] is used fully.
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = fr(src[s + j]);
    if (amax < Math.abs(v)) { amax = Math.abs(v); max = v; }
  }
  const d = fr(max / -8);
  const id = d !== 0 ? fr(1 / d) : 0;
  const h = f32ToF16(d);
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
  for (let j = 0; j < QK / 2; j++) {
    // (int8_t)(x*id + 8.5f) truncates toward zero; the sum is >= 0.5 so truncation is floor.
    const q0 = Math.min(15, Math.trunc(fr(fr(fr(src[s + j]) * id) + 8.5)));
    const q1 = Math.min(15, Math.trunc(fr(fr(fr(src[s + QK / 2 + j]) * id) + 8.5)));
    dst[o + 2 + j] = q0 | (q1 << 4);
  }
}

/** [rows, cols] floats -> GGUF Q4_0 blocks (cols a multiple of 32). */
export function quantizeQ4_0(src: ArrayLike<number>, rows: number, cols: number, dst?: Uint8Array): Uint8Array {
  checkBlockCols('q4_0', cols);
  const out = dst ?? new Uint8Array(quantBytes('q4_0', rows, cols));
  checkMatrix('quantizeQ4_0', src, rows, cols, out.length, quantBytes('q4_0', rows, cols));
  const nb = (rows * cols) / QK;
  for (let b = 0; b < nb; b++) quantizeBlockQ4_0(src, b * QK, out, b * Q4_0_BLOCK_BYTES);
  return out;
}

/** Dequantizes row `r` of a Q4_0 matrix with `cols` columns into dst[0..cols). */
export function dequantizeRowQ4_0(src: Uint8Array, r: number, cols: number, dst: Float32Array | Float64Array): void {
  const t = f16LookupTable();
  const nbRow = cols / QK;
  for (let b = 0; b < nbRow; b++) {
    const o = (r * nbRow + b) * Q4_0_BLOCK_BYTES;
    const d = t[src[o] | (src[o + 1] << 8)];
    for (let j = 0; j < QK / 2; j++) {
      const byte = src[o + 2 + j];
      dst[b * QK + j] = ((byte & 0x0f) - 8) * d;
      dst[b * QK + j + QK / 2] = ((byte >>> 4) - 8) * d;
    }
  }
}

export function dequantizeQ4_0(src: Uint8Array, rows: number, cols: number, dst = new Float32Array(rows * cols)): Float32Array {
  checkBlockCols('q4_0', cols);
  checkMatrix('dequantizeQ4_0', { length: rows * cols } as ArrayLike<number>, rows, cols, dst.length, rows * cols);
  if (src.length < quantBytes('q4_0', rows, cols)) {
    throw new Error(`dequantizeQ4_0: ${src.length} bytes, [${rows}, ${cols}] needs ${quantBytes('q4_0', rows, cols)}`);
  }
  for (let r = 0; r < rows; r++) dequantizeRowQ4_0(src, r, cols, dst.subarray(r * cols, (r + 1) * cols));
  return dst;
}

// ---------------------------------------------------------------- any type

/** Quantizes a [rows, cols] float matrix to the given storage type (f32 copies). */
export function quantize(type: 'f32' | 'f16' | 'q8_0' | 'q4_0', src: ArrayLike<number>, rows: number, cols: number): Float32Array | Uint16Array | Uint8Array {
  switch (type) {
    case 'f32': checkMatrix('quantize(f32)', src, rows, cols, rows * cols, rows * cols); return Float32Array.from({ length: rows * cols }, (_, i) => src[i]);
    case 'f16': return quantizeF16(src, rows, cols);
    case 'q8_0': return quantizeQ8_0(src, rows, cols);
    case 'q4_0': return quantizeQ4_0(src, rows, cols);
  }
}

/** Row `r` of a stored weight of any type, as floats in dst[0..cols). */
export function dequantizeRow(type: 'f32' | 'f16' | 'q8_0' | 'q4_0', data: Float32Array | Uint16Array | Uint8Array,
  r: number, cols: number, dst: Float32Array | Float64Array): void {
  switch (type) {
    case 'f32': for (let c = 0; c < cols; c++) dst[c] = data[r * cols + c]; return;
    case 'f16': { const t = f16LookupTable(); for (let c = 0; c < cols; c++) dst[c] = t[data[r * cols + c]]; return; }
    case 'q8_0': dequantizeRowQ8_0(data as Uint8Array, r, cols, dst); return;
    case 'q4_0': dequantizeRowQ4_0(data as Uint8Array, r, cols, dst); return;
  }
}

/** Whole matrix of any stored type back to floats. */
export function dequantize(type: 'f32' | 'f16' | 'q8_0' | 'q4_0', data: Float32Array | Uint16Array | Uint8Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) dequantizeRow(type, data, r, cols, out.subarray(r * cols, (r + 1) * cols));
  return out;
}
