/**
 * Element types a checkpoint tensor can be stored in, and their byte sizes. The quantized ones are
 * GGUF's block formats along the contiguous dimension:
 *   q8_0: f16 scale d, then 32 x int8           -> 34 bytes, x = d * q
 *   q4_0: f16 scale d, then 16 bytes of nibbles -> 18 bytes, x = d * (q - 8); byte j holds value j
 *         in its low nibble and value j + 16 in its high nibble.
 *   q4_k, q5_k, q6_k: llama.cpp's K-quants, superblocks of 256 values (144, 176, 210 bytes;
 *         src/kernels/quant-k.ts). Read, decoded and copied GGUF to GGUF; of them llama-ts
 *         quantizes to q4_k only.
 */
export type DType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q5_k' | 'q6_k';

/** The types llama-ts writes (and converts to). */
export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k'];

export const K_QUANTS: readonly DType[] = ['q4_k', 'q5_k', 'q6_k'];
export const isKQuant = (t: DType): t is 'q4_k' | 'q5_k' | 'q6_k' => (K_QUANTS as readonly string[]).includes(t);

export const QK = 32; // values per quantization block

interface DTypeInfo { blockValues: number; blockBytes: number }

const INFO: Record<DType, DTypeInfo> = {
  f32: { blockValues: 1, blockBytes: 4 },
  f16: { blockValues: 1, blockBytes: 2 },
  bf16: { blockValues: 1, blockBytes: 2 },
  q8_0: { blockValues: QK, blockBytes: 34 },
  q4_0: { blockValues: QK, blockBytes: 18 },
  q4_k: { blockValues: 256, blockBytes: 144 },
  q5_k: { blockValues: 256, blockBytes: 176 },
  q6_k: { blockValues: 256, blockBytes: 210 },
};

/** A type llama-ts can write (Q5_K and Q6_K are read only). */
export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

export const isQuantized = (t: DType) => t === 'q8_0' || t === 'q4_0' || isKQuant(t);

/** Bytes of one row of `cols` values (cols must be a multiple of the block size). */
export function rowBytes(t: DType, cols: number): number {
  const info = INFO[t];
  if (cols % info.blockValues !== 0) {
    throw new Error(`a ${t} row needs a multiple of ${info.blockValues} values, got ${cols}`);
  }
  return (cols / info.blockValues) * info.blockBytes;
}

/** Bytes of a row-major tensor whose last dimension is contiguous. */
export function tensorBytes(t: DType, shape: readonly number[]): number {
  if (shape.length === 0) return INFO[t].blockBytes;
  const cols = shape[shape.length - 1];
  let rows = 1;
  for (let i = 0; i < shape.length - 1; i++) rows *= shape[i];
  return rows * rowBytes(t, cols);
}

/** A type that can hold these shapes: quantized types need the last dimension to be a multiple of their block. */
export function canStore(t: DType, shape: readonly number[]): boolean {
  return shape.length > 0 && shape[shape.length - 1] % INFO[t].blockValues === 0;
}
