/**
 * What every checkpoint reader produces: a LLaMA config and the model's tensors under Meta's names
 * and shapes (src/model/config.ts paramSpecs), each read lazily from its file. Format-specific
 * layouts (HF's permuted q/k rows, model-parallel shards) are undone inside `read`, so everything
 * above this floor sees one layout.
 */
import { paramSpecs, type LlamaConfig } from '../model/config.js';
import { tensorBytes, type DType } from './dtype.js';
import type { GgufValue } from './gguf.js';

export type CheckpointFormat = 'gguf' | 'hf' | 'meta';

export interface TensorEntry {
  /** Meta name, e.g. layers.0.attention.wq.weight */
  readonly name: string;
  /** Meta shape, row-major, weights [out, in] */
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly byteLength: number;
  /** Where the bytes come from (file and tensor name there), for error messages. */
  readonly source: string;
  /** The tensor's bytes in Meta layout, written into `dst` (byteLength bytes) or a new array. */
  read(dst?: Uint8Array): Uint8Array;
}

/** Where the tokenizer comes from: GGUF metadata or a SentencePiece tokenizer.model file. */
export interface TokenizerSource {
  ggufMetadata?: Map<string, GgufValue>;
  modelFile?: string;
}

export interface Checkpoint {
  readonly format: CheckpointFormat;
  readonly path: string;
  readonly config: LlamaConfig;
  /** Meta name -> tensor; `output.weight` is present even when the file ties it to the embedding. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly tokenizer: TokenizerSource;
  /** Ids the checkpoint declares for BOS/EOS, when it says (GGUF, HF config.json). */
  readonly specialIds?: { bos?: number; eos?: number };
  close(): void;
}

/**
 * Checks that the checkpoint holds exactly the tensors the config implies, with the implied
 * shapes; names the tensor, its source, and the config fields behind the expected shape.
 */
export function validateTensors(
  config: LlamaConfig,
  tensors: ReadonlyMap<string, TensorEntry>,
  where: string,
): void {
  const specs = paramSpecs(config);
  const wanted = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (!t) throw new Error(`${where}: missing tensor '${s.name}' (the config has ${config.nLayers} layers)`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(`${where}: tensor '${s.name}' (${t.source}) has shape [${t.shape.join(', ')}] but the config ` +
        `(dim ${config.dim}, heads ${config.nHeads}, kv heads ${config.nKvHeads}, hidden ${config.hiddenDim}, ` +
        `vocab ${config.vocabSize}) implies [${s.shape.join(', ')}]`);
    }
    const bytes = tensorBytes(t.dtype, t.shape);
    if (bytes !== t.byteLength) {
      throw new Error(`${where}: tensor '${s.name}' (${t.source}) has ${t.byteLength} bytes, ${t.dtype} [${t.shape.join(', ')}] needs ${bytes}`);
    }
  }
  for (const name of tensors.keys()) {
    if (!wanted.has(name)) {
      throw new Error(`${where}: unexpected tensor '${name}' (${tensors.get(name)!.source}): not part of a LLaMA model ` +
        `with ${config.nLayers} layers — is this a different architecture?`);
    }
  }
}

/** A tensor whose bytes are a row permutation of another's (rows of `rowBytes` bytes). */
export function permutedRows(src: TensorEntry, perm: Int32Array, rowBytes: number): TensorEntry {
  return {
    name: src.name, shape: src.shape, dtype: src.dtype, byteLength: src.byteLength, source: src.source,
    read(dst?: Uint8Array) {
      const raw = src.read();
      const out = dst ?? new Uint8Array(src.byteLength);
      for (let r = 0; r < perm.length; r++) {
        out.set(raw.subarray(perm[r] * rowBytes, (perm[r] + 1) * rowBytes), r * rowBytes);
      }
      return out;
    },
  };
}

/**
 * HF's q/k layout for rotate-half RoPE (transformers' convert_llama_weights_to_hf permute): within
 * each head, HF row s*hd/2 + i holds Meta row 2i + s. Returns perm with hf[r] = meta[perm[r]].
 */
export function metaToHfPerm(nHeads: number, headDim: number): Int32Array {
  const half = headDim / 2;
  const perm = new Int32Array(nHeads * headDim);
  for (let h = 0; h < nHeads; h++) {
    for (let s = 0; s < 2; s++) for (let i = 0; i < half; i++) perm[h * headDim + s * half + i] = h * headDim + 2 * i + s;
  }
  return perm;
}

/** The inverse: meta[r] = hf[perm[r]]. */
export function hfToMetaPerm(nHeads: number, headDim: number): Int32Array {
  const fwd = metaToHfPerm(nHeads, headDim);
  const inv = new Int32Array(fwd.length);
  for (let r = 0; r < fwd.length; r++) inv[fwd[r]] = r;
  return inv;
}
