/**
 * Exact agreement with SentencePiece 0.1.97 (fixtures made by scripts/fixtures/tokenizer-reference.py):
 * Meta's LLaMA model on its test cases, a line sample of every corpus in ../shared/data, long
 * chunks and edge cases; decoding incl. invalid byte sequences; small spm-trained models covering
 * nmt_nfkc, user-defined/control symbols, <unk> runs, whitespace-as-suffix, and two unigram models.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SentencePieceTokenizer } from '../../src/tokenizer/index.js';
import { fixtureDir, haveMeta, metaModelPath, readJsonlGz } from './fixtures.js';

interface EncodeRow { set: string; text: string; ids: number[]; pieces?: string[]; decoded?: string }
interface SmallRow { model: string; text: string; ids: number[]; pieces: string[]; decoded: string }

const show = (s: string) => JSON.stringify(s.length > 80 ? s.slice(0, 80) + '…' : s);

test('Meta tokenizer: ids, pieces and decoding equal SentencePiece on every fixture text', { skip: !haveMeta && 'no ../shared/data' }, () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  const rows = readJsonlGz<EncodeRow>('meta-encode.jsonl.gz');
  const sets = new Set(rows.map((r) => r.set));
  assert.ok(rows.length > 1500 && sets.size >= 17, `fixture has ${rows.length} rows in ${sets.size} sets`);
  for (const r of rows) {
    assert.deepEqual(tok.encode(r.text), r.ids, `encode ${r.set} ${show(r.text)}`);
    if (r.pieces) assert.deepEqual(tok.encodeAsPieces(r.text), r.pieces, `pieces ${show(r.text)}`);
    assert.equal(tok.decode(r.ids), r.decoded ?? r.text, `decode ${r.set} ${show(r.text)}`);
  }
});

test('Meta tokenizer: a fresh instance (cold word cache) gives the same ids', { skip: !haveMeta && 'no ../shared/data' }, () => {
  const rows = readJsonlGz<EncodeRow>('meta-encode.jsonl.gz').reverse();
  const tok = SentencePieceTokenizer.load(metaModelPath);
  for (const r of rows) assert.deepEqual(tok.encode(r.text), r.ids, show(r.text));
});

test('Meta tokenizer: decoding id sequences (byte runs, invalid UTF-8, control, <unk>) equals SentencePiece', { skip: !haveMeta && 'no ../shared/data' }, () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  for (const r of readJsonlGz<{ ids: number[]; text: string }>('meta-decode.jsonl.gz')) {
    assert.equal(tok.decode(r.ids), r.text, `decode ${JSON.stringify(r.ids)}`);
  }
});

test('spm-trained models (BPE: nmt_nfkc charsmap, user-defined, control, no byte fallback, whitespace suffix, UNUSED pieces; unigram): exact', () => {
  const models = new Map<string, SentencePieceTokenizer>();
  const rows = readJsonlGz<SmallRow>('small-encode.jsonl.gz');
  for (const r of rows) {
    let tok = models.get(r.model);
    if (!tok) { tok = SentencePieceTokenizer.load(`${fixtureDir}${r.model}.model`); models.set(r.model, tok); }
    assert.deepEqual(tok.encode(r.text), r.ids, `${r.model} encode ${show(r.text)}`);
    assert.deepEqual(tok.encodeAsPieces(r.text), r.pieces, `${r.model} pieces ${show(r.text)}`);
    assert.equal(tok.decode(r.ids), r.decoded, `${r.model} decode ${show(r.text)}`);
  }
  assert.equal(models.size, 5);
});
