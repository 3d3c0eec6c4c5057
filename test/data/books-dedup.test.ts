import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripGutenberg, readBookDocs } from '../../src/data/readers/books.js';
import { minhash, estimateJaccard, estimateOverlap, nearDedupStage, LshIndex } from '../../src/data/dedup/minhash.js';
import { exactDedupStage, contentKey } from '../../src/data/dedup/exact.js';
import { runStages } from '../../src/data/pipeline.js';
import { PipelineReport } from '../../src/data/report.js';
import { Rng } from '../../src/util/rng.js';
import { CollectSink, SHARED, collect, doc, tempDir } from './helpers.js';

const BOOKS = ['11-0.txt', '1342-0.txt', '1661-0.txt', '84-0.txt'].map((f) => readFileSync(join(SHARED, 'gutenberg', f), 'utf8'));

test('Gutenberg header and footer are removed (botchan has both, with a BOM)', async () => {
  const raw = readFileSync(join(SHARED, 'botchan/botchan.txt'), 'utf8');
  const s = stripGutenberg(raw);
  assert.ok(s.headerFound && s.footerFound);
  assert.ok(!/PROJECT GUTENBERG/i.test(s.text), 'no licence text left');
  assert.ok(s.text.startsWith('BOTCHAN (MASTER DARLING)') || s.text.includes('CHAPTER I'), s.text.slice(0, 100));
  assert.ok(s.text.length > 200_000 && s.text.length < raw.length);
  // Already-stripped texts are kept whole.
  const plain = stripGutenberg(BOOKS[3]!);
  assert.ok(!plain.headerFound && !plain.footerFound);
  assert.equal(plain.text, BOOKS[3]!.replace(/\r\n?/g, '\n').trim());
  const docs = await collect(readBookDocs([join(SHARED, 'botchan/botchan.txt'), '/nonexistent/book.txt'], new CollectSink()));
  assert.equal(docs.length, 1);
});

// Planted near-duplicates: a copy of a book with a fraction of its words replaced, and splices
// that share a known fraction of their content with a book.
function mutate(text: string, fraction: number, seed: number): string {
  const rng = new Rng(seed);
  return text.split(/(\s+)/).map((w) => (/\S/.test(w) && rng.uniform() < fraction ? `zq${rng.nextU32().toString(36)}` : w)).join('');
}
function splice(a: string, b: string, shareOfA: number): string {
  return a.slice(0, Math.floor(a.length * shareOfA)) + '\n' + b.slice(0, Math.floor(a.length * (1 - shareOfA)));
}

test('overlap estimates track the planted overlap', () => {
  const [alice, pride, , frank] = BOOKS as [string, string, string, string];
  const base = minhash(frank);
  for (const share of [0.5, 0.7, 0.85, 0.95]) {
    const est = estimateOverlap(minhash(splice(frank, pride, share)), base);
    assert.ok(Math.abs(est - share) < 0.06, `share ${share}: estimated ${est.toFixed(3)}`);
  }
  assert.ok(estimateOverlap(minhash(alice), base) < 0.05, 'unrelated books');
  assert.equal(estimateOverlap(minhash(frank), base), 1);
});

test('MinHash Jaccard estimates agree with exact Jaccard of the shingle sets', () => {
  // Exact: the sets of word 5-grams as strings, computed without any hashing.
  const shingles = (t: string) => {
    const w = t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    const s = new Set<string>();
    for (let i = 0; i + 5 <= w.length; i++) s.add(w.slice(i, i + 5).join(' '));
    return s;
  };
  const exact = (a: Set<string>, b: Set<string>) => {
    let inter = 0;
    for (const x of a) if (b.has(x)) inter++;
    return inter / (a.size + b.size - inter);
  };
  const [alice, pride, holmes, frank] = BOOKS as [string, string, string, string];
  const pairs: [string, string][] = [
    [frank, mutate(frank, 0.01, 3)],
    [frank, mutate(frank, 0.04, 4)],
    [holmes, splice(holmes, alice, 0.6)],
    [pride, splice(pride, frank, 0.3)],
    [alice, pride],
  ];
  for (const [a, b] of pairs) {
    const j = exact(shingles(a), shingles(b));
    const est = estimateJaccard(minhash(a).sig, minhash(b).sig);
    // 128 hashes: standard error sqrt(J(1-J)/128) <= 0.045; allow 3 of them.
    assert.ok(Math.abs(est - j) < 0.13, `exact ${j.toFixed(3)} vs estimate ${est.toFixed(3)}`);
    // Shingles are counted by 32-bit hash: a few birthday collisions at ~10^5 shingles, no more.
    const n = shingles(a).size;
    assert.ok(Math.abs(minhash(a).shingles - n) <= 2 + n / 20000, `${minhash(a).shingles} vs ${n}`);
  }
});

test('near-dedup at 90%: removes planted near-duplicates and nothing else', async () => {
  const [alice, pride, holmes, frank] = BOOKS as [string, string, string, string];
  const input = [
    doc(frank, {}, 'frankenstein'),
    doc(alice, {}, 'alice'),
    doc(pride, {}, 'pride'),
    doc(holmes, {}, 'holmes'),
    doc(mutate(frank, 0.005, 1), {}, 'frank-0.5%-words-changed'), // ~97% of 5-gram shingles shared
    doc(splice(alice, holmes, 0.96), {}, 'alice-96%'),
    doc(frank.replace(/\s+/g, ' ').toUpperCase(), {}, 'frank-reformatted'), // same words, new layout/case
    doc(splice(pride, frank, 0.8), {}, 'pride-80%'), // below the threshold: kept
    doc(mutate(holmes, 0.05, 2), {}, 'holmes-5%-words-changed'), // ~77% shingles shared: kept
    doc(holmes.slice(0, holmes.length / 2), {}, 'holmes-first-half'), // 100% contained in holmes
  ];
  const report = new PipelineReport();
  const kept = await collect(runStages(input, [nearDedupStage({ threshold: 0.9 })], report));
  assert.deepEqual(kept.map((d) => d.id), ['frankenstein', 'alice', 'pride', 'holmes', 'pride-80%', 'holmes-5%-words-changed']);
  const drops = report.stages['near-dedup']!.drops['near-duplicate']!;
  assert.equal(drops.docs, 4);
  assert.ok(drops.samples[0]!.detail!.endsWith('is in frankenstein'));
});

test('LSH candidates: signature-equal items are always candidates; parameters are validated', () => {
  const idx = new LshIndex();
  const s = minhash('one two three four five six seven eight');
  idx.add('a', s);
  assert.deepEqual(idx.candidates(s.sig), [0]);
  assert.throws(() => new LshIndex({ numHashes: 100, bands: 32, shingle: 5, seed: 1 }), /do not split/);
  assert.equal(minhash('').shingles, 0);
});

test('exact dedup keeps the first copy; whitespace normalisation is an option', async () => {
  const docs = [doc('same text', {}, 'a'), doc('same text', {}, 'b'), doc('same  text\n', {}, 'c'), doc('other', {}, 'd')];
  const r1 = new PipelineReport();
  assert.deepEqual((await collect(runStages(docs, [exactDedupStage()], r1))).map((d) => d.id), ['a', 'c', 'd']);
  const { exactDedupStage: mk, MemorySeenStore } = await import('../../src/data/dedup/exact.js');
  const r2 = new PipelineReport();
  assert.deepEqual((await collect(runStages(docs, [mk(new MemorySeenStore(), 'whitespace')], r2))).map((d) => d.id), ['a', 'd']);
  assert.notEqual(contentKey('a'), contentKey('b'));
  const { CompactSeenStore } = await import('../../src/data/dedup/exact.js');
  const compact = new CompactSeenStore();
  const r3 = new PipelineReport();
  const many = Array.from({ length: 5000 }, (_, i) => doc(`text ${i % 3000}`, {}, `m${i}`));
  assert.equal((await collect(runStages(many, [mk(compact)], r3))).length, 3000);
  assert.equal(compact.size, 3000);
  assert.match(r3.stages['exact-dedup']!.drops['exact-duplicate']!.samples[0]!.detail!, /earlier document/);
});

test('books from files: a duplicate file under another name is removed by the pipeline', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.txt'), BOOKS[0]!);
  writeFileSync(join(dir, 'b.txt'), mutate(BOOKS[0]!, 0.002, 9));
  const report = new PipelineReport();
  const kept = await collect(runStages(readBookDocs([join(dir, 'a.txt'), join(dir, 'b.txt')], report), [nearDedupStage()], report));
  assert.deepEqual(kept.map((d) => d.id), ['a.txt']);
});
