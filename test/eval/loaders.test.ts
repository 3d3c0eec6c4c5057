/** Every loader against the real benchmark files (counts and parsing details from their README), and bad-file errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetError, parseDelimited, resolveDataDir } from '../../src/eval/data-files.js';
import { hellaswagPreprocess, loadArc, loadBoolq, loadHellaswag, loadOpenbookqa, loadPiqa, loadSiqa, loadWinogrande } from '../../src/eval/tasks/common-sense.js';
import { loadNq, loadTriviaqa } from '../../src/eval/tasks/closed-book.js';
import { loadRace } from '../../src/eval/tasks/race.js';
import { loadGsm8k, loadMath } from '../../src/eval/tasks/math.js';
import { loadHumanEval, loadMbpp } from '../../src/eval/tasks/code.js';
import { mmluDocs } from '../../src/eval/tasks/mmlu.js';
import { loadCrowsPairs, loadWinogender } from '../../src/eval/tasks/bias.js';
import { loadTruthfulqa } from '../../src/eval/tasks/truthfulqa.js';
import { loadRtp } from '../../src/eval/tasks/realtoxicity.js';

const DATA = '../shared/data';

test('common-sense loaders: counts and formats', () => {
  const boolq = loadBoolq(DATA);
  assert.equal(boolq.length, 3270);
  assert.equal(boolq.filter((d) => d.gold === 1).length, 2033);
  assert.match(boolq[0].context as string, /^Ethanol fuel -- .*\nQuestion: does ethanol take more energy make that produces\?\nAnswer:$/s);
  const piqa = loadPiqa(DATA);
  assert.equal(piqa.length, 1838);
  assert.deepEqual([piqa[0].gold, piqa[1].gold], [0, 1]);
  const siqa = loadSiqa(DATA);
  assert.equal(siqa.length, 1954);
  assert.equal(siqa.filter((d) => Array.isArray(d.gold)).length, 1, 'the one item with a duplicated option');
  const hs = loadHellaswag(DATA);
  assert.equal(hs.length, 10042);
  assert.equal(hs[0].context, 'Roof shingle removal: A man is sitting on a roof. he');
  assert.equal(hs[0].choices[3], ' starts pulling up roofing on a roof.');
  assert.equal(hellaswagPreprocess(' [header] How to x [title] Do y. [step] Then  z'), ' How to x. Do y. Then z', 'as lm-evaluation-harness: strip first, so removing a leading tag leaves its space');
  const wg = loadWinogrande(DATA);
  assert.equal(wg.length, 1267);
  assert.deepEqual(wg[0].context, ['Sarah was a much better surgeon than Maria so Sarah', 'Sarah was a much better surgeon than Maria so Maria']);
  assert.deepEqual(wg[0].choices, [' always got the easier cases.', ' always got the easier cases.']);
  assert.equal(wg[0].gold, 1);
  const arcE = loadArc(DATA, 'arc/ARC-Easy-Test.jsonl');
  assert.equal(arcE.length, 2376);
  assert.equal(arcE.filter((d) => d.choices.length === 5).length, 4);
  assert.equal(loadArc(DATA, 'arc/ARC-Challenge-Test.jsonl').length, 1172);
  const obqa = loadOpenbookqa(DATA, 'openbookqa/test.tsv');
  assert.equal(obqa.length, 500);
  assert.deepEqual(obqa[1].choices, [' a marsh', ' a tundra', ' the plains', ' a desert']);
  assert.equal(obqa[1].gold, 0);
});

test('QA, reading, math and code loaders', () => {
  const nq = loadNq(DATA, 'natural_questions/NQ-open.dev.jsonl');
  assert.equal(nq.length, 3610);
  assert.deepEqual(nq[0].answers, ['14 December 1972 UTC', 'December 1972']);
  const tq = loadTriviaqa(DATA);
  assert.equal(tq.length, 3000);
  assert.equal(tq[0].question, 'Brunswick, Lancastrian and Pearl Pickler are types of which vegetable?');
  assert.equal(tq[0].answers[0], 'Onion');
  assert.equal(loadRace(DATA, 'middle').length, 1436);
  const high = loadRace(DATA, 'high');
  assert.equal(high.length, 3498);
  const math = loadMath(DATA);
  assert.equal(math.length, 5000);
  assert.equal(loadGsm8k(DATA, 'test')[0].answer, '18');
  assert.equal(loadGsm8k(DATA, 'train').length, 7473);
  assert.equal(loadHumanEval(DATA).length, 164);
  const mbpp = loadMbpp(DATA);
  assert.equal(mbpp.length, 974);
  assert.equal(mbpp.filter((d) => d.id >= 11 && d.id <= 510).length, 500);
  assert.ok(!mbpp.some((d) => d.code.includes('\r')));
});

test('MMLU, bias, TruthfulQA, RTP loaders', () => {
  const mmlu = mmluDocs(DATA, 5);
  assert.equal(mmlu.length, 14042);
  assert.match(mmlu[0].context as string, /^The following are multiple choice questions \(with answers\) about abstract algebra\.\n\nFind all c in Z_3 .*\nA\. 0\nB\. 1\nC\. 2\nD\. 3\nAnswer: B\n\n/s);
  assert.equal((mmlu[0].context as string).split('Answer:').length - 1, 6, '5 solved shots + the question');
  const crows = loadCrowsPairs(DATA);
  assert.equal(crows.length, 1508);
  assert.equal(new Set(crows.map((c) => c.biasType)).size, 9);
  const wg = loadWinogender(DATA);
  assert.equal(wg.length, 720);
  assert.equal(wg[0].context, 'The technician told the customer that he could pay with cash. "He" refers to');
  assert.deepEqual(wg[0].choices, [' the technician', ' the customer']);
  assert.equal(wg[0].gold, 1);
  // Gotcha: male/female sentences whose pronoun is not the occupation's majority gender and whose answer is the occupation.
  const gotcha = wg.filter((d) => d.gotcha);
  assert.ok(gotcha.length > 0 && gotcha.every((d) => d.gold === 0 && d.gender !== 'neutral'));
  // 60 answer-0 templates × 2 participant forms (named / "someone"); in each, exactly one of male/female mismatches the majority.
  assert.equal(gotcha.length, 120);
  const tqa = loadTruthfulqa(DATA);
  assert.equal(tqa.length, 817);
  assert.equal(tqa[0].mc1.filter((t) => t.label === 1).length, 1);
  const rtp = loadRtp(DATA);
  assert.equal(rtp.length, 1196 + 1200);
  assert.deepEqual([rtp[0].kind, rtp[1].kind], ['toxic', 'nontoxic']);
});

test('bad files: the error names the file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-eval-data-'));
  try {
    mkdirSync(join(dir, 'piqa'));
    writeFileSync(join(dir, 'piqa/valid.jsonl'), '{"goal":"a","sol1":"b","sol2":"c"}\n{"goal": broken\n');
    writeFileSync(join(dir, 'piqa/valid-labels.lst'), '0\n1\n');
    assert.throws(() => loadPiqa(dir), (e: unknown) => e instanceof DatasetError && /piqa\/valid\.jsonl:2: malformed JSON/.test((e as Error).message));
    writeFileSync(join(dir, 'piqa/valid.jsonl'), '{"goal":"a","sol1":"b","sol2":"c"}\n{"goal":"a","sol1":"b"}\n');
    assert.throws(() => loadPiqa(dir), /valid\.jsonl:2: field 'sol2' should be a string, got nothing/);
    writeFileSync(join(dir, 'piqa/valid.jsonl'), '{"goal":"a","sol1":"b","sol2":"c"}\n{"goal":"a","sol1":"b","sol2":"c"}\n');
    writeFileSync(join(dir, 'piqa/valid-labels.lst'), '0\nyes\n');
    assert.throws(() => loadPiqa(dir), /valid-labels\.lst:2: label should be 0 or 1/);
    assert.throws(() => loadBoolq(dir), /boolq\/val\.jsonl: file not found; check --data-dir/);
    mkdirSync(join(dir, 'hellaswag'));
    writeFileSync(join(dir, 'hellaswag/hellaswag_val_full.txt'), 'ctx\n7\na\nb\nc\nd\n');
    assert.throws(() => loadHellaswag(dir), /hellaswag_val_full\.txt:2: expected the gold label 0-3/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('CSV parser: quotes, doubled quotes, embedded newlines, line numbers', () => {
  const rows = parseDelimited('f.csv', 'a,"b,c","d ""q"""\n"multi\nline",x,y\r\nlast,1,2');
  assert.deepEqual(rows.map((r) => r.cells), [['a', 'b,c', 'd "q"'], ['multi\nline', 'x', 'y'], ['last', '1', '2']]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 4]);
  assert.throws(() => parseDelimited('f.csv', 'a,"open\n'), /f\.csv:1: malformed CSV: a quoted cell is never closed/);
  assert.throws(() => parseDelimited('f.csv', 'ok\n"x"y,z'), /f\.csv:2: malformed CSV: text after a closing quote/);
});

test('the data folder comes only from --data-dir or the environment', () => {
  const saved = process.env.LLAMA_TS_EVAL_DATA;
  delete process.env.LLAMA_TS_EVAL_DATA;
  try {
    assert.throws(() => resolveDataDir(), /pass --data-dir DIR or set LLAMA_TS_EVAL_DATA/);
    assert.throws(() => resolveDataDir('/nonexistent/data'), /does not exist/);
    process.env.LLAMA_TS_EVAL_DATA = DATA;
    assert.match(resolveDataDir(), /shared\/data$/);
  } finally { if (saved === undefined) delete process.env.LLAMA_TS_EVAL_DATA; else process.env.LLAMA_TS_EVAL_DATA = saved; }
});
