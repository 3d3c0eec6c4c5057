/**
 * Converting tensor bytes between storage types (via float32), for `convert` and for loaders that
 * need float32 (norm weights, the embedding table of a bf16 checkpoint). f16 and the GGUF block
 * quantizations are the kernels' (bit-exact with llama.cpp); bf16 is here since only files use it.
 */
import { dequantize, quantize } from '../kernels/quant.js';
import { dequantizeK, quantizeQ4_K } from '../kernels/quant-k.js';
import { tensorBytes, type DType } from './dtype.js';

/** A typed view of `bytes` (copied when the byte offset is not aligned for the element size). */
export function asF32(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return new Float32Array(bytes.slice().buffer);
}

export function asU16(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return new Uint16Array(bytes.slice().buffer);
}

export const asBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** bf16 is the top half of a float32: widening is exact. */
function bf16ToF32(src: Uint16Array): Float32Array {
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
  return new Float32Array(out.buffer);
}

/** float32 -> bf16 with round-to-nearest-even (as torch does); NaN stays NaN. */
function f32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0) { out[i] = (b >>> 16) | 0x40; continue; }
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

const shape2 = (shape: readonly number[]): [number, number] => {
  const cols = shape.length ? shape[shape.length - 1] : 1;
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i];
  return [rows, cols];
};

/** Tensor bytes of any type -> float32 values (row-major, same shape). */
export function decodeToF32(dtype: DType, bytes: Uint8Array, shape: readonly number[]): Float32Array {
  const need = tensorBytes(dtype, shape);
  if (bytes.length !== need) throw new Error(`decode ${dtype} [${shape.join(', ')}]: got ${bytes.length} bytes, need ${need}`);
  const [rows, cols] = shape2(shape);
  switch (dtype) {
    case 'f32': return asF32(bytes);
    case 'bf16': return bf16ToF32(asU16(bytes));
    case 'f16': return dequantize('f16', asU16(bytes), rows, cols);
    case 'q8_0': case 'q4_0': return dequantize(dtype, bytes, rows, cols);
    case 'q4_k': case 'q5_k': case 'q6_k': return dequantizeK(dtype, bytes, rows, cols);
  }
}

/** float32 values -> tensor bytes of `dtype` (quantized types need the last dim a multiple of 32). */
export function encodeFromF32(dtype: DType, values: Float32Array, shape: readonly number[]): Uint8Array {
  const [rows, cols] = shape2(shape);
  switch (dtype) {
    case 'f32': return asBytes(values);
    case 'bf16': return asBytes(f32ToBf16(values));
    case 'f16': case 'q8_0': case 'q4_0': return asBytes(quantize(dtype, values, rows, cols));
    case 'q4_k': return quantizeQ4_K(values, rows, cols);
    case 'q5_k': case 'q6_k':
      throw new Error(`encoding ${dtype}: llama-ts reads Q5_K and Q6_K but does not quantize to them; choose q4_k, q8_0, q4_0, f16, bf16 or f32`);
  }
}

/** Re-encodes tensor bytes from one type to another (returns the input when the types match). */
export function convertBytes(from: DType, to: DType, bytes: Uint8Array, shape: readonly number[]): Uint8Array {
  if (from === to) return bytes;
  return encodeFromF32(to, decodeToF32(from, bytes, shape), shape);
}
