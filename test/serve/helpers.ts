/** A tiny random LLaMA with a real (trained) SentencePiece vocabulary, saved as GGUF, for server tests. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig } from '../../src/model/config.js';
import { saveCheckpoint } from '../../src/formats/index.js';
import { syntheticCheckpoint } from '../../src/formats/synthetic.js';
import { tokenizerToGguf } from '../../src/formats/tokenizer-source.js';
import { SentencePieceTokenizer } from '../../src/tokenizer/index.js';
import { loadModel } from '../../src/inference/load.js';
import { createBackend } from '../../src/kernels/index.js';
import type { LlamaModel } from '../../src/inference/model.js';

export const TOKENIZER = 'fixtures/tokenizer/ours-botchan-llama-2000.model';

export function writeTinyGguf(dir = mkdtempSync(join(tmpdir(), 'llama-ts-serve-'))): string {
  const tok = SentencePieceTokenizer.load(TOKENIZER);
  const config = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 160, vocabSize: tok.vocabSize, maxSeqLen: 256 });
  // a large embedding std makes the random model's greedy choices decisive (no near-ties)
  const ckpt = syntheticCheckpoint(config, { seed: 7, std: 0.08, embeddingStd: 1.0 }, tokenizerToGguf(tok));
  const path = join(dir, 'tiny.gguf');
  saveCheckpoint(ckpt, 'gguf', path);
  return path;
}

export async function loadTiny(path: string, threads = 1): Promise<LlamaModel> {
  return loadModel(path, { backend: await createBackend({ kind: 'wasm', threads }) });
}
