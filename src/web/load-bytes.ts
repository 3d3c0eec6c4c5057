/**
 * loadModelFromBytes: a model file already in memory (in the browser: the File the user picked)
 * -> a LlamaModel, through the same readers, weight loader and model as `loadModel(path)` in Node
 * (src/inference/load.ts), so the page and the CLI run the same computation.
 * Accepted: a GGUF file (with its tokenizer.ggml.* vocabulary, or a tokenizer file given beside
 * it), or a llama-ts training checkpoint (.ckpt) with the run's tokenizer.model beside it.
 */
import type { Backend } from '../kernels/backend.js';
import type { Checkpoint } from '../formats/checkpoint.js';
import { MemoryByteSource } from '../formats/byte-source.js';
import { openGgufCheckpoint } from '../formats/gguf-llama.js';
import { loadCheckpointTokenizer } from '../formats/tokenizer-source.js';
import { SentencePieceTokenizer } from '../tokenizer/index.js';
import { loadWeights } from '../inference/weights.js';
import { LlamaModel } from '../inference/model.js';
import { isTrainingCheckpoint, openTrainingCheckpointBytes } from './training-checkpoint.js';

export interface LoadFromBytesOptions {
  backend: Backend;
  /** A SentencePiece tokenizer.model: required with a training checkpoint, used when a GGUF has no vocabulary. */
  tokenizer?: { bytes: Uint8Array; name: string };
  /** tokens one sequence can hold (default: the model's context length, at most 2048) */
  contextLength?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46]; // "GGUF"
const isGguf = (b: Uint8Array) => b.length >= 4 && GGUF_MAGIC.every((m, i) => b[i] === m);

function openFromBytes(bytes: Uint8Array, name: string): Checkpoint {
  if (isGguf(bytes)) return openGgufCheckpoint(new MemoryByteSource(bytes, name));
  if (isTrainingCheckpoint(bytes)) return openTrainingCheckpointBytes(bytes, name).checkpoint;
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(`${name} is not a GGUF model file: it starts with bytes [${head}], a GGUF file starts with "GGUF" ` +
    '(and a llama-ts training checkpoint with "LTCKPT"); convert other models with `llama-ts convert --model IN --to gguf --out OUT.gguf`');
}

function tokenizerFor(ckpt: Checkpoint, name: string, file: LoadFromBytesOptions['tokenizer']): SentencePieceTokenizer {
  let tok = loadCheckpointTokenizer(ckpt);
  if (!tok) {
    if (!file) {
      throw new Error(`${name} has no tokenizer${ckpt.format === 'gguf' ? ' (no tokenizer.ggml.* metadata)' : ''}: ` +
        'choose its tokenizer.model together with it (select both files)');
    }
    tok = SentencePieceTokenizer.fromBytes(file.bytes, file.name);
    if (tok.vocabSize !== ckpt.config.vocabSize) {
      throw new Error(`${file.name} has ${tok.vocabSize} pieces but ${name}'s vocabulary is ${ckpt.config.vocabSize}: they do not belong together`);
    }
  }
  return tok;
}

export function loadModelFromBytes(bytes: Uint8Array, name: string, opts: LoadFromBytesOptions): LlamaModel {
  const ckpt = openFromBytes(bytes, name);
  try {
    const tokenizer = tokenizerFor(ckpt, name, opts.tokenizer);
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
