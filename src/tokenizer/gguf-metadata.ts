/**
 * The tokenizer as llama.cpp stores it in GGUF metadata (tokenizer.ggml.*, model "llama" = SPM).
 * Token types use SentencePiece's numbering: 1 normal, 2 unknown, 3 control, 4 user-defined,
 * 5 unused, 6 byte. Arrays come back as plain JS arrays (tokens: string[], scores: number[] as
 * float32 values, token_type: number[] as int32) — the GGUF writer chooses the element types.
 */
import { ModelType, PieceType, type ModelProto } from './model-proto.js';
import { ModelError } from './vocab.js';
import type { SentencePieceTokenizer } from './tokenizer.js';

function arrayOf(kv: Record<string, unknown>, key: string, where: string): ArrayLike<unknown> {
  const v = kv[key];
  if (v === undefined) throw new ModelError(`${where}: missing ${key}`);
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new ModelError(`${where}: ${key} must be an array, got ${typeof v}`);
  return v as unknown as ArrayLike<unknown>;
}

function optionalId(kv: Record<string, unknown>, key: string, n: number, where: string): number | undefined {
  const v = kv[key];
  if (v === undefined) return undefined;
  const id = typeof v === 'bigint' ? Number(v) : v;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < -1 || id >= n) throw new ModelError(`${where}: ${key} = ${String(v)} is not a token id in 0..${n - 1}`);
  return id;
}

export function fromGgufMetadata(kv: Record<string, unknown>, where: string): ModelProto {
  const model = kv['tokenizer.ggml.model'];
  if (model !== 'llama') throw new ModelError(`${where}: tokenizer.ggml.model is ${JSON.stringify(model)}; only "llama" (SentencePiece BPE) is supported`);
  const tokens = arrayOf(kv, 'tokenizer.ggml.tokens', where);
  const n = tokens.length;
  const scores = kv['tokenizer.ggml.scores'] === undefined ? undefined : arrayOf(kv, 'tokenizer.ggml.scores', where);
  const types = kv['tokenizer.ggml.token_type'] === undefined ? undefined : arrayOf(kv, 'tokenizer.ggml.token_type', where);
  if (scores && scores.length !== n) throw new ModelError(`${where}: tokenizer.ggml.scores has ${scores.length} entries but tokenizer.ggml.tokens has ${n}`);
  if (types && types.length !== n) throw new ModelError(`${where}: tokenizer.ggml.token_type has ${types.length} entries but tokenizer.ggml.tokens has ${n}`);
  const unkId = optionalId(kv, 'tokenizer.ggml.unknown_token_id', n, where);
  const bosId = optionalId(kv, 'tokenizer.ggml.bos_token_id', n, where);
  const eosId = optionalId(kv, 'tokenizer.ggml.eos_token_id', n, where);
  const padId = optionalId(kv, 'tokenizer.ggml.padding_token_id', n, where);
  const pieces: ModelProto['pieces'] = [];
  let hasByte = false;
  for (let i = 0; i < n; i++) {
    const piece = tokens[i];
    if (typeof piece !== 'string' || piece === '') throw new ModelError(`${where}: tokenizer.ggml.tokens[${i}] must be a non-empty string`);
    const score = scores ? Number(scores[i]) : 0;
    let type = types ? Number(types[i]) : PieceType.NORMAL;
    if (!(type in PieceType)) throw new ModelError(`${where}: tokenizer.ggml.token_type[${i}] = ${String(types?.[i])} is not a token type 1..6`);
    if (i === unkId) type = PieceType.UNKNOWN;
    if (type === PieceType.BYTE) hasByte = true;
    pieces.push({ piece, score, type: type as PieceType });
  }
  const pieceOf = (id: number | undefined) => (id !== undefined && id >= 0 ? pieces[id].piece : undefined);
  const addSpacePrefix = kv['tokenizer.ggml.add_space_prefix'];
  return {
    pieces,
    trainerSpec: {
      modelType: ModelType.BPE, vocabSize: n, byteFallback: hasByte,
      ...(unkId !== undefined ? { unkId, unkPiece: pieceOf(unkId) } : {}),
      bosId: bosId ?? -1, eosId: eosId ?? -1, padId: padId ?? -1,
      ...(pieceOf(bosId) ? { bosPiece: pieceOf(bosId) } : {}),
      ...(pieceOf(eosId) ? { eosPiece: pieceOf(eosId) } : {}),
      ...(pieceOf(padId) ? { padPiece: pieceOf(padId) } : {}),
    },
    // llama.cpp's SPM tokenizer: identity normalization, a dummy "▁" prefix unless turned off,
    // spaces kept as they are.
    normalizerSpec: { name: 'identity', addDummyPrefix: addSpacePrefix === undefined ? true : Boolean(addSpacePrefix), removeExtraWhitespaces: false, escapeWhitespaces: true },
    unknownFields: [],
  };
}

export function toGgufMetadata(tok: SentencePieceTokenizer): Record<string, unknown> {
  if (tok.vocab.modelType !== ModelType.BPE) throw new ModelError(`${tok.name}: only BPE models can be written as GGUF "llama" tokenizer metadata (this one is unigram)`);
  const { pieces, scores, types } = tok.vocab;
  const kv: Record<string, unknown> = {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': [...pieces],
    'tokenizer.ggml.scores': Array.from(scores),
    'tokenizer.ggml.token_type': Array.from(types),
    'tokenizer.ggml.unknown_token_id': tok.unkId,
    'tokenizer.ggml.add_bos_token': tok.bosId >= 0,
    'tokenizer.ggml.add_eos_token': false,
    'tokenizer.ggml.add_space_prefix': tok.model.normalizerSpec.addDummyPrefix ?? true,
  };
  if (tok.bosId >= 0) kv['tokenizer.ggml.bos_token_id'] = tok.bosId;
  if (tok.eosId >= 0) kv['tokenizer.ggml.eos_token_id'] = tok.eosId;
  if (tok.padId >= 0) kv['tokenizer.ggml.padding_token_id'] = tok.padId;
  return kv;
}
