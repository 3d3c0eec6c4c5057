import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractGsmAnswer, extractMathAnswer, lastBoxed, mathAnswersEqual, normalizeMathAnswer, stripCalculatorTags } from '../../src/eval/math-answer.js';

test('MATH: the Minerva final-answer sentence, else the last \\boxed{}', () => {
  assert.equal(extractMathAnswer('so x=2.\nFinal Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.'), '$\\frac{1}{2}$');
  assert.equal(extractMathAnswer('We get \\boxed{3} then \\boxed{\\frac{a}{b^{2}}}.'), '\\frac{a}{b^{2}}');
  assert.equal(extractMathAnswer('no answer here'), null);
  assert.equal(lastBoxed('\\boxed{unclosed'), null);
  assert.equal(lastBoxed('so \\boxed 5$'), '5');
});

test('MATH: equivalent spellings normalize to the same string', () => {
  const same: [string, string][] = [
    ['\\dfrac{625}{648}', '\\frac{625}{648}'],
    ['$\\frac12$', '\\frac{1}{2}'],
    ['x = 5', '5'],
    ['10\\%', '10'],
    ['90^\\circ', '90'],
    ['\\text{(C)}', '(C)'],
    ['1,000', '1000'],
    ['5.0', '5'],
    ['\\left( 3, 4 \\right)', '(3,4)'],
    ['12 \\text{ inches}', '12'],
    ['\\$18.50', '18.5'],
    ['\\boxed{7}', '7'],
  ];
  for (const [a, b] of same) assert.equal(normalizeMathAnswer(a), normalizeMathAnswer(b), `${a} vs ${b}`);
  assert.notEqual(normalizeMathAnswer('\\frac{1}{3}'), normalizeMathAnswer('\\frac{1}{2}'));
  assert.notEqual(normalizeMathAnswer('1,2'), normalizeMathAnswer('12'), 'a list is not a number with a thousands separator');
  assert.equal(mathAnswersEqual(null, '3'), false);
});

test('GSM8k: the number after ####, else the last number; commas, $ and trailing dots ignored', () => {
  assert.equal(extractGsmAnswer('She makes 9 * 2 = $18 every day.\n#### 18'), '18');
  assert.equal(extractGsmAnswer('#### 1,234'), '1234');
  assert.equal(extractGsmAnswer('so the total is 3.50 dollars and then 42.'), '42');
  assert.equal(extractGsmAnswer('The answer is -7.'), '-7');
  assert.equal(extractGsmAnswer('It costs $1,000.00 in total'), '1000');
  assert.equal(extractGsmAnswer('nothing'), null);
  assert.equal(stripCalculatorTags('2/2=<<2/2=1>>1 bolt'), '2/2=1 bolt');
});
