/**
 * The vocabulary as the encoder and decoder need it, built from a ModelProto with the checks of
 * SentencePiece's ModelInterface::InitializePieces (same conditions, clearer messages).
 */
import { ModelType, PieceType, TRAINER_DEFAULTS, type ModelProto } from './model-proto.js';

export class ModelError extends Error {}

export class Vocab {
  readonly pieces: string[];
  readonly scores: Float32Array;
  readonly types: Uint8Array;
  /** SentencePiece's pieces_: NORMAL, USER_DEFINED and UNUSED pieces (the ones BPE may produce). */
  readonly mergeable = new Map<string, number>();
  /** SentencePiece's reserved_id_map_: CONTROL, UNKNOWN and BYTE pieces. */
  readonly reserved = new Map<string, number>();
  readonly unkId: number;
  readonly byteFallback: boolean;
  /** Byte value → id of its <0xNN> piece (-1 when absent). */
  readonly byteIds = new Int32Array(256).fill(-1);
  /** Id → byte value for BYTE pieces, -1 otherwise. */
  readonly byteOfId: Int16Array;
  readonly userDefinedSymbols: string[] = [];
  readonly hasUnused: boolean;
  readonly modelType: ModelType;

  constructor(model: ModelProto, name: string) {
    const modelType = model.trainerSpec.modelType ?? TRAINER_DEFAULTS.modelType;
    if (modelType !== ModelType.BPE && modelType !== ModelType.UNIGRAM) {
      const kind = ModelType[modelType] ?? `type ${modelType}`;
      throw new ModelError(`${name}: this is a SentencePiece ${kind} model (trainer_spec.model_type = ${modelType}); only BPE and unigram models are supported — train a BPE model (spm_train --model_type=bpe or llama-ts tokenizer train)`);
    }
    this.modelType = modelType;
    const n = model.pieces.length;
    if (n === 0) throw new ModelError(`${name}: the model has no pieces (not a SentencePiece model, or an empty one)`);
    this.pieces = new Array<string>(n);
    this.scores = new Float32Array(n);
    this.types = new Uint8Array(n);
    this.byteOfId = new Int16Array(n).fill(-1);
    this.byteFallback = model.trainerSpec.byteFallback ?? TRAINER_DEFAULTS.byteFallback;
    let unk = -1;
    let unused = false;
    for (let i = 0; i < n; i++) {
      const p = model.pieces[i];
      this.pieces[i] = p.piece;
      this.scores[i] = p.score;
      this.types[i] = p.type;
      const normal = p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED;
      const map = normal ? this.mergeable : this.reserved;
      if (map.has(p.piece)) throw new ModelError(`${name}: piece ${JSON.stringify(p.piece)} (id ${i}) is already defined as id ${map.get(p.piece)}`);
      map.set(p.piece, i);
      if (p.type === PieceType.USER_DEFINED) this.userDefinedSymbols.push(p.piece);
      if (p.type === PieceType.UNUSED) unused = true;
      if (p.type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new ModelError(`${name}: a second unknown piece ${JSON.stringify(p.piece)} (id ${i}); <unk> is already id ${unk}`);
        unk = i;
      }
      if (p.type === PieceType.BYTE) {
        if (!this.byteFallback) throw new ModelError(`${name}: byte piece ${p.piece} (id ${i}) found although trainer_spec.byte_fallback is false`);
        const b = pieceToByte(p.piece);
        if (b < 0) throw new ModelError(`${name}: byte piece ${JSON.stringify(p.piece)} (id ${i}) is not of the form <0xNN>`);
        this.byteIds[b] = i;
        this.byteOfId[i] = b;
      }
    }
    if (unk < 0) throw new ModelError(`${name}: no unknown piece (type UNKNOWN) is defined`);
    if (this.byteFallback && this.byteIds.includes(-1)) throw new ModelError(`${name}: trainer_spec.byte_fallback is true but not all 256 byte pieces <0x00>..<0xFF> exist`);
    this.unkId = unk;
    this.hasUnused = unused;
  }

  get size(): number { return this.pieces.length; }

  /** SentencePiece's PieceToId: reserved pieces first, then normal ones, else <unk>. */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.mergeable.get(piece) ?? this.unkId;
  }
}

/** "<0x41>" → 0x41; -1 when not a byte piece. SentencePiece writes uppercase hex, exactly 2 digits. */
export function pieceToByte(piece: string): number {
  const m = /^<0x([0-9A-F]{2})>$/.exec(piece);
  return m ? parseInt(m[1], 16) : -1;
}

export function byteToPiece(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}
