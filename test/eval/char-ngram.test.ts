import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharNgramModel } from '../../src/eval/char-ngram.js';

const TEXT = 'the cat sat on the mat. the cat ate the rat. ';

test('the test double is a proper distribution: P(c | h) sums to 1 over all 65536 code units', () => {
  const m = new CharNgramModel(TEXT, 3);
  for (const prefix of ['', 'the c', 'zzz']) {
    let sum = 0;
    for (let u = 0; u < 65536; u++) {
      const c = String.fromCharCode(u);
      sum += Math.exp(m.tokenLogprobs(prefix + c, prefix.length).logprobs[0]);
    }
    assert.ok(Math.abs(sum - 1) < 1e-9, `prefix ${JSON.stringify(prefix)}: sum ${sum}`);
  }
});

test('log-likelihoods add up by the chain rule and follow the training text', async () => {
  const m = new CharNgramModel(TEXT, 4);
  const [ab, a, b] = await m.loglikelihood([
    { context: 'the c', continuation: 'at' }, { context: 'the c', continuation: 'a' }, { context: 'the ca', continuation: 't' },
  ]);
  assert.ok(Math.abs(ab.logprob - (a.logprob + b.logprob)) < 1e-12);
  const [likely, unlikely] = await m.loglikelihood([{ context: 'the', continuation: ' cat' }, { context: 'the', continuation: ' dog' }]);
  assert.ok(likely.logprob > unlikely.logprob);
  assert.equal(likely.greedy, true);
  assert.equal(unlikely.greedy, false);
});

test('trailing context whitespace moves to the continuation', async () => {
  const m = new CharNgramModel(TEXT, 4);
  const [x, y] = await m.loglikelihood([{ context: 'the ', continuation: 'cat' }, { context: 'the', continuation: ' cat' }]);
  assert.equal(x.logprob, y.logprob);
});

test('greedy generation is deterministic, copies patterns and stops at stop strings', async () => {
  const m = new CharNgramModel(TEXT, 4);
  const [g1, g2] = await m.generate([{ prompt: 'the c', until: ['.'], maxTokens: 40 }, { prompt: 'the c', until: ['.'], maxTokens: 40 }]);
  assert.equal(g1, g2);
  assert.ok(g1.startsWith('at'), g1);
  assert.ok(!g1.includes('.'));
  const [s1, s2, s3] = await m.generate([
    { prompt: 'the ', until: [], maxTokens: 30, temperature: 1, seed: 5 },
    { prompt: 'the ', until: [], maxTokens: 30, temperature: 1, seed: 5 },
    { prompt: 'the ', until: [], maxTokens: 30, temperature: 1, seed: 6 },
  ]);
  assert.equal(s1, s2);
  assert.equal(s1.length, 30);
  assert.notEqual(s1, s3);
});
