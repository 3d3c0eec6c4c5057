import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cutAnswer, exactMatch, normalizeAnswer } from '../../src/eval/normalize.js';

test('normalizeAnswer: lowercase, punctuation, articles, whitespace', () => {
  assert.equal(normalizeAnswer('The Beatles'), 'beatles');
  assert.equal(normalizeAnswer('  A   man,  a plan!  '), 'man plan');
  assert.equal(normalizeAnswer('an apple'), 'apple');
  // Articles only as whole words: "theory", "band", "Athens" keep their letters.
  assert.equal(normalizeAnswer('Theory of an Anthem'), 'theory of anthem');
  assert.equal(normalizeAnswer('Athens'), 'athens');
  // Punctuation is removed (not replaced by a space), as in SQuAD: "U.S." → "us", "rock-n-roll" → "rocknroll".
  assert.equal(normalizeAnswer('U.S.'), 'us');
  assert.equal(normalizeAnswer('rock-n-roll'), 'rocknroll');
  // An article exposed by punctuation removal still goes ("(the) Who" → "who").
  assert.equal(normalizeAnswer('(The) Who'), 'who');
  assert.equal(normalizeAnswer('\u201cThe Who\u201d'), 'who');
  assert.equal(normalizeAnswer('tab\tand\nnewline'), 'tab and newline');
  assert.equal(normalizeAnswer(''), '');
  assert.equal(normalizeAnswer('the'), '');
});

test('cutAnswer: stops at the first line break, dot or comma', () => {
  assert.equal(cutAnswer(' Paris, France'), 'Paris');
  assert.equal(cutAnswer(' George Washington.\nQ: next'), 'George Washington');
  assert.equal(cutAnswer(' 1972\nQ:'), '1972');
  assert.equal(cutAnswer(' no stop at all '), 'no stop at all');
  assert.equal(cutAnswer('.'), '');
});

test('exactMatch: any reference, after normalization', () => {
  assert.equal(exactMatch('the Beatles', ['Beatles', 'The Fab Four']), 1);
  assert.equal(exactMatch('fab four', ['Beatles', 'The Fab Four!']), 1);
  assert.equal(exactMatch('Beatle', ['Beatles']), 0);
  assert.equal(exactMatch('', ['a']), 1, 'an answer that is only an article normalizes to empty, like the prediction ""');
  assert.equal(exactMatch('14 December 1972', ['14 December 1972 UTC', 'December 1972']), 0);
  assert.equal(exactMatch('December, 1972', ['December 1972']), 1);
});
