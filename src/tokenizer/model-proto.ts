/**
 * SentencePiece's ModelProto (sentencepiece_model.proto, proto2): parse and serialize.
 * Fields are described by small schema tables; fields not in the tables are kept raw and written
 * back unchanged, so load → save round-trips a model produced by any SentencePiece version.
 */
import {
  RawField, WireError, WireWriter, WIRE_FIXED32, WIRE_LEN, WIRE_VARINT,
  decodeUtf8Strict, readFields, readFloat32, toInt32,
} from './protobuf-wire.js';

export enum PieceType { NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6 }
export enum ModelType { UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4 }

type Kind = 'string' | 'bytes' | 'int32' | 'uint64' | 'float' | 'bool' | 'strings';
interface KindType { string: string; bytes: Uint8Array; int32: number; uint64: number; float: number; bool: boolean; strings: string[] }
type Schema = Record<string, readonly [number, Kind]>;
export type Spec<S extends Schema> = { -readonly [K in keyof S]?: KindType[S[K][1]] } & { unknownFields?: RawField[] };

export const TRAINER_SPEC_FIELDS = {
  input: [1, 'strings'], modelPrefix: [2, 'string'], modelType: [3, 'int32'], vocabSize: [4, 'int32'],
  acceptLanguage: [5, 'strings'], selfTestSampleSize: [6, 'int32'], inputFormat: [7, 'string'],
  characterCoverage: [10, 'float'], inputSentenceSize: [11, 'uint64'], miningSentenceSize: [12, 'int32'],
  trainingSentenceSize: [13, 'int32'], seedSentencepieceSize: [14, 'int32'], shrinkingFactor: [15, 'float'],
  numThreads: [16, 'int32'], numSubIterations: [17, 'int32'], maxSentenceLength: [18, 'int32'],
  shuffleInputSentence: [19, 'bool'], maxSentencepieceLength: [20, 'int32'], splitByUnicodeScript: [21, 'bool'],
  splitByWhitespace: [22, 'bool'], splitByNumber: [23, 'bool'], treatWhitespaceAsSuffix: [24, 'bool'],
  splitDigits: [25, 'bool'], allowWhitespaceOnlyPieces: [26, 'bool'], controlSymbols: [30, 'strings'],
  userDefinedSymbols: [31, 'strings'], vocabularyOutputPieceScore: [32, 'bool'], hardVocabLimit: [33, 'bool'],
  useAllVocab: [34, 'bool'], byteFallback: [35, 'bool'], requiredChars: [36, 'string'],
  unkId: [40, 'int32'], bosId: [41, 'int32'], eosId: [42, 'int32'], padId: [43, 'int32'],
  unkSurface: [44, 'string'], unkPiece: [45, 'string'], bosPiece: [46, 'string'], eosPiece: [47, 'string'],
  padPiece: [48, 'string'], trainExtremelyLargeCorpus: [49, 'bool'], enableDifferentialPrivacy: [50, 'bool'],
  differentialPrivacyNoiseLevel: [51, 'float'], differentialPrivacyClippingThreshold: [52, 'uint64'],
  pretokenizationDelimiter: [53, 'string'], seedSentencepiecesFile: [54, 'string'],
} as const;

export const NORMALIZER_SPEC_FIELDS = {
  name: [1, 'string'], precompiledCharsmap: [2, 'bytes'], addDummyPrefix: [3, 'bool'],
  removeExtraWhitespaces: [4, 'bool'], escapeWhitespaces: [5, 'bool'], normalizationRuleTsv: [6, 'string'],
} as const;

export type TrainerSpec = Spec<typeof TRAINER_SPEC_FIELDS>;
export type NormalizerSpec = Spec<typeof NORMALIZER_SPEC_FIELDS>;

export interface ModelPiece { piece: string; score: number; type: PieceType }

export interface ModelProto {
  pieces: ModelPiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  denormalizerSpec?: NormalizerSpec;
  /** Fields of ModelProto we do not interpret (self_test_data, extensions), kept for writing back. */
  unknownFields: RawField[];
}

/** proto2 defaults of the fields the tokenizer reads. */
export const NORMALIZER_DEFAULTS = { addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true } as const;
export const TRAINER_DEFAULTS = {
  modelType: ModelType.UNIGRAM, vocabSize: 8000, byteFallback: false, treatWhitespaceAsSuffix: false,
  unkId: 0, bosId: 1, eosId: 2, padId: -1, unkSurface: ' \u2047 ', unkPiece: '<unk>', bosPiece: '<s>', eosPiece: '</s>', padPiece: '<pad>',
} as const;

function parseSpec<S extends Schema>(schema: S, buf: Uint8Array, where: string, base: number): Spec<S> {
  const byNo = new Map<number, [string, Kind]>();
  for (const [name, [no, kind]] of Object.entries(schema)) byNo.set(no, [name, kind]);
  const out: Record<string, unknown> = {};
  const unknown: RawField[] = [];
  for (const f of readFields(buf, where, base)) {
    const entry = byNo.get(f.no);
    if (!entry) { unknown.push(f); continue; }
    const [name, kind] = entry;
    const expected = kind === 'float' ? WIRE_FIXED32 : (kind === 'string' || kind === 'bytes' || kind === 'strings') ? WIRE_LEN : WIRE_VARINT;
    if (f.wire !== expected) throw new WireError(`${where}: field ${name} (#${f.no}) has wire type ${f.wire}, expected ${expected}`);
    switch (kind) {
      case 'string': out[name] = decodeUtf8Strict(f.value as Uint8Array, `${where}.${name}`); break;
      case 'strings': ((out[name] ??= []) as string[]).push(decodeUtf8Strict(f.value as Uint8Array, `${where}.${name}`)); break;
      case 'bytes': out[name] = Uint8Array.from(f.value as Uint8Array); break;
      case 'int32': out[name] = toInt32(f.value as bigint); break;
      case 'uint64': out[name] = Number(f.value as bigint); break;
      case 'float': out[name] = readFloat32(f.value as Uint8Array); break;
      case 'bool': out[name] = (f.value as bigint) !== 0n; break;
    }
  }
  if (unknown.length) out.unknownFields = unknown;
  return out as Spec<S>;
}

const enc = new TextEncoder();

function writeSpec<S extends Schema>(schema: S, spec: Spec<S>): Uint8Array {
  // Fields in field-number order, as SentencePiece's C++ serializer writes them.
  const items: { no: number; write: (w: WireWriter) => void }[] = [];
  for (const [name, [no, kind]] of Object.entries(schema)) {
    const v = (spec as Record<string, unknown>)[name];
    if (v === undefined) continue;
    items.push({ no, write: (w) => {
      switch (kind) {
        case 'string': w.bytes(no, enc.encode(v as string)); break;
        case 'strings': for (const s of v as string[]) w.bytes(no, enc.encode(s)); break;
        case 'bytes': w.bytes(no, v as Uint8Array); break;
        case 'int32': case 'uint64': w.key(no, WIRE_VARINT); w.varint(BigInt(v as number)); break;
        case 'bool': w.key(no, WIRE_VARINT); w.varint((v as boolean) ? 1n : 0n); break;
        case 'float': w.float32(no, v as number); break;
      }
    } });
  }
  for (const f of spec.unknownFields ?? []) items.push({ no: f.no, write: (w) => w.raw(f) });
  items.sort((a, b) => a.no - b.no);
  const w = new WireWriter();
  for (const it of items) it.write(w);
  return w.finish();
}

// Scratch for reading little-endian float32 scores without a DataView per piece.
const scoreBytes = new Uint8Array(4);
const scoreFloat = new Float32Array(scoreBytes.buffer);
const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * The usual layout of a piece, as SentencePiece writes it: field 1 (piece, < 128 bytes), field 2
 * (score), optional field 3 (type, one byte). Read directly: a model has 32000 of these, and the
 * general reader's objects and bigints made loading slow. Returns null for any other layout.
 */
function parsePieceFast(buf: Uint8Array, start: number, stop: number): ModelPiece | null {
  if (stop - start < 2 || buf[start] !== 0x0a || buf[start + 1] >= 0x80 || buf[start + 1] === 0) return null;
  const end = start + 2 + buf[start + 1];
  if (end + 5 > stop || buf[end] !== 0x15 || !littleEndian) return null;
  let piece = '';
  for (let i = start + 2; i < end; i++) {
    const b = buf[i];
    if (b >= 0x80) { piece = ''; break; }
    piece += String.fromCharCode(b);
  }
  if (piece.length !== end - start - 2) {
    try { piece = strictDecoder.decode(buf.subarray(start + 2, end)); } catch { return null; }
  }
  for (let k = 0; k < 4; k++) scoreBytes[k] = buf[end + 1 + k];
  const score = scoreFloat[0];
  const pos = end + 5;
  let type = PieceType.NORMAL;
  if (pos < stop) {
    if (pos + 2 !== stop || buf[pos] !== 0x18 || !(buf[pos + 1] in PieceType)) return null;
    type = buf[pos + 1];
  }
  return { piece, score, type };
}
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parsePiece(buf: Uint8Array, index: number, base: number): ModelPiece {
  const fast = parsePieceFast(buf, 0, buf.length);
  if (fast) return fast;
  const where = `pieces[${index}]`;
  let piece: string | undefined;
  let score = 0;
  let type = PieceType.NORMAL;
  for (const f of readFields(buf, where, base)) {
    if (f.no === 1 && f.wire === WIRE_LEN) piece = decodeUtf8Strict(f.value as Uint8Array, `${where}.piece`);
    else if (f.no === 2 && f.wire === WIRE_FIXED32) score = readFloat32(f.value as Uint8Array);
    else if (f.no === 3 && f.wire === WIRE_VARINT) {
      type = Number(f.value as bigint);
      if (!(type in PieceType)) throw new WireError(`${where}: unknown piece type ${type}`);
    }
  }
  if (piece === undefined || piece === '') throw new WireError(`${where}: piece is empty (SentencePiece requires a non-empty piece)`);
  return { piece, score, type };
}

/** Parses a serialized ModelProto; throws a WireError naming the field and byte offset on malformed input. */
export function parseModelProto(buf: Uint8Array): ModelProto {
  const model: ModelProto = { pieces: [], trainerSpec: {}, normalizerSpec: {}, unknownFields: [] };
  // The pieces come first in SentencePiece's files: read that run directly (no field objects),
  // then everything after it with the general reader.
  let pos = 0;
  while (pos + 2 < buf.length && buf[pos] === 0x0a) {
    let len = buf[pos + 1], head = 2;
    if (len >= 0x80) {
      if (buf[pos + 2] >= 0x80) break;
      len = (len & 0x7f) | (buf[pos + 2] << 7);
      head = 3;
    }
    const start = pos + head, stop = start + len;
    if (stop > buf.length) break;
    const piece = parsePieceFast(buf, start, stop);
    if (!piece) break;
    model.pieces.push(piece);
    pos = stop;
  }
  // Offsets of nested messages are reported relative to the file: track them as we go.
  let offset = pos;
  const fields = readFields(buf.subarray(pos), 'ModelProto', pos);
  for (const f of fields) {
    const bytes = f.value instanceof Uint8Array ? f.value : undefined;
    const base = bytes ? bytes.byteOffset - buf.byteOffset : offset;
    if (f.no === 1 && bytes && f.wire === WIRE_LEN) model.pieces.push(parsePiece(bytes, model.pieces.length, base));
    else if (f.no === 2 && bytes && f.wire === WIRE_LEN) model.trainerSpec = parseSpec(TRAINER_SPEC_FIELDS, bytes, 'trainer_spec', base);
    else if (f.no === 3 && bytes && f.wire === WIRE_LEN) model.normalizerSpec = parseSpec(NORMALIZER_SPEC_FIELDS, bytes, 'normalizer_spec', base);
    else if (f.no === 5 && bytes && f.wire === WIRE_LEN) model.denormalizerSpec = parseSpec(NORMALIZER_SPEC_FIELDS, bytes, 'denormalizer_spec', base);
    else model.unknownFields.push(f);
    offset = base;
  }
  return model;
}

export function serializeModelProto(model: ModelProto): Uint8Array {
  const w = new WireWriter();
  for (const p of model.pieces) {
    const pw = new WireWriter();
    pw.bytes(1, enc.encode(p.piece));
    pw.float32(2, p.score);
    // SentencePiece omits the type when it is the default (NORMAL); so do we, to match its files.
    if (p.type !== PieceType.NORMAL) { pw.key(3, WIRE_VARINT); pw.varint(BigInt(p.type)); }
    w.bytes(1, pw.finish());
  }
  w.bytes(2, writeSpec(TRAINER_SPEC_FIELDS, model.trainerSpec));
  w.bytes(3, writeSpec(NORMALIZER_SPEC_FIELDS, model.normalizerSpec));
  for (const f of model.unknownFields.filter((f) => f.no < 5)) w.raw(f);
  if (model.denormalizerSpec) w.bytes(5, writeSpec(NORMALIZER_SPEC_FIELDS, model.denormalizerSpec));
  for (const f of model.unknownFields.filter((f) => f.no >= 5)) w.raw(f);
  return w.finish();
}
