/**
 * loadModel(PATH): a GGUF file, a Hugging Face directory or a Meta directory -> a LoadedModel
 * with its tokenizer, weights read tensor by tensor into the backend's memory.
 */
import { basename } from 'node:path';
import type { Backend } from '../kernels/backend.js';
import { createBackend } from '../kernels/index.js';
import { loadCheckpointTokenizer, openCheckpoint } from '../formats/index.js';
import { loadWeights } from './weights.js';
import { LlamaModel } from './model.js';

export interface LoadModelOptions {
  /** the compute backend (default: the fast WebAssembly backend when available, else the reference) */
  backend?: Backend;
  threads?: number;
  /** tokens each sequence can hold (default: the model's context length, at most 4096) */
  contextLength?: number;
  /** rows per prefill chunk (default 128, less for wide models) */
  chunk?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** The fast WebAssembly backend (the reference kernels with LLAMA_TS_BACKEND=reference). */
export async function defaultBackend(threads?: number): Promise<Backend> {
  const kind = process.env.LLAMA_TS_BACKEND === 'reference' ? 'reference' : 'wasm';
  return createBackend({ kind, threads });
}

export async function loadModel(path: string, opts: LoadModelOptions = {}): Promise<LlamaModel> {
  const ckpt = openCheckpoint(path);
  try {
    const tokenizer = loadCheckpointTokenizer(ckpt);
    const c = ckpt.config;
    const contextLength = opts.contextLength ?? Math.min(c.maxSeqLen, 4096);
    if (!Number.isInteger(contextLength) || contextLength < 1 || contextLength > c.maxSeqLen) {
      throw new Error(`context length ${contextLength} must be an integer in 1..${c.maxSeqLen} (the model's maximum)`);
    }
    const backend = opts.backend ?? (await defaultBackend(opts.threads));
    let weights;
    try {
      weights = loadWeights(ckpt, backend, { chunk: opts.chunk, positions: contextLength, onProgress: opts.onProgress });
    } catch (e) {
      if (!opts.backend) backend.dispose();
      throw e;
    }
    return new LlamaModel(backend, weights, tokenizer, {
      name: basename(path), contextLength,
      eosId: tokenizer?.eosId ?? ckpt.specialIds?.eos,
      ownsBackend: opts.backend === undefined,
    });
  } finally {
    ckpt.close();
  }
}
