import { test } from 'node:test';
import assert from 'node:assert/strict';
import { c4Stage, cleanC4Page, countSentences, badWordsRegex } from '../../src/data/filters/c4.js';
import { doc } from './helpers.js';

const GOOD = [
  'The quick brown fox jumps over the lazy dog.',
  'She sells sea shells by the sea shore!',
  'Is this the third complete sentence here?',
];

function keep(text: string): string {
  const r = cleanC4Page(text);
  assert.ok('text' in r, JSON.stringify(r));
  return r.text;
}

test('a clean page of three good lines is kept unchanged', () => {
  assert.equal(keep(GOOD.join('\n')), GOOD.join('\n'));
});

test('line rules: end marks, ellipsis, word count, javascript, policy, long words, citations', () => {
  const lines = [
    ...GOOD,
    'No terminal punctuation on this line here',
    'This line trails off into an ellipsis...',
    'Only four words here.',
    'Exactly five words are here.',
    '"A quoted line that ends with a quote mark"',
    'Please enable JavaScript to view this page properly.',
    'Read our Privacy Policy for more details about us.',
    'This site uses cookies to improve your experience today.',
    `A line with a ${'x'.repeat(1001)} very long word in it.`,
    'Wikipedia style text with a citation[1] and [citation needed] marks[edit].',
    '   Leading and trailing spaces are stripped from lines.   ',
  ];
  assert.equal(keep(lines.join('\n')), [
    ...GOOD,
    'Exactly five words are here.',
    '"A quoted line that ends with a quote mark"',
    'Wikipedia style text with a citation and  marks.',
    'Leading and trailing spaces are stripped from lines.',
  ].join('\n'));
});

test('page rules: lorem ipsum, curly bracket, too few sentences', () => {
  assert.deepEqual(cleanC4Page([...GOOD, 'Lorem ipsum dolor sit amet, consectetur.'].join('\n')), { drop: 'lorem-ipsum', detail: 'Lorem ipsum dolor sit amet, consectetur.' });
  assert.equal((cleanC4Page([...GOOD, 'function f() { return the value here. }.'].join('\n')) as { drop: string }).drop, 'curly-bracket');
  // A "{" on a line that is removed anyway (no end mark) does not drop the page: C4 checks kept lines.
  assert.equal(keep([...GOOD, 'var x = {a: 1}'].join('\n')), GOOD.join('\n'));
  assert.deepEqual(cleanC4Page(GOOD.slice(0, 2).join('\n')), { drop: 'too-few-sentences', detail: '2 sentence(s) < 3' });
  // Two sentences on one line count twice.
  assert.equal(keep('First sentence is here now. Second one follows it.\nAnd a third line ends here.'), 'First sentence is here now. Second one follows it.\nAnd a third line ends here.');
  assert.equal(countSentences('One. Two! Three? "Four."'), 4);
  assert.equal(countSentences('No space after.dot still one.'), 1);
});

test('thresholds are options (the C4 paper prose: 3 words per line, 5 sentences)', () => {
  const r = cleanC4Page('Only four words here.\nAnother four word line.\nA third short one.', { minWordsPerLine: 3, minSentences: 3 });
  assert.ok('text' in r);
  assert.equal((cleanC4Page(GOOD.join('\n'), { minSentences: 5 }) as { drop: string }).drop, 'too-few-sentences');
});

test('bad words (LDNOOBW list, the one C4 used): whole-word match, per language', () => {
  const stage = c4Stage();
  const clean = stage.process(doc(GOOD.join('\n')));
  assert.ok(clean && !('drop' in clean));
  const bad = stage.process(doc([...GOOD, 'This line mentions porn in the middle of it.'].join('\n')));
  assert.deepEqual(bad, { drop: 'bad-words', detail: 'matched "porn"' });
  // Substrings of longer words do not count ("Scunthorpe problem"): "assessment" contains "ass".
  const ok = stage.process(doc([...GOOD, 'The assessment of the class was quite thorough.'].join('\n')));
  assert.ok(ok && !('drop' in ok), JSON.stringify(ok));
  // German list applies to a German page only.
  assert.ok(badWordsRegex('de')!.test(' arschloch '));
  assert.equal(badWordsRegex('xx'), null);
  const off = c4Stage({ badWords: false }).process(doc([...GOOD, 'This line mentions porn in the middle of it.'].join('\n')));
  assert.ok(off && !('drop' in off));
});
