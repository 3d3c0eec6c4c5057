/**
 * LLaMA in GGUF (llama.cpp's arch "llama"): the `llama.*` hyper-parameter keys and tensor names.
 * Q/K rows: llama.cpp's LLAMA_ROPE_TYPE_NORM rotates adjacent pairs (x[2i], x[2i+1]) — Meta's
 * layout — and its HF converter permutes HF's rotate-half rows back to it, so GGUF tensors are in
 * Meta's layout and need no permutation here.
 */
import { makeConfig, paramSpecs, type LlamaConfig } from '../model/config.js';
import { validateTensors, type Checkpoint, type TensorEntry } from './checkpoint.js';
import { GgufType, gv, openGguf, writeGguf, type GgufTensorToWrite, type GgufValue } from './gguf.js';
import { isQuantized, isKQuant, canStore, type DType } from './dtype.js';
import { convertBytes } from './codec.js';
import type { ByteSource } from './byte-source.js';

/** Meta name <-> GGUF name: one table per scope, read both ways. */
const META_TO_GGUF_GLOBAL = new Map([
  ['tok_embeddings.weight', 'token_embd.weight'],
  ['norm.weight', 'output_norm.weight'],
  ['output.weight', 'output.weight'],
]);
/** Names within layer N (Meta `layers.N.<name>`, GGUF `blk.N.<name>`). */
const META_TO_GGUF_LAYER = new Map([
  ['attention_norm.weight', 'attn_norm.weight'],
  ['attention.wq.weight', 'attn_q.weight'],
  ['attention.wk.weight', 'attn_k.weight'],
  ['attention.wv.weight', 'attn_v.weight'],
  ['attention.wo.weight', 'attn_output.weight'],
  ['ffn_norm.weight', 'ffn_norm.weight'],
  ['feed_forward.w1.weight', 'ffn_gate.weight'],
  ['feed_forward.w2.weight', 'ffn_down.weight'],
  ['feed_forward.w3.weight', 'ffn_up.weight'],
]);
const inverse = (m: Map<string, string>) => new Map([...m].map(([meta, gguf]) => [gguf, meta]));
const GGUF_TO_META_GLOBAL = inverse(META_TO_GGUF_GLOBAL);
const GGUF_TO_META_LAYER = inverse(META_TO_GGUF_LAYER);

export function metaToGgufName(meta: string): string {
  const global = META_TO_GGUF_GLOBAL.get(meta);
  if (global) return global;
  const m = /^layers\.(\d+)\.(.+)$/.exec(meta);
  const local = m && META_TO_GGUF_LAYER.get(m[2]);
  if (local) return `blk.${m[1]}.${local}`;
  throw new Error(`no GGUF name for tensor '${meta}'`);
}

export function ggufToMetaName(name: string): string | null {
  const global = GGUF_TO_META_GLOBAL.get(name);
  if (global) return global;
  const m = /^blk\.(\d+)\.(.+)$/.exec(name);
  const local = m && GGUF_TO_META_LAYER.get(m[2]);
  return local ? `layers.${m[1]}.${local}` : null;
}

function num(md: Map<string, GgufValue>, key: string, path: string, fallback?: number): number {
  const v = md.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new Error(`${path}: GGUF metadata key '${key}' is missing (needed for the LLaMA config)`);
  }
  if (typeof v.value !== 'number') throw new Error(`${path}: GGUF metadata '${key}' should be a number, found ${GgufType[v.type]}`);
  return v.value;
}

/** Opens a llama-architecture GGUF file (a path or a ByteSource) as a Checkpoint (tensors read lazily). */
export function openGgufCheckpoint(source: string | ByteSource): Checkpoint {
  const g = openGguf(source);
  const path = g.path;
  try {
    const md = g.metadata;
    const arch = md.get('general.architecture')?.value;
    if (arch !== 'llama') {
      throw new Error(`${path}: GGUF architecture '${String(arch)}' is not supported; llama-ts loads arch 'llama' ` +
        `(LLaMA-1/2/3-style models)`);
    }
    const byName = new Map(g.tensors.map((t) => [t.name, t]));
    const embd = byName.get('token_embd.weight');
    if (!embd) throw new Error(`${path}: tensor 'token_embd.weight' is missing`);
    const tokens = md.get('tokenizer.ggml.tokens')?.value as unknown[] | undefined;
    const vocabSize = num(md, 'llama.vocab_size', path, embd.ne[1] ?? tokens?.length);
    const dim = num(md, 'llama.embedding_length', path);
    const nHeads = num(md, 'llama.attention.head_count', path);
    const config: LlamaConfig = makeConfig({
      dim,
      nLayers: num(md, 'llama.block_count', path),
      nHeads,
      nKvHeads: num(md, 'llama.attention.head_count_kv', path, nHeads),
      vocabSize,
      hiddenDim: num(md, 'llama.feed_forward_length', path),
      normEps: num(md, 'llama.attention.layer_norm_rms_epsilon', path, 1e-5),
      ropeTheta: num(md, 'llama.rope.freq_base', path, 10000),
      maxSeqLen: num(md, 'llama.context_length', path),
    });
    const ropeDims = num(md, 'llama.rope.dimension_count', path, dim / nHeads);
    if (ropeDims !== dim / nHeads) {
      throw new Error(`${path}: llama.rope.dimension_count ${ropeDims} differs from the head dim ${dim / nHeads}; partial RoPE is not supported`);
    }
    if (tokens && tokens.length !== vocabSize) {
      throw new Error(`${path}: the tokenizer has ${tokens.length} tokens (tokenizer.ggml.tokens) but the model's vocabulary ` +
        `is ${vocabSize} (llama.vocab_size / token_embd.weight); the file is inconsistent`);
    }
    const tensors = new Map<string, TensorEntry>();
    const scaling = md.get('llama.rope.scaling.type')?.value;
    if (scaling !== undefined && scaling !== 'none') {
      throw new Error(`${path}: llama.rope.scaling.type '${String(scaling)}' is not supported (plain RoPE only)`);
    }
    for (const t of g.tensors) {
      if (t.name === 'rope_freqs.weight') {
        throw new Error(`${path}: tensor 'rope_freqs.weight' holds RoPE frequency factors (Llama 3.1-style scaling), which llama-ts does not support`);
      }
      const meta = ggufToMetaName(t.name);
      if (!meta) throw new Error(`${path}: unexpected tensor '${t.name}' for arch llama (is this a different architecture?)`);
      const entry: TensorEntry = {
        name: meta, shape: [...t.ne].reverse(), dtype: t.dtype, byteLength: t.byteLength,
        source: `${path} tensor '${t.name}' at byte ${t.fileOffset}`,
        read: (dst) => {
          const out = dst ?? new Uint8Array(t.byteLength);
          if (out.length !== t.byteLength) throw new Error(`internal: read of '${t.name}' into ${out.length} bytes, needs ${t.byteLength}`);
          return g.file.readInto(out, t.fileOffset, `tensor '${t.name}'`);
        },
      };
      tensors.set(meta, entry);
    }
    // llama.cpp ties the output projection to the embedding when output.weight is absent
    if (!tensors.has('output.weight') && tensors.has('tok_embeddings.weight')) {
      tensors.set('output.weight', { ...tensors.get('tok_embeddings.weight')!, name: 'output.weight' });
    }
    validateTensors(config, tensors, path);
    const tokMd = new Map([...md].filter(([k]) => k.startsWith('tokenizer.')));
    const id = (k: string) => { const v = md.get(k)?.value; return typeof v === 'number' ? v : undefined; };
    return {
      format: 'gguf', path, config, tensors,
      tokenizer: tokMd.size ? { ggufMetadata: tokMd } : {},
      specialIds: { bos: id('tokenizer.ggml.bos_token_id'), eos: id('tokenizer.ggml.eos_token_id') },
      close: () => g.file.close(),
    };
  } catch (e) {
    g.file.close();
    throw e;
  }
}

/** general.file_type values (llama.cpp's LLAMA_FTYPE_*) for a model of mostly this type. */
const FILE_TYPE: Record<DType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32, q4_k: 15, q5_k: 17, q6_k: 18 };

export interface GgufSaveOptions {
  /** storage type of the 2-D weights; 1-D norms always stay f32 (as llama.cpp does). Default: keep each tensor's type. */
  type?: DType;
  name?: string;
  /** tokenizer.* metadata to embed (from the source GGUF or the tokenizer's toGgufMetadata) */
  tokenizerMetadata?: Map<string, GgufValue>;
  onTensor?: (i: number, n: number, name: string) => void;
}

/** Chooses the stored type of one tensor when converting. */
export function targetType(t: TensorEntry, want: DType | undefined): DType {
  if (t.shape.length === 1) return 'f32';
  // as llama.cpp does, a matrix whose rows are not whole K-quant superblocks takes a block type
  if (want && isKQuant(want) && !canStore(want, t.shape)) return canStore('q8_0', t.shape) ? 'q8_0' : 'f16';
  const ty = want ?? t.dtype;
  if (isQuantized(ty) && !canStore(ty, t.shape)) {
    throw new Error(`cannot store '${t.name}' [${t.shape.join(', ')}] as ${ty}: its rows need a multiple of ${isKQuant(ty) ? 256 : 32} values`);
  }
  return ty;
}

/** Writes a checkpoint as a llama-arch GGUF v3 file (atomically, one tensor in memory at a time). */
export function saveGgufCheckpoint(ckpt: Checkpoint, out: string, opts: GgufSaveOptions = {}): void {
  const c = ckpt.config;
  const md = new Map<string, GgufValue>();
  const mostly = opts.type ?? ckpt.tensors.get('layers.0.attention.wq.weight')!.dtype;
  md.set('general.architecture', gv.str('llama'));
  md.set('general.name', gv.str(opts.name ?? 'llama-ts model'));
  md.set('general.file_type', gv.u32(FILE_TYPE[mostly]));
  md.set('general.quantization_version', gv.u32(2));
  md.set('llama.vocab_size', gv.u32(c.vocabSize));
  md.set('llama.context_length', gv.u32(c.maxSeqLen));
  md.set('llama.embedding_length', gv.u32(c.dim));
  md.set('llama.block_count', gv.u32(c.nLayers));
  md.set('llama.feed_forward_length', gv.u32(c.hiddenDim));
  md.set('llama.rope.dimension_count', gv.u32(c.dim / c.nHeads));
  md.set('llama.rope.freq_base', gv.f32(c.ropeTheta));
  md.set('llama.attention.head_count', gv.u32(c.nHeads));
  md.set('llama.attention.head_count_kv', gv.u32(c.nKvHeads));
  md.set('llama.attention.layer_norm_rms_epsilon', gv.f32(c.normEps));
  for (const [k, v] of opts.tokenizerMetadata ?? ckpt.tokenizer.ggufMetadata ?? []) md.set(k, v);
  const order = paramSpecs(c).map((s) => ckpt.tensors.get(s.name)!);
  const tensors: GgufTensorToWrite[] = order.map((t) => {
    const dtype = targetType(t, opts.type);
    return { name: metaToGgufName(t.name), shape: t.shape, dtype, data: () => convertBytes(t.dtype, dtype, t.read(), t.shape) };
  });
  writeGguf(out, md, tensors, (i, name) => opts.onTensor?.(i, tensors.length, name));
}
