/** `llama-ts tokenizer` end to end: encode/decode over stdin/stdout, train to files, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SentencePieceTokenizer } from '../../src/tokenizer/index.js';
import { fixtureDir, repoRoot, sharedData } from './fixtures.js';

const cli = join(repoRoot, 'dist/src/cli/main.js');
const model = `${fixtureDir}spm-botchan-llama-2000.model`;
const run = (args: string[], input = '') => spawnSync(process.execPath, [cli, 'tokenizer', ...args], { input, encoding: 'utf8' });

test('encode and decode JSON lines', () => {
  const tok = SentencePieceTokenizer.load(model);
  const texts = ['Hello world', '', '  two  spaces', 'emoji \u{1F600} and \t tab'];
  const enc = run(['encode', '--model', model, '--bos'], texts.map((t) => JSON.stringify(t)).join('\n') + '\n');
  assert.equal(enc.status, 0, enc.stderr);
  const rows = enc.stdout.trim().split('\n').map((l) => JSON.parse(l) as number[]);
  assert.deepEqual(rows, texts.map((t) => tok.encode(t, { bos: true })));
  const pieces = run(['encode', '--model', model, '--pieces', '--eos'], '"Hello world"\n');
  assert.deepEqual(JSON.parse(pieces.stdout), tok.encodeAsPieces('Hello world', { eos: true }));
  const dec = run(['decode', '--model', model], rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  assert.equal(dec.status, 0, dec.stderr);
  assert.deepEqual(dec.stdout.trim().split('\n').map((l) => JSON.parse(l) as string), texts.map((t) => tok.decode(tok.encode(t))));
});

test('encode --threads N: the same ids in the same order, from a worker pool', () => {
  const tok = SentencePieceTokenizer.load(model);
  const texts = Array.from({ length: 3000 }, (_, i) => `line ${i}: ${'the quick brown fox '.repeat(i % 7)}\u00e9 ${i * 7919}`);
  const input = texts.map((t) => JSON.stringify(t)).join('\n') + '\n';
  const r = run(['encode', '--model', model, '--threads', '2', '--eos'], input);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as number[]), texts.map((t) => tok.encode(t, { eos: true })));
  const bad = run(['encode', '--model', model, '--threads', '2'], '"ok"\n7\n');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /stdin line 2: expected a JSON string/);
  assert.match(run(['encode', '--model', model, '--threads', '0'], '').stderr, /--threads 0: expected an integer from 1 to 256/);
});

test('bad input names the line and the problem', () => {
  const notString = run(['encode', '--model', model], '"ok"\n[1,2]\n');
  assert.equal(notString.status, 1);
  assert.match(notString.stderr, /stdin line 2: expected a JSON string/);
  const badJson = run(['decode', '--model', model], '[1, 2\n');
  assert.match(badJson.stderr, /stdin line 1: not valid JSON/);
  const range = run(['decode', '--model', model], '[5]\n[1, 99999]\n');
  assert.match(range.stderr, /stdin line 2: id 99999 at position 1 is out of range: the vocabulary has ids 0\.\.1999/);
  const notModel = run(['encode', '--model', join(fixtureDir, 'trained-summary.json')], '"x"\n');
  assert.match(notModel.stderr, /trained-summary\.json is not a valid SentencePiece model file/);
  assert.match(run(['encode'], '').stderr, /--model PATH is required/);
  assert.match(run(['frobnicate'], '').stderr, /unknown subcommand 'frobnicate'/);
  assert.match(run(['train', '--vocab-size', '10'], '').stderr, /--input FILE/);
});

test('train writes PREFIX.model and PREFIX.vocab that load', { skip: !existsSync(`${sharedData}botchan/botchan.txt`) && 'no ../shared/data' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-cli-'));
  try {
    const prefix = join(dir, 'small');
    const r = run(['train', '--input', `${sharedData}botchan/botchan.txt`, '--vocab-size', '600', '--output', prefix, '--llama']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /merges .*\/.*%/);
    const tok = SentencePieceTokenizer.load(`${prefix}.model`);
    assert.equal(tok.vocabSize, 600);
    assert.equal(tok.idToPiece(3), '<0x00>');
    const vocab = readFileSync(`${prefix}.vocab`, 'utf8').split('\n');
    assert.equal(vocab.length, 601);
    assert.equal(vocab[259].split('\t')[1], '-0');
    assert.equal(tok.decode(tok.encode('Botchan 2024 \u{1F600}')), 'Botchan 2024 \u{1F600}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
