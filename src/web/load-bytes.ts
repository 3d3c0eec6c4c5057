/**
 * loadModelFromBytes: a model file already in memory (in the browser: the File the user picked)
 * -> a LlamaModel, through the same reader, weight loader and model as `loadModel(path)` in Node
 * (src/inference/load.ts), so the page and the CLI run the same computation.
 */
import type { Backend } from '../kernels/backend.js';
import { MemoryByteSource } from '../formats/byte-source.js';
import { openGgufCheckpoint } from '../formats/gguf-llama.js';
import { loadCheckpointTokenizer } from '../formats/tokenizer-source.js';
import { loadWeights } from '../inference/weights.js';
import { LlamaModel } from '../inference/model.js';

export interface LoadFromBytesOptions {
  backend: Backend;
  /** tokens one sequence can hold (default: the model's context length, at most 2048) */
  contextLength?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"

export function loadModelFromBytes(bytes: Uint8Array, name: string, opts: LoadFromBytesOptions): LlamaModel {
  if (bytes.length < 4 || GGUF_MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`${name} is not a GGUF model file: it starts with bytes [${head}], a GGUF file starts with "GGUF" ` +
      '(convert a model with `llama-ts convert --model IN --to gguf --out OUT.gguf`)');
  }
  const ckpt = openGgufCheckpoint(new MemoryByteSource(bytes, name));
  try {
    const tokenizer = loadCheckpointTokenizer(ckpt);
    if (!tokenizer) throw new Error(`${name} has no tokenizer (no tokenizer.ggml.* metadata); the page needs one to turn text into tokens`);
    const c = ckpt.config;
    const contextLength = opts.contextLength ?? Math.min(c.maxSeqLen, 2048);
    if (!Number.isInteger(contextLength) || contextLength < 1 || contextLength > c.maxSeqLen) {
      throw new Error(`context length ${contextLength} must be an integer in 1..${c.maxSeqLen} (the model's maximum)`);
    }
    const weights = loadWeights(ckpt, opts.backend, { positions: contextLength, onProgress: opts.onProgress });
    return new LlamaModel(opts.backend, weights, tokenizer, {
      name, contextLength, eosId: tokenizer.eosId ?? ckpt.specialIds?.eos,
    });
  } finally {
    ckpt.close();
  }
}
