/** Reading and writing .model files, and clear errors for files that are not usable BPE models. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ModelError, ModelType, PieceType, SentencePieceTokenizer, parseModelProto, serializeModelProto,
} from '../../src/tokenizer/index.js';
import { fixtureDir, haveMeta, metaModelPath } from './fixtures.js';

test('Meta\'s model and an spm-trained model re-serialize byte for byte', { skip: !haveMeta && 'no ../shared/data' }, () => {
  for (const path of [metaModelPath, `${fixtureDir}spm-nfkc.model`]) {
    const bytes = readFileSync(path);
    const model = parseModelProto(bytes);
    assert.deepEqual(Buffer.from(serializeModelProto(model)), bytes, path);
  }
});

test('a modified model serializes and loads again with the change', () => {
  const model = parseModelProto(readFileSync(`${fixtureDir}spm-suffix.model`));
  model.pieces.push({ piece: 'zzz-new', score: -12345, type: PieceType.USER_DEFINED });
  model.trainerSpec.vocabSize = model.pieces.length;
  const tok = SentencePieceTokenizer.fromBytes(serializeModelProto(model), 'edited');
  assert.equal(tok.vocabSize, model.pieces.length);
  assert.equal(tok.pieceToId('zzz-new'), model.pieces.length - 1);
  assert.ok(tok.encode('a zzz-new b').includes(model.pieces.length - 1));
});

test('truncated and non-SentencePiece files give errors naming the file and the problem', () => {
  const good = readFileSync(`${fixtureDir}spm-suffix.model`);
  assert.throws(() => SentencePieceTokenizer.fromBytes(good.subarray(0, 1000), 'cut.model'),
    (e: Error) => e instanceof ModelError && /cut\.model is not a valid SentencePiece model file/.test(e.message) && /byte offset \d+/.test(e.message));
  assert.throws(() => SentencePieceTokenizer.fromBytes(new TextEncoder().encode('hello, this is a text file\n'), 'notes.txt'),
    (e: Error) => e instanceof ModelError && /notes\.txt/.test(e.message));
  assert.throws(() => SentencePieceTokenizer.fromBytes(new Uint8Array(0), 'empty.model'), /empty\.model is not a SentencePiece model: it has no pieces/);
  assert.throws(() => SentencePieceTokenizer.load('/nonexistent/dir/x.model'), /cannot read tokenizer model \/nonexistent\/dir\/x\.model/);
});

test('word and char models are refused with a clear message; broken vocabularies too', () => {
  const model = parseModelProto(readFileSync(`${fixtureDir}spm-suffix.model`));
  assert.throws(() => new SentencePieceTokenizer({ ...model, trainerSpec: { ...model.trainerSpec, modelType: ModelType.WORD } }, 'word.model'),
    /word\.model: this is a SentencePiece WORD model.*only BPE and unigram models are supported/);
  assert.throws(() => new SentencePieceTokenizer({ ...model, trainerSpec: { ...model.trainerSpec, modelType: 7 } }, 'seven.model'),
    /type 7/);
  // model_type absent means UNIGRAM (the proto default): such a file loads as a unigram model.
  assert.equal(new SentencePieceTokenizer({ ...model, trainerSpec: { ...model.trainerSpec, modelType: undefined } }, 'default.model').vocab.modelType, ModelType.UNIGRAM);
  const noUnk = { ...model, pieces: model.pieces.map((p) => (p.type === PieceType.UNKNOWN ? { ...p, type: PieceType.CONTROL } : p)) };
  assert.throws(() => new SentencePieceTokenizer(noUnk, 'nounk.model'), /nounk\.model: no unknown piece/);
  const dup = { ...model, pieces: [...model.pieces, { ...model.pieces[300] }] };
  assert.throws(() => new SentencePieceTokenizer(dup, 'dup.model'), /is already defined as id 300/);
  const noBytes = { ...model, pieces: model.pieces.filter((p) => p.piece !== '<0x41>') };
  assert.throws(() => new SentencePieceTokenizer(noBytes, 'bytes.model'), /not all 256 byte pieces/);
});

test('unigram models load; GGUF export is refused for them', () => {
  const uni = SentencePieceTokenizer.load(`${fixtureDir}spm-unigram.model`);
  assert.equal(uni.vocab.modelType, ModelType.UNIGRAM);
  assert.throws(() => uni.toGgufMetadata(), /only BPE models can be written as GGUF/);
});

test('toBytes returns a loadable copy', () => {
  const tok = SentencePieceTokenizer.load(`${fixtureDir}spm-nfkc.model`);
  const again = SentencePieceTokenizer.fromBytes(tok.toBytes(), 'copy');
  assert.deepEqual(again.encode('Ｈｅｌｌｏ <sep> world'), tok.encode('Ｈｅｌｌｏ <sep> world'));
});
