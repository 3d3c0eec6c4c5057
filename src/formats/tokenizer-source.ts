/**
 * The tokenizer that comes with a checkpoint (GGUF's tokenizer.ggml.* metadata, or a
 * tokenizer.model next to HF/Meta weights), checked against the model's vocabulary size.
 */
import { SentencePieceTokenizer } from '../tokenizer/index.js';
import type { Checkpoint } from './checkpoint.js';
import { GgufType, type GgufValue } from './gguf.js';

export function loadCheckpointTokenizer(ckpt: Checkpoint): SentencePieceTokenizer | null {
  const src = ckpt.tokenizer;
  let tok: SentencePieceTokenizer | null = null;
  if (src.ggufMetadata) {
    const kv: Record<string, unknown> = {};
    for (const [k, v] of src.ggufMetadata) kv[k] = v.value;
    tok = SentencePieceTokenizer.fromGgufMetadata(kv, `${ckpt.path} (tokenizer.ggml.* metadata)`);
  } else if (src.modelFile) {
    tok = SentencePieceTokenizer.load(src.modelFile);
  }
  if (tok && tok.vocabSize !== ckpt.config.vocabSize) {
    throw new Error(`${ckpt.path}: the tokenizer (${src.modelFile ?? 'GGUF metadata'}) has ${tok.vocabSize} pieces but the model's ` +
      `vocabulary is ${ckpt.config.vocabSize} (tok_embeddings rows): they do not belong together`);
  }
  return tok;
}

/** GGUF element types for the tokenizer keys (llama.cpp reads scores as f32 and types as i32). */
const ARRAY_TYPES: Record<string, GgufType> = {
  'tokenizer.ggml.tokens': GgufType.STRING,
  'tokenizer.ggml.scores': GgufType.FLOAT32,
  'tokenizer.ggml.token_type': GgufType.INT32,
};

export function tokenizerToGguf(tok: SentencePieceTokenizer): Map<string, GgufValue> {
  const out = new Map<string, GgufValue>();
  for (const [k, v] of Object.entries(tok.toGgufMetadata())) {
    if (ARRAY_TYPES[k] !== undefined) out.set(k, { type: GgufType.ARRAY, elemType: ARRAY_TYPES[k], value: Array.from(v as ArrayLike<unknown>) });
    else if (typeof v === 'string') out.set(k, { type: GgufType.STRING, value: v });
    else if (typeof v === 'boolean') out.set(k, { type: GgufType.BOOL, value: v });
    else if (typeof v === 'number') out.set(k, { type: GgufType.UINT32, value: v });
    else throw new Error(`tokenizer metadata '${k}' has an unexpected value ${String(v)}`);
  }
  return out;
}
