// Modified Kneser-Ney (lmplz-style) against a hand computation, proper normalization on real
// text, ARPA round trip and errors, CCNet document perplexity and cutoff buckets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { computeDiscounts, estimateKneserNey } from '../../../src/data/ccnet/lm/kneser-ney.js';
import { formatArpa, parseArpa } from '../../../src/data/ccnet/lm/arpa.js';
import { documentPerplexity, PerplexityCutoffs } from '../../../src/data/ccnet/lm/perplexity.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/*
 * Hand computation. Corpus (order 2), sentences "a b", "a b", "b a", padded:
 *   <s> a b </s> | <s> a b </s> | <s> b a </s>
 * Bigram counts (highest order: raw): <s> a 2, a b 2, b </s> 2, <s> b 1, b a 1, a </s> 1.
 * Unigram adjusted counts = distinct left neighbours: a {<s>, b} 2, b {a, <s>} 2, </s> {b, a} 2,
 * <unk> 0. Counts-of-counts have no 1s (unigrams) and no 3s (bigrams), so lmplz would stop; with
 * --discount_fallback the discounts are D1 = .5, D2 = 1, D3+ = 1.5 for both orders.
 * Unigrams: Σa = 6, γ(ε) = (D2·3)/6 = .5, |V| = {<unk>, </s>, a, b} = 4 (no <s>):
 *   p(a) = p(b) = p(</s>) = (2 - 1)/6 + .5/4 = 7/24,   p(<unk>) = 0 + .5/4 = 3/24.
 * Context <s>: a 2, b 1; Σ = 3; γ(<s>) = (D2 + D1)/3 = .5
 *   p(a|<s>) = (2-1)/3 + .5·7/24 = 23/48,  p(b|<s>) = (1-.5)/3 + .5·7/24 = 15/48.
 * Context a: b 2, </s> 1 → p(b|a) = 23/48, p(</s>|a) = 15/48, γ(a) = .5; likewise context b:
 *   p(</s>|b) = 23/48, p(a|b) = 15/48, γ(b) = .5.
 * Sentences:
 *   "a b": p(a|<s>) p(b|a) p(</s>|b) = (23/48)^3                  → perplexity 48/23
 *   "b b": p(b|<s>) · [γ(b) p(b)] · p(</s>|b) = 15/48 · 7/48 · 23/48 (b b unseen: back off)
 *   "c":   c is <unk>: γ(<s>) p(<unk>) · p(</s>|<unk>) = (.5 · 3/24) · 7/24  (<unk> has no back-off)
 */
const toy = [['a', 'b'], ['a', 'b'], ['b', 'a']];

test('modified Kneser-Ney equals the hand computation on a toy corpus', () => {
  assert.throws(() => estimateKneserNey(toy, { order: 2 }), /cannot estimate discounts for 1-grams.*discountFallback/);
  const { model, discounts, adjusted } = estimateKneserNey(toy, { order: 2, discountFallback: [0.5, 1, 1.5] });
  assert.deepEqual(discounts, [[0.5, 1, 1.5], [0.5, 1, 1.5]]);
  assert.deepEqual([...adjusted[0].entries()].sort(), [['</s>', 2], ['a', 2], ['b', 2]]);
  close(10 ** model.get(['a'])!.logProb, 7 / 24);
  close(10 ** model.get(['<unk>'])!.logProb, 3 / 24);
  assert.equal(model.get(['<s>'])!.logProb, -99);
  close(10 ** model.get(['<s>'])!.backoff, 0.5);
  close(10 ** model.get(['<s>', 'a'])!.logProb, 23 / 48);
  close(10 ** model.get(['<s>', 'b'])!.logProb, 15 / 48);
  close(model.score('a b'), 3 * Math.log10(23 / 48));
  close(model.perplexity('a b'), 48 / 23);
  close(model.score('b b'), Math.log10((15 / 48) * (7 / 48) * (23 / 48)));
  close(model.score('c'), Math.log10(0.5 * (3 / 24) * (7 / 24)));
});

test('discounts from counts-of-counts (Chen & Goodman eq. 26)', () => {
  // t1..t4 = 10, 5, 3, 2: Y = 10/(10+10) = .5; D1 = 1 - 2·.5·5/10 = .5; D2 = 2 - 3·.5·3/5 = 1.1;
  // D3+ = 3 - 4·.5·2/3 = 1.6667
  const [d] = computeDiscounts([[0, 10, 5, 3, 2]]);
  close(d[0], 0.5);
  close(d[1], 1.1);
  close(d[2], 3 - 4 / 3);
});

const shakespeare = readFileSync('../shared/data/tinyshakespeare/input.txt', 'utf8').split('\n').slice(0, 3000)
  .map((l) => l.toLowerCase().split(/\s+/).filter(Boolean)).filter((s) => s.length > 0);

test('every context is a proper distribution over the vocabulary (orders 1-4, real text)', () => {
  for (const order of [1, 2, 3, 4]) {
    const { model, discounts } = estimateKneserNey(shakespeare, { order });
    for (const d of discounts) for (let k = 0; k < 3; k++) assert.ok(d[k] > 0 && d[k] <= k + 1);
    const vocab = model.words.filter((w) => w !== '<s>');
    for (const ctx of [[], ['the'], ['i', 'am'], ['never-seen-word'], ['to', 'be', 'or']]) {
      let sum = 0;
      const base = model.scoreTokens(ctx, true, false);
      for (const w of vocab) sum += 10 ** (model.scoreTokens([...ctx, w], true, false) - base);
      close(sum, 1, 1e-9);
    }
  }
});

test('ARPA round trip keeps every probability to float precision', () => {
  const { model } = estimateKneserNey(shakespeare, { order: 3 });
  const text = formatArpa(model);
  assert.match(text, /^\\data\\\nngram 1=\d+\nngram 2=\d+\nngram 3=\d+\n\n\\1-grams:\n/);
  const back = parseArpa(text);
  assert.deepEqual(back.counts(), model.counts());
  for (const line of ['to be or not to be', 'my lord , i am here', 'zzz unknown words here']) {
    close(back.score(line), model.score(line), 1e-5);
  }
  assert.equal(formatArpa(back), text);
});

test('ARPA errors name the line', () => {
  const ok = '\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<unk>\n-0.5\t</s>\n\n\\end\\\n';
  assert.equal(parseArpa(ok).score(''), -0.5);
  assert.throws(() => parseArpa('hello'), /no "\\data\\" header/);
  assert.throws(() => parseArpa(ok.replace('-0.5', 'x')), /line 6: bad number/);
  assert.throws(() => parseArpa(ok.replace('ngram 1=2', 'ngram 1=3')), /declares 3 1-grams, section has 2/);
  assert.throws(() => parseArpa(ok.replace('\\end\\\n', '')), /expected "\\end\\"/);
  assert.throws(() => parseArpa(ok.replace('<unk>', 'foo')), /no <unk> unigram/);
});

test('CCNet document perplexity: Σ log10 p over lines / Σ (tokens + 1), lines normalized, rounded to .1', () => {
  const { model } = estimateKneserNey(toy, { order: 2, discountFallback: [0.5, 1, 1.5] });
  // "A B" normalizes to "a b": (23/48)^3 over 3 positions; "b b": 15·7·23/48^3 over 3 positions.
  const logp = 3 * Math.log10(23 / 48) + Math.log10((15 * 7 * 23) / 48 ** 3);
  const r = documentPerplexity(model, 'A B\n  b b ');
  assert.equal(r.length, 6);
  close(r.log10Prob, logp);
  assert.equal(r.perplexity, Math.round(10 ** (-logp / 6) * 10) / 10);
  // a tokenizer can be passed (CCNet uses SentencePiece pieces)
  const chars = documentPerplexity(model, 'ab', { tokenize: (l) => [...l] });
  close(chars.log10Prob, 3 * Math.log10(23 / 48));
});

test('cutoff.csv from CCNet: head < p30, middle < p60, else tail; unknown language → all', () => {
  const c = PerplexityCutoffs.load('../shared/data/ccnet/cutoff.csv');
  assert.equal(c.table.size, 48);
  const csv = readFileSync('../shared/data/ccnet/cutoff.csv', 'utf8').split('\n');
  const header = csv[0].split(',');
  const en = header.indexOf('en');
  const p30 = Number(csv[31].split(',')[en]), p60 = Number(csv[61].split(',')[en]);
  assert.deepEqual(c.cutoffs('en'), [p30, p60]);
  assert.equal(c.bucket('en', p30 - 0.1), 'head');
  assert.equal(c.bucket('en', p30), 'middle');
  assert.equal(c.bucket('en', p60 - 0.1), 'middle');
  assert.equal(c.bucket('en', p60), 'tail');
  assert.equal(c.bucket('xx', 10), 'all');
  assert.equal(c.bucket('en', undefined), 'all');
  assert.equal(c.bucket('en', -1), 'all');
  assert.throws(() => PerplexityCutoffs.parse(',en\n0,1\n2,3\n'), /line 3: percentile 2, expected 1/);
  assert.throws(() => PerplexityCutoffs.parse(',en\n0,x\n'), /line 2, column "en": "x" is not a number/);
});

test('string-keyed lookups (order × id bits > 52) give the same distribution', () => {
  // 5-gram over a >4096-word vocabulary: 13 bits × 5 > 52, so the model keeps string keys.
  const { model } = estimateKneserNey(shakespeare, { order: 5, discountFallback: [0.5, 1, 1.5] });
  assert.ok(Math.ceil(Math.log2(model.words.length + 1)) * 5 > 52);
  const vocab = model.words.filter((w) => w !== '<s>');
  for (const ctx of [['the'], ['to', 'be', 'or', 'not']]) {
    let sum = 0;
    const base = model.scoreTokens(ctx, true, false);
    for (const w of vocab) sum += 10 ** (model.scoreTokens([...ctx, w], true, false) - base);
    close(sum, 1, 1e-9);
  }
  // and an ARPA copy (numeric keys are rebuilt lazily) scores identically within float precision
  close(parseArpa(formatArpa(model)).score('to be or not to be'), model.score('to be or not to be'), 1e-5);
});

test('queries split on ASCII whitespace only, as KenLM', () => {
  const { model } = estimateKneserNey(toy, { order: 2, discountFallback: [0.5, 1, 1.5] });
  close(model.score(' a\tb \n'), model.score('a b'));
  // NBSP is not a separator: "a\u00a0b" is one unknown word
  close(model.score('a\u00a0b'), model.score('zzz'));
});
