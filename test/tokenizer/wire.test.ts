/** The protobuf wire codec, the charsmap reader and the int table on hand-made input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WireWriter, WIRE_VARINT, readFields } from '../../src/tokenizer/protobuf-wire.js';
import { PrecompiledCharsMap } from '../../src/tokenizer/charsmap.js';
import { IntTable } from '../../src/tokenizer/int-table.js';
import { TRAINER_SPEC_FIELDS, parseModelProto, serializeModelProto, PieceType, ModelType } from '../../src/tokenizer/model-proto.js';
import { decodeUtf8Lenient, firstInvalidUtf8 } from '../../src/tokenizer/utf8.js';

test('varints: small, 49+ bits, negative int32 as 10 bytes, round trip through a model', () => {
  const w = new WireWriter();
  for (const [no, v] of [[1, 0n], [2, 300n], [3, (1n << 49n) + 5n], [4, -1n], [5, (1n << 64n) - 1n]] as const) { w.key(no, WIRE_VARINT); w.varint(v); }
  const fields = readFields(w.finish(), 'test');
  assert.deepEqual(fields.map((f) => f.value), [0n, 300n, (1n << 49n) + 5n, (1n << 64n) - 1n, (1n << 64n) - 1n]);
  const model = {
    pieces: [{ piece: '<unk>', score: 0, type: PieceType.UNKNOWN }, { piece: 'a', score: -1.5, type: PieceType.NORMAL }],
    trainerSpec: { modelType: ModelType.BPE, vocabSize: 2, padId: -1, bosId: -7, inputSentenceSize: 2 ** 40 },
    normalizerSpec: { name: 'identity', addDummyPrefix: false }, unknownFields: [],
  };
  const back = parseModelProto(serializeModelProto(model));
  assert.deepEqual(back.pieces, model.pieces);
  assert.equal(back.trainerSpec.padId, -1);
  assert.equal(back.trainerSpec.bosId, -7);
  assert.equal(back.trainerSpec.inputSentenceSize, 2 ** 40);
  assert.equal(back.normalizerSpec.addDummyPrefix, false);
  assert.equal(TRAINER_SPEC_FIELDS.padId[0], 43);
});

test('malformed wire data names the problem and the byte offset', () => {
  assert.throws(() => readFields(Uint8Array.from([0x08, 0x80]), 'm'), /m: truncated varint at byte offset 2/);
  assert.throws(() => readFields(Uint8Array.from([0x0a, 0x05, 0x41]), 'm'), /field 1 claims 5 bytes but only 1 remain/);
  assert.throws(() => readFields(Uint8Array.from([0x0b]), 'm'), /unsupported wire type 3 for field 1/);
  assert.throws(() => readFields(Uint8Array.from([0x00]), 'm'), /field number 0/);
  // Unknown fields survive a round trip.
  const model = parseModelProto(Uint8Array.from([0x0a, 0x09, 0x0a, 0x05, 0x3c, 0x75, 0x6e, 0x6b, 0x3e, 0x18, 0x02, 0xf8, 0x0c, 0x07]));
  assert.equal(model.pieces[0].piece, '<unk>');
  assert.equal(model.unknownFields[0].no, 207);
  assert.ok(Buffer.from(serializeModelProto(model)).includes(Buffer.from([0xf8, 0x0c, 0x07])));
});

test('charsmap: broken blobs are rejected; an empty trie matches nothing', () => {
  assert.throws(() => new PrecompiledCharsMap(Uint8Array.from([1, 0])), /shorter than its 4-byte header/);
  assert.throws(() => new PrecompiledCharsMap(Uint8Array.from([0xff, 0, 0, 0, 1, 2])), /trie size 255 exceeds/);
  const empty = new PrecompiledCharsMap(Uint8Array.from([0, 0, 0, 0, 0]));
  assert.equal(empty.longestMatch(Uint8Array.from([0x41]), 0, 1), null);
});

test('UTF-8: each invalid byte is one U+FFFD (SentencePiece), unlike TextDecoder', () => {
  const b = Uint8Array.from([0x61, 0xe2, 0x82, 0x62, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xef, 0xbf, 0xbd]);
  assert.equal(decodeUtf8Lenient(b), 'a\uFFFD\uFFFDb\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD');
  assert.equal(firstInvalidUtf8(b), 1);
  assert.equal(firstInvalidUtf8(new TextEncoder().encode('ok \u{1F600}')), -1);
});

test('IntTable finds every key and misses others', () => {
  const entries: [number, number][] = [];
  for (let i = 0; i < 5000; i++) entries.push([i * 7919 % 1000003, i]);
  const t = new IntTable(4);
  for (const [k, v] of entries) t.set(k, v);
  assert.equal(t.size, 5000);
  for (const [k, v] of entries) assert.equal(t.get(k, -1), v);
  assert.equal(t.get(1000004, -1), -1);
  t.set(entries[0][0], 42);
  assert.equal(t.get(entries[0][0], -1), 42);
  assert.equal(t.size, 5000);
  assert.throws(() => t.set(-1, 0), /not a non-negative int32/);
});
