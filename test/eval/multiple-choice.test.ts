import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choiceScores, fewShotPrefix, mcPlan, UNCONDITIONAL_CONTEXT, type McDoc } from '../../src/eval/multiple-choice.js';

const ll = (...xs: number[]) => xs.map((logprob) => ({ logprob, greedy: false }));

test("'chars': log-likelihood divided by the choice's character count", () => {
  const doc: McDoc = { id: 'x', context: 'Q:', choices: [' ab', ' abcdef'], gold: 1 };
  // -3/3 = -1 vs -4/7 = -0.571: the longer choice wins although its raw log-likelihood is lower.
  const s = choiceScores('chars', doc, ll(-3, -4));
  assert.deepEqual(s.map((v) => Number(v.toFixed(3))), [-1, -0.571]);
  const r = mcPlan(doc, 'chars').score(ll(-3, -4), []) as { metrics: Record<string, number> };
  assert.deepEqual(r.metrics, { acc: 1, acc_unnormalized: 0 });
});

test("'unconditional': log P(c|context) - log P(c|\"Answer:\"), with the extra requests", () => {
  const doc: McDoc = { id: 'x', context: 'passage\nQuestion: q?\nAnswer:', choices: [' no', ' yes'], gold: 1 };
  const plan = mcPlan(doc, 'unconditional');
  assert.deepEqual(plan.ll, [
    { context: doc.context, continuation: ' no' }, { context: doc.context, continuation: ' yes' },
    { context: UNCONDITIONAL_CONTEXT, continuation: ' no' }, { context: UNCONDITIONAL_CONTEXT, continuation: ' yes' },
  ]);
  // cond: no -1.0, yes -2.0; uncond: no -0.2, yes -3.5 → scores -0.8 vs +1.5: "yes" wins.
  const r = plan.score(ll(-1, -2, -0.2, -3.5), []) as { metrics: Record<string, number>; log: { scores: number[]; pred: number } };
  assert.deepEqual(r.log.scores.map((v) => Number(v.toFixed(6))), [-0.8, 1.5]);
  assert.equal(r.log.pred, 1);
  assert.deepEqual(r.metrics, { acc: 1, acc_unnormalized: 0 });
});

test("'raw' with per-choice contexts (WinoGrande partial scoring)", () => {
  const doc: McDoc = { id: 'w', context: ['Sarah was better than Maria so Sarah', 'Sarah was better than Maria so Maria'], choices: [' got it.', ' got it.'], gold: 0 };
  const plan = mcPlan(doc, 'raw');
  assert.equal(plan.ll![0].context, doc.context[0]);
  assert.equal(plan.ll![1].continuation, ' got it.');
  const r = plan.score(ll(-5, -4), []) as { metrics: Record<string, number> };
  assert.deepEqual(r.metrics, { acc: 0 });
});

test('ties go to the first choice; several gold indices accepted; groups copy the result', () => {
  const doc: McDoc = { id: 's', context: 'c', choices: [' a', ' b', ' a'], gold: [0, 2], groups: ['acc/x'] };
  const r = mcPlan(doc, 'raw').score(ll(-1, -2, -1), []) as { metrics: Record<string, number>; log: { pred: number } };
  assert.equal(r.log.pred, 0);
  assert.deepEqual(r.metrics, { acc: 1, 'acc/x': 1 });
});

test('few-shot prefix: seeded, never the item itself, gold continuation shown', () => {
  const pool: McDoc[] = ['a', 'b', 'c', 'd'].map((id, i) => ({ id, context: `Q${i}:`, choices: [' x', ' y'], gold: i % 2 }));
  const p1 = fewShotPrefix(pool[0], pool, { dataDir: '', shots: 2, seed: 1 });
  const p2 = fewShotPrefix(pool[0], pool, { dataDir: '', shots: 2, seed: 1 });
  assert.equal(p1, p2);
  assert.ok(!p1.includes('Q0:'));
  assert.match(p1, /^Q\d: [xy]\n\nQ\d: [xy]\n\n$/);
  assert.ok(/Q1: y/.test(p1) || /Q2: x/.test(p1) || /Q3: y/.test(p1));
  assert.equal(fewShotPrefix(pool[0], pool, { dataDir: '', shots: 0, seed: 1 }), '');
  assert.throws(() => fewShotPrefix(pool[0], pool, { dataDir: '', shots: 4, seed: 1 }), /only 3 few-shot examples/);
});
