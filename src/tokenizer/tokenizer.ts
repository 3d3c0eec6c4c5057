/**
 * SentencePieceTokenizer: a SentencePiece BPE model (Meta's LLaMA tokenizer.model or one we
 * train) — or a unigram model — with SentencePiece's exact encode/decode, plus conversion to and
 * from GGUF metadata.
 */
import { readFileSync } from 'node:fs';
import type { TextTokenizer } from './text-tokenizer.js';
import { BpeEncoder } from './bpe-encoder.js';
import { UnigramEncoder } from './unigram-encoder.js';
import type { SegmentEncoder } from './piece-ids.js';
import { Decoder } from './decoder.js';
import {
  ModelType, NORMALIZER_DEFAULTS, PieceType, TRAINER_DEFAULTS, parseModelProto, serializeModelProto,
  type ModelProto,
} from './model-proto.js';
import { Normalizer } from './normalizer.js';
import { ModelError, Vocab } from './vocab.js';
import { encodeBatch, type BatchOptions } from './batch.js';
import { fromGgufMetadata, toGgufMetadata } from './gguf-metadata.js';

export interface EncodeOptions { bos?: boolean; eos?: boolean }

export class SentencePieceTokenizer implements TextTokenizer {
  readonly vocab: Vocab;
  readonly vocabSize: number;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  private readonly normalizer: Normalizer;
  private readonly encoder: SegmentEncoder;
  private readonly decoder: Decoder;
  private bytes: Uint8Array | null = null;

  /** `name` is used in error messages (usually the file path). */
  constructor(readonly model: ModelProto, readonly name = 'tokenizer model') {
    this.vocab = new Vocab(model, name);
    this.vocabSize = this.vocab.size;
    this.unkId = this.vocab.unkId;
    const ts = model.trainerSpec;
    this.bosId = this.specialId(ts.bosPiece ?? TRAINER_DEFAULTS.bosPiece);
    this.eosId = this.specialId(ts.eosPiece ?? TRAINER_DEFAULTS.eosPiece);
    this.padId = this.specialId(ts.padPiece ?? TRAINER_DEFAULTS.padPiece);
    const suffix = ts.treatWhitespaceAsSuffix ?? TRAINER_DEFAULTS.treatWhitespaceAsSuffix;
    this.normalizer = new Normalizer(model.normalizerSpec, this.vocab.userDefinedSymbols, suffix);
    this.encoder = this.vocab.modelType === ModelType.UNIGRAM ? new UnigramEncoder(this.vocab) : new BpeEncoder(this.vocab);
    const ns = model.normalizerSpec;
    const denorm = model.denormalizerSpec?.precompiledCharsmap?.length ? new Normalizer(model.denormalizerSpec, [], false) : null;
    this.decoder = new Decoder(this.vocab, {
      unkSurface: ts.unkSurface ?? TRAINER_DEFAULTS.unkSurface,
      addDummyPrefix: ns.addDummyPrefix ?? NORMALIZER_DEFAULTS.addDummyPrefix,
      removeExtraWhitespaces: ns.removeExtraWhitespaces ?? NORMALIZER_DEFAULTS.removeExtraWhitespaces,
      denormalize: denorm ? (t) => denorm.normalize(t) : undefined,
    });
  }

  /** SentencePiece's bos_id()/eos_id()/pad_id(): the id of that piece when it is a control piece, else -1. */
  private specialId(piece: string): number {
    const id = this.vocab.pieceToId(piece);
    return this.vocab.types[id] === PieceType.CONTROL ? id : -1;
  }

  static load(path: string): SentencePieceTokenizer {
    let bytes: Uint8Array;
    try { bytes = readFileSync(path); } catch (e) {
      throw new ModelError(`cannot read tokenizer model ${path}: ${(e as Error).message}`);
    }
    return SentencePieceTokenizer.fromBytes(bytes, path);
  }

  static fromBytes(bytes: Uint8Array, nameForErrors = 'tokenizer model'): SentencePieceTokenizer {
    let model: ModelProto;
    try { model = parseModelProto(bytes); } catch (e) {
      throw new ModelError(`${nameForErrors} is not a valid SentencePiece model file (${bytes.length} bytes): ${(e as Error).message}`);
    }
    if (model.pieces.length === 0) throw new ModelError(`${nameForErrors} is not a SentencePiece model: it has no pieces (${bytes.length} bytes)`);
    const tok = new SentencePieceTokenizer(model, nameForErrors);
    tok.bytes = Uint8Array.from(bytes);
    return tok;
  }

  static fromGgufMetadata(kv: Record<string, unknown>, nameForErrors = 'GGUF metadata'): SentencePieceTokenizer {
    return new SentencePieceTokenizer(fromGgufMetadata(kv, nameForErrors), nameForErrors);
  }

  toGgufMetadata(): Record<string, unknown> {
    return toGgufMetadata(this);
  }

  /** The serialized ModelProto (the bytes it was loaded from, when it was loaded from bytes). */
  toBytes(): Uint8Array {
    return this.bytes ? Uint8Array.from(this.bytes) : serializeModelProto(this.model);
  }

  /** The normalized text SentencePiece segments (with "▁" for spaces). */
  normalize(text: string): string { return this.normalizer.normalize(text); }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (opts.bos) out.push(this.requireId(this.bosId, 'BOS'));
    this.encoder.encodeIds(this.normalizer.normalize(text), out);
    if (opts.eos) out.push(this.requireId(this.eosId, 'EOS'));
    return out;
  }

  /** The pieces SentencePiece's EncodeAsPieces returns. */
  encodeAsPieces(text: string, opts: EncodeOptions = {}): string[] {
    const out = this.encoder.encodeAsPieces(this.normalizer.normalize(text));
    if (opts.bos) out.unshift(this.vocab.pieces[this.requireId(this.bosId, 'BOS')]);
    if (opts.eos) out.push(this.vocab.pieces[this.requireId(this.eosId, 'EOS')]);
    return out;
  }

  /** Encodes many texts on worker threads (threads: 1 = this thread only). */
  encodeBatch(texts: readonly string[], opts: BatchOptions & EncodeOptions = {}): Promise<number[][]> {
    return encodeBatch(this, texts, opts);
  }

  decode(ids: readonly number[]): string { return this.decoder.decode(ids); }

  idToPiece(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`id ${id} is out of range: the vocabulary has ids 0..${this.vocabSize - 1}`);
    return this.vocab.pieces[id];
  }

  pieceToId(piece: string): number { return this.vocab.pieceToId(piece); }
  score(id: number): number { return this.vocab.scores[id]; }
  pieceType(id: number): PieceType { return this.vocab.types[id] as PieceType; }

  private requireId(id: number, what: string): number {
    if (id < 0) throw new ModelError(`${this.name}: the model has no ${what} piece`);
    return id;
  }
}

export { ModelType };
