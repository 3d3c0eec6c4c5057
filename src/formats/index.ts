/**
 * Checkpoint files <-> a model's tensors: open any supported format (a .gguf file, a Hugging Face
 * directory, a Meta directory) as a Checkpoint, and save a Checkpoint in any of them.
 */
import { existsSync, statSync } from 'node:fs';
import type { Checkpoint, CheckpointFormat } from './checkpoint.js';
import { openGgufCheckpoint, saveGgufCheckpoint } from './gguf-llama.js';
import { isHfDir, openHfCheckpoint, saveHfCheckpoint } from './hf.js';
import { isMetaDir, openMetaCheckpoint, saveMetaCheckpoint } from './meta.js';
import { loadCheckpointTokenizer, tokenizerToGguf } from './tokenizer-source.js';
import type { DType } from './dtype.js';

export type { Checkpoint, CheckpointFormat, TensorEntry } from './checkpoint.js';
export type { DType } from './dtype.js';
export { loadCheckpointTokenizer } from './tokenizer-source.js';

/** Which format a path holds: a GGUF file, or a directory with config.json (HF) or params.json (Meta). */
export function detectFormat(path: string): CheckpointFormat {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  if (statSync(path).isDirectory()) {
    if (isHfDir(path)) return 'hf';
    if (isMetaDir(path)) return 'meta';
    throw new Error(`${path}: a directory without config.json (Hugging Face) or params.json (Meta) — not a model directory`);
  }
  return 'gguf';
}

export function openCheckpoint(path: string): Checkpoint {
  switch (detectFormat(path)) {
    case 'gguf': return openGgufCheckpoint(path);
    case 'hf': return openHfCheckpoint(path);
    case 'meta': return openMetaCheckpoint(path);
  }
}

export interface SaveOptions {
  type?: DType;
  name?: string;
  /** Meta only: model-parallel shards */
  shards?: number;
  /** HF only: bytes per safetensors shard */
  maxShardBytes?: number;
  onTensor?: (i: number, n: number, name: string) => void;
}

/** Saves a checkpoint in `format` at `out` (a file for GGUF, a directory otherwise), with its tokenizer. */
export function saveCheckpoint(ckpt: Checkpoint, format: CheckpointFormat, out: string, opts: SaveOptions = {}): void {
  const tok = loadCheckpointTokenizer(ckpt);
  switch (format) {
    case 'gguf':
      return saveGgufCheckpoint(ckpt, out, {
        type: opts.type, name: opts.name, onTensor: opts.onTensor,
        tokenizerMetadata: ckpt.tokenizer.ggufMetadata ?? (tok ? tokenizerToGguf(tok) : undefined),
      });
    case 'hf':
      return saveHfCheckpoint(ckpt, out, { type: opts.type, maxShardBytes: opts.maxShardBytes, onTensor: opts.onTensor,
        tokenizerModel: ckpt.tokenizer.modelFile ? undefined : tok?.toBytes() });
    case 'meta':
      return saveMetaCheckpoint(ckpt, out, { type: opts.type, shards: opts.shards, onTensor: opts.onTensor,
        tokenizerModel: ckpt.tokenizer.modelFile ? undefined : tok?.toBytes() });
  }
}
