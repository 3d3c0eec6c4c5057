/** The public API beyond raw encode/decode: BOS/EOS, round trips, GGUF metadata, batches, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SentencePieceTokenizer, IdRangeError, PieceType } from '../../src/tokenizer/index.js';
import { fixtureDir, haveMeta, metaModelPath, readJsonlGz } from './fixtures.js';

const skip = !haveMeta && 'no ../shared/data';

test('bos/eos on request, special ids and piece lookups', { skip }, () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  assert.equal(tok.vocabSize, 32000);
  assert.deepEqual([tok.unkId, tok.bosId, tok.eosId, tok.padId], [0, 1, 2, -1]);
  assert.deepEqual(tok.encode('Hello', { bos: true, eos: true }), [1, 15043, 2]);
  assert.deepEqual(tok.encode('', { bos: true }), [1]);
  assert.equal(tok.idToPiece(15043), '▁Hello');
  assert.equal(tok.pieceToId('▁Hello'), 15043);
  assert.equal(tok.pieceToId('no such piece'), 0);
  assert.equal(tok.pieceToId('<0x0A>'), 13);
  assert.equal(tok.decode([1, 15043, 2]), 'Hello');
  assert.equal(tok.decode([0]), ' \u2047 ');
});

test('unk/bos/eos/pad ids, control and byte pieces agree with SentencePiece for every fixture model', { skip }, () => {
  const special = JSON.parse(readFileSync(`${fixtureDir}special-ids.json`, 'utf8')) as Record<string, { vocab: number; unk: number; bos: number; eos: number; pad: number; control: number[]; byte: number }>;
  for (const [name, want] of Object.entries(special)) {
    const tok = SentencePieceTokenizer.load(name === 'meta' ? metaModelPath : `${fixtureDir}${name}.model`);
    const control: number[] = [];
    let bytes = 0;
    for (let i = 0; i < tok.vocabSize; i++) {
      if (tok.pieceType(i) === PieceType.CONTROL) control.push(i);
      if (tok.pieceType(i) === PieceType.BYTE) bytes++;
    }
    assert.deepEqual({ vocab: tok.vocabSize, unk: tok.unkId, bos: tok.bosId, eos: tok.eosId, pad: tok.padId, control, byte: bytes }, want, name);
  }
});

test('ids out of range are rejected with their position', { skip }, () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  assert.throws(() => tok.decode([1, 32000]), (e: Error) => e instanceof IdRangeError && /id 32000 at position 1.*0\.\.31999/.test(e.message));
  assert.throws(() => tok.decode([-1]), IdRangeError);
  assert.throws(() => tok.decode([1.5]), IdRangeError);
  assert.throws(() => tok.idToPiece(40000), RangeError);
});

test('decode(encode(x)) == x for corpus lines without a literal "▁" (SentencePiece has this property there)', { skip }, () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  let n = 0;
  for (const r of readJsonlGz<{ text: string }>('meta-encode.jsonl.gz')) {
    const wellFormed = !/[\uD800-\uDFFF]/.test(r.text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));
    if (r.text.includes('\u2581') || !wellFormed) continue;
    assert.equal(tok.decode(tok.encode(r.text)), r.text);
    n++;
  }
  assert.ok(n > 1000);
});

test('GGUF metadata round trip gives a tokenizer with the same ids', { skip }, () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  const kv = tok.toGgufMetadata();
  assert.equal(kv['tokenizer.ggml.model'], 'llama');
  assert.equal((kv['tokenizer.ggml.tokens'] as string[]).length, 32000);
  assert.equal((kv['tokenizer.ggml.token_type'] as number[])[3], 6);
  assert.equal(kv['tokenizer.ggml.bos_token_id'], 1);
  assert.equal(kv['tokenizer.ggml.padding_token_id'], undefined);
  // GGUF readers hand typed arrays and bigints: accept them.
  const fromGguf = SentencePieceTokenizer.fromGgufMetadata({
    ...kv,
    'tokenizer.ggml.scores': Float32Array.from(kv['tokenizer.ggml.scores'] as number[]),
    'tokenizer.ggml.token_type': Int32Array.from(kv['tokenizer.ggml.token_type'] as number[]),
    'tokenizer.ggml.eos_token_id': 2n,
  });
  assert.deepEqual([fromGguf.bosId, fromGguf.eosId, fromGguf.unkId], [1, 2, 0]);
  for (const r of readJsonlGz<{ text: string; ids: number[] }>('meta-encode.jsonl.gz').slice(0, 400)) {
    assert.deepEqual(fromGguf.encode(r.text), r.ids);
    assert.equal(fromGguf.decode(r.ids), tok.decode(r.ids));
  }
  assert.throws(() => SentencePieceTokenizer.fromGgufMetadata({ ...kv, 'tokenizer.ggml.model': 'gpt2' }), /only "llama"/);
  assert.throws(() => SentencePieceTokenizer.fromGgufMetadata({ ...kv, 'tokenizer.ggml.scores': [1, 2] }), /scores has 2 entries/);
  assert.throws(() => SentencePieceTokenizer.fromGgufMetadata({ ...kv, 'tokenizer.ggml.bos_token_id': 99999 }), /bos_token_id = 99999/);
});

test('encodeBatch on worker threads equals encoding one by one, in order', { skip }, async () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  const rows = readJsonlGz<{ text: string; ids: number[] }>('meta-encode.jsonl.gz').slice(0, 600);
  const texts = rows.map((r) => r.text);
  const two = await tok.encodeBatch(texts, { threads: 2 });
  assert.deepEqual(two, rows.map((r) => r.ids));
  const withBos = await tok.encodeBatch(texts.slice(0, 5), { threads: 3, bos: true });
  assert.deepEqual(withBos, rows.slice(0, 5).map((r) => [1, ...r.ids]));
  assert.deepEqual(await tok.encodeBatch([], { threads: 2 }), []);
});
