/**
 * The trainer against spm_train: on botchan with SentencePiece's default options (identity
 * normalization) and with LLaMA's options, trainBpe must give byte for byte the model spm_train
 * wrote (fixtures made by scripts/fixtures/tokenizer-trained.py), and SentencePiece itself must
 * encode with our trained models exactly as we do. Bad input must fail clearly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SentencePieceTokenizer, parseModelProto, serializeModelProto } from '../../src/tokenizer/index.js';
import { LLAMA_TRAINER_OPTIONS, formatFloat, trainBpe, vocabText } from '../../src/tokenizer/trainer.js';
import { fixtureDir, readJsonlGz, sharedData } from './fixtures.js';
import { existsSync } from 'node:fs';

const botchan = `${sharedData}botchan/botchan.txt`;
const skip = !existsSync(botchan) && 'no ../shared/data';

for (const [name, vocabSize, extra] of [
  ['botchan-default-1000', 1000, {}],
  ['botchan-llama-2000', 2000, LLAMA_TRAINER_OPTIONS],
] as const) {
  test(`trainBpe reproduces spm_train's model byte for byte: ${name}`, { skip }, async () => {
    const spmBytes = readFileSync(`${fixtureDir}spm-${name}.model`);
    const spmModel = parseModelProto(spmBytes);
    const { model, stats } = await trainBpe({ ...extra, input: [botchan], vocabSize });
    assert.equal(stats.lines, 4288);
    assert.deepEqual(model.pieces.map((p) => p.piece), spmModel.pieces.map((p) => p.piece));
    assert.deepEqual(model.pieces, spmModel.pieces);
    // Only the recorded paths differ: give ours spm's, then every byte must agree.
    model.trainerSpec.input = spmModel.trainerSpec.input;
    model.trainerSpec.modelPrefix = spmModel.trainerSpec.modelPrefix;
    assert.deepEqual(Buffer.from(serializeModelProto(model)), spmBytes);
  });
}

test('trainBpe with an nmt_nfkc normalizer, user-defined and control symbols gives spm_train\'s pieces', { skip }, async () => {
  // spm-nfkc.model: spm_train --model_type=bpe --vocab_size=600 --normalization_rule_name=nmt_nfkc
  //   --user_defined_symbols=<sep>,[MASK] --control_symbols=<ctl> --character_coverage=0.995 (tokenizer-reference.py)
  const ref = SentencePieceTokenizer.load(`${fixtureDir}spm-nfkc.model`);
  const { model } = await trainBpe({
    input: [botchan], vocabSize: 600, normalization: ref.model.normalizerSpec, userDefinedSymbols: ['<sep>', '[MASK]'],
    controlSymbols: ['<ctl>'], characterCoverage: 0.995,
  });
  assert.deepEqual(model.pieces, ref.model.pieces);
  assert.deepEqual(model.normalizerSpec.precompiledCharsmap, ref.model.normalizerSpec.precompiledCharsmap);
});

test('SentencePiece encodes with our trained models exactly as we do', () => {
  const models = new Map<string, SentencePieceTokenizer>();
  const rows = readJsonlGz<{ model: string; text: string; ids: number[]; pieces: string[]; decoded: string }>('trained-encode.jsonl.gz');
  for (const r of rows) {
    let tok = models.get(r.model);
    if (!tok) { tok = SentencePieceTokenizer.load(`${fixtureDir}${r.model}.model`); models.set(r.model, tok); }
    assert.deepEqual(tok.encode(r.text), r.ids, `${r.model} ${JSON.stringify(r.text)}`);
    assert.deepEqual(tok.encodeAsPieces(r.text), r.pieces);
    assert.equal(tok.decode(r.ids), r.decoded);
  }
  assert.equal(models.size, 2);
  const summary = JSON.parse(readFileSync(`${fixtureDir}trained-summary.json`, 'utf8')) as Record<string, { model_bytes_identical_except_prefix: boolean; spm_encode_agrees: boolean }>;
  for (const s of Object.values(summary)) assert.ok(s.model_bytes_identical_except_prefix && s.spm_encode_agrees);
});

test('.vocab text and scores print as SentencePiece prints them', () => {
  assert.deepEqual([0, -0, -1, -25, -123456, -1234567, -1e9, 0.5, 1e-5].map(formatFloat),
    ['0', '-0', '-1', '-25', '-123456', '-1.23457e+06', '-1e+09', '0.5', '1e-05']);
  const model = parseModelProto(readFileSync(`${fixtureDir}ours-botchan-default-1000.model`));
  const lines = vocabText(model).split('\n');
  assert.equal(lines[0], '<unk>\t0');
  assert.equal(lines[3], `${model.pieces[3].piece}\t-0`);
  assert.equal(lines[4], `${model.pieces[4].piece}\t-1`);
});

test('training input problems give clear errors', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tok-train-'));
  try {
    const latin1 = join(dir, 'latin1.txt');
    writeFileSync(latin1, Buffer.concat([Buffer.from('fine line\nsecond caf'), Buffer.from([0xe9]), Buffer.from(' line\n')]));
    await assert.rejects(trainBpe({ input: [latin1], vocabSize: 100 }),
      (e: Error) => e.message.includes(latin1) && /line 2 is not valid UTF-8 \(byte 0xe9 at byte offset 20\)/.test(e.message));
    await assert.rejects(trainBpe({ input: [join(dir, 'missing.txt')], vocabSize: 100 }), /cannot read training input .*missing\.txt/);
    await assert.rejects(trainBpe({ input: [botchan], vocabSize: 50 }), /vocab size 50 is smaller than the alphabet/);
    await assert.rejects(trainBpe({ input: [botchan], vocabSize: 200000 }), /vocab size 200000 is too high for this corpus/);
    await assert.rejects(trainBpe({ input: [botchan], vocabSize: 1000, characterCoverage: 0.5 }), /character coverage must be in \[0\.98, 1\]/);
    await assert.rejects(trainBpe({ input: [], vocabSize: 1000 }), /no input files/);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n\n');
    await assert.rejects(trainBpe({ input: [empty], vocabSize: 100 }), /no usable lines/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sampling input lines is deterministic for a seed and bounded', { skip }, async () => {
  const a = await trainBpe({ input: [botchan], vocabSize: 400, inputSentenceSize: 1000, seed: 7 });
  const b = await trainBpe({ input: [botchan], vocabSize: 400, inputSentenceSize: 1000, seed: 7 });
  assert.equal(a.stats.sampledLines, 1000);
  assert.deepEqual(serializeModelProto(a.model), serializeModelProto(b.model));
  const tok = new SentencePieceTokenizer(a.model, 'sampled');
  assert.ok(tok.encode('I am a cat').length > 0);
});
