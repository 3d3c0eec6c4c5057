/**
 * Synthetic checkpoints: random LLaMA weights (deterministic per seed and tensor name, generated
 * lazily one tensor at a time, so a 7B-shaped model can be written without holding it) and a
 * synthetic SentencePiece-style vocabulary. For tests, benchmarks and the large-model smoke run —
 * anything that needs a model of a given shape without a trained one.
 */
import { paramSpecs, type LlamaConfig } from '../model/config.js';
import { Rng } from '../util/rng.js';
import type { Checkpoint, TensorEntry } from './checkpoint.js';
import { encodeFromF32 } from './codec.js';
import { isKQuant, tensorBytes, type DType } from './dtype.js';
import { f32ToF16 } from '../kernels/quant.js';
import { K_BLOCK_BYTES, type KQuantType } from '../kernels/quant-k.js';
import { GgufType, gv, type GgufValue } from './gguf.js';

export interface SyntheticOptions {
  seed?: number;
  /** std of the 2-D weights (uniform distribution); default 0.02 */
  std?: number;
  /** std of the embedding rows (default: std) */
  embeddingStd?: number;
  /** RMSNorm weights are 1 + uniform(-normNoise, normNoise) (default 0.1: a missing norm shows) */
  normNoise?: number;
  /**
   * stored type of the 2-D weights (norms stay f32). K-quants (which llama-ts does not quantize
   * to) are random valid superblocks whose values are about `std` in size.
   */
  type?: DType;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

/** The float values of one synthetic tensor. */
export function syntheticValues(name: string, shape: readonly number[], o: SyntheticOptions = {}): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const rng = new Rng((o.seed ?? 1234) * 65599 + fnv1a(name));
  if (shape.length === 1) {
    const a = o.normNoise ?? 0.1;
    rng.fillUniform(out, 1 - a, 1 + a);
  } else {
    const std = name === 'tok_embeddings.weight' ? (o.embeddingStd ?? o.std ?? 0.02) : (o.std ?? 0.02);
    const a = std * Math.sqrt(3);
    rng.fillUniform(out, -a, a);
  }
  return out;
}

/**
 * A [rows, cols] tensor of random, valid K-quant superblocks (random scales, mins and quants) whose
 * values are about `scale` in size.
 */
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

/** A Checkpoint whose tensors are generated on read. */
export function syntheticCheckpoint(config: LlamaConfig, o: SyntheticOptions = {}, tokenizerMetadata?: Map<string, GgufValue>): Checkpoint {
  const tensors = new Map<string, TensorEntry>();
  for (const s of paramSpecs(config)) {
    const dtype: DType = s.shape.length === 1 ? 'f32' : (o.type ?? 'f32');
    const byteLength = tensorBytes(dtype, s.shape);
    tensors.set(s.name, {
      name: s.name, shape: s.shape, dtype, byteLength, source: `synthetic '${s.name}'`,
      read(dst?: Uint8Array) {
        const std = s.name === 'tok_embeddings.weight' ? (o.embeddingStd ?? o.std ?? 0.02) : (o.std ?? 0.02);
        const bytes = isKQuant(dtype) ? randomKQuant(dtype, s.shape[0], s.shape[1], (o.seed ?? 1234) * 65599 + fnv1a(s.name), std)
          : encodeFromF32(dtype, syntheticValues(s.name, s.shape, o), s.shape);
        if (!dst) return bytes;
        dst.set(bytes);
        return dst;
      },
    });
  }
  return {
    format: 'gguf', path: 'synthetic', config, tensors,
    tokenizer: { ggufMetadata: tokenizerMetadata ?? syntheticVocabMetadata(config.vocabSize) },
    specialIds: { bos: 1, eos: 2 },
    close() { /* nothing open */ },
  };
}

/**
 * A SentencePiece-BPE-style vocabulary of n pieces as GGUF tokenizer metadata: <unk> <s> </s>,
 * the 256 byte pieces <0x00>..<0xFF>, then "▁" + letters, letters, and letter pairs/triples with
 * descending scores (so BPE merges them), as llama.cpp's "llama" tokenizer model expects.
 */
export function syntheticVocabMetadata(n: number): Map<string, GgufValue> {
  if (n < 259 + 27) throw new Error(`a synthetic vocabulary needs at least ${259 + 27} pieces, asked for ${n}`);
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  const scores = [0, 0, 0];
  for (let b = 0; b < 256; b++) { tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); scores.push(0); }
  const SP = '\u2581';
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const cands: string[] = [SP];
  for (const c of lower) cands.push(SP + c);
  for (const c of lower) cands.push(c);
  for (let c = 33; c < 127; c++) cands.push(String.fromCharCode(c));
  for (const a of lower) for (const b of lower) cands.push(a + b);
  for (const a of lower) for (const b of lower) cands.push(SP + a + b);
  outer: for (const a of lower) for (const b of lower) for (const c of lower) {
    if (cands.length > n * 2) break outer;
    cands.push(a + b + c, SP + a + b + c);
  }
  const seen = new Set(tokens);
  let k = 0;
  for (const p of cands) {
    if (tokens.length >= n) break;
    if (seen.has(p)) continue;
    seen.add(p);
    tokens.push(p); types.push(1); scores.push(-k++);
  }
  if (tokens.length < n) throw new Error(`could only make ${tokens.length} synthetic pieces`);
  return new Map<string, GgufValue>([
    ['tokenizer.ggml.model', gv.str('llama')],
    ['tokenizer.ggml.tokens', gv.arr(GgufType.STRING, tokens)],
    ['tokenizer.ggml.scores', gv.arr(GgufType.FLOAT32, scores)],
    ['tokenizer.ggml.token_type', gv.arr(GgufType.INT32, types)],
    ['tokenizer.ggml.bos_token_id', gv.u32(1)],
    ['tokenizer.ggml.eos_token_id', gv.u32(2)],
    ['tokenizer.ggml.unknown_token_id', gv.u32(0)],
    ['tokenizer.ggml.add_bos_token', gv.bool(true)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
    ['tokenizer.ggml.add_space_prefix', gv.bool(true)],
  ]);
}

