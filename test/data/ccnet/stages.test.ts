// The CCNet stages in the pipeline (src/data/pipeline.ts) on the real samples, and the
// Wikipedia-reference classifier trained on ../shared/data.
//
// Proxy data, stated honestly: the samples hold no pages *cited by* Wikipedia, so the positives
// are Wikipedia article texts (enwiki XML sample, wikitext stripped; reference-like prose) and the
// negatives random crawl pages (the dolma WARC and CCNet WET samples). The runtime trains on any
// two lists of pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Doc } from '../../../src/data/document.js';
import { ignoreBadRecords } from '../../../src/data/document.js';
import { runStages } from '../../../src/data/pipeline.js';
import { PipelineReport } from '../../../src/data/report.js';
import { readMediaWikiDocs } from '../../../src/data/readers/mediawiki.js';
import { readWarcDocs } from '../../../src/data/readers/warc.js';
import { wikitextToText } from '../../../src/data/filters/wikitext.js';
import { langIdStage, lineDedupStage, lineHashStage, perplexityStage, qualityStage, stages } from '../../../src/data/ccnet/stages.js';
import { LanguageIdentifier } from '../../../src/data/ccnet/langid.js';
import { estimateKneserNey } from '../../../src/data/ccnet/lm/kneser-ney.js';
import { writeArpa } from '../../../src/data/ccnet/lm/arpa.js';
import { normalizeForLm } from '../../../src/data/ccnet/normalize.js';
import { PerplexityCutoffs } from '../../../src/data/ccnet/lm/perplexity.js';
import { ReferenceClassifier } from '../../../src/data/ccnet/quality.js';

async function collect(it: AsyncIterable<Doc>): Promise<Doc[]> {
  const out: Doc[] = [];
  for await (const d of it) out.push(d);
  return out;
}
const wet = () => collect(readWarcDocs('../shared/data/ccnet/sample.warc.txt', ignoreBadRecords));

test('langid stage labels the WET sample en / zh / ru with the committed fastText model', async () => {
  const report = new PipelineReport();
  const id = LanguageIdentifier.load('fixtures/ccnet/lid20-softmax.bin');
  const out = await collect(runStages(await wet(), [langIdStage({ identifier: id, threshold: 0.5 })], report));
  assert.deepEqual(out.map((d) => d.meta.language), ['en', 'zh', 'ru']);
  for (const d of out) assert.ok((d.meta.language_score as number) >= 0.5);
  const onlyEn = await collect(runStages(await wet(), [langIdStage({ identifier: id, languages: ['en'] })], report));
  assert.equal(onlyEn.length, 1);
  assert.equal(report.stages['ccnet-langid'].drops['language-not-kept'].docs, 2);
});

test('dedup stages: hashes pass then two-pass removal through the runner, drops counted', async () => {
  const docs = await wet();
  const copy: Doc = { ...docs[0], id: 'copy', text: docs[0].text }; // an exact copy: all its lines repeat
  const mixed: Doc = { ...docs[1], id: 'mixed', text: docs[1].text.split('\n').slice(0, 2).join('\n') + '\nunique line here' };
  const input = [...docs, copy, mixed];
  const dir = mkdtempSync(join(tmpdir(), 'ccnet-stage-'));
  try {
    const report = new PipelineReport();
    await collect(runStages(input, [lineHashStage({ dir })], report));
    const out = await collect(runStages(input, [lineDedupStage({ hashDir: dir })], report));
    // docs[0] and its copy share every line → both dropped; mixed keeps only its unique line.
    assert.deepEqual(out.map((d) => d.id), [docs[1].id, docs[2].id, 'mixed']);
    assert.equal(out[2].text, 'unique line here');
    assert.equal(out[2].meta.original_nlines, 3);
    assert.equal(report.stages['ccnet-dedup'].drops['duplicate-lines'].docs, 2);
    assert.ok(report.stages['ccnet-dedup'].bytesOut < report.stages['ccnet-dedup'].bytesIn);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('perplexity stage: meta.perplexity and bucket from cutoff.csv; other languages → all', async () => {
  const sentences = readFileSync('../shared/data/tinyshakespeare/input.txt', 'utf8').split('\n').slice(0, 5000)
    .map((l) => normalizeForLm(l).split(/\s+/).filter(Boolean)).filter((s) => s.length > 0);
  const { model } = estimateKneserNey(sentences, { order: 3 });
  const cutoffs = PerplexityCutoffs.load('../shared/data/ccnet/cutoff.csv');
  const docs: Doc[] = [
    { id: 'a', text: 'First Citizen:\nBefore we proceed any further, hear me speak.', source: 'cc', meta: { language: 'en' } },
    { id: 'b', text: 'Quantum chromodynamics lattice regularization eigenvalues', source: 'cc', meta: { language: 'en' } },
    { id: 'c', text: 'Bonjour tout le monde', source: 'cc', meta: { language: 'fr' } },
  ];
  const report = new PipelineReport();
  const out = await collect(runStages(docs, [perplexityStage({ models: new Map([['en', model]]), cutoffs, dropBuckets: ['tail'] })], report));
  const [en30, en60] = cutoffs.cutoffs('en')!;
  const a = out.find((d) => d.id === 'a')!;
  assert.ok((a.meta.perplexity as number) < en30, `in-domain text is head: ${a.meta.perplexity}`);
  assert.equal(a.meta.bucket, 'head');
  assert.equal(out.find((d) => d.id === 'c')!.meta.bucket, 'all');
  assert.equal(out.find((d) => d.id === 'b'), undefined, 'out-of-domain text is tail and dropped');
  assert.ok(en60 > en30);
  assert.equal(report.stages['ccnet-perplexity'].drops['perplexity-bucket'].docs, 1);
});

test('Wikipedia-reference classifier: held-out accuracy on wiki articles vs crawl pages, quality stage', async () => {
  const wiki = await collect(readMediaWikiDocs('../shared/data/wikipedia_xml/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml', ignoreBadRecords));
  const pos = wiki.map((d) => wikitextToText(d.text)).filter((t) => t.length > 500);
  const neg: string[] = [];
  for (const f of ['dolma_warc/sample-0000.warc.gz', 'dolma_warc/sample-0001.warc.gz', 'ccnet/sample.warc.txt']) {
    for (const d of await collect(readWarcDocs(`../shared/data/${f}`, ignoreBadRecords))) neg.push(d.text);
  }
  assert.ok(pos.length >= 80 && neg.length >= 30);
  const split = (a: string[]) => [a.filter((_, i) => i % 4 !== 3), a.filter((_, i) => i % 4 === 3)];
  const [posTrain, posTest] = split(pos), [negTrain, negTest] = split(neg);
  const clf = ReferenceClassifier.train(posTrain, negTrain, { lr: 2, epoch: 10 });
  const correct = posTest.filter((t) => clf.score(t) >= 0.5).length + negTest.filter((t) => clf.score(t) < 0.5).length;
  const acc = correct / (posTest.length + negTest.length);
  assert.ok(acc >= 0.9, `held-out accuracy ${acc}`);

  // as a stage, loaded back from a fastText file
  const dir = mkdtempSync(join(tmpdir(), 'ccnet-q-'));
  try {
    const report = new PipelineReport();
    const docs: Doc[] = [...posTest.slice(0, 5), ...negTest.slice(0, 5)].map((text, i) => ({ id: String(i), text, source: 'cc', meta: {} }));
    const out = await collect(runStages(docs, [qualityStage({ classifier: clf, threshold: 0.5 })], report));
    assert.ok(out.length >= 4 && out.length <= 6, `kept ${out.length}`);
    for (const d of out) assert.ok((d.meta.quality_score as number) >= 0.5);
    assert.ok(report.stages['ccnet-quality'].drops['not-reference-like'].docs >= 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stage factories (pipeline config) validate their options', () => {
  assert.deepEqual(Object.keys(stages).sort(), ['ccnet-dedup', 'ccnet-hashes', 'ccnet-langid', 'ccnet-perplexity', 'ccnet-quality']);
  assert.equal(stages['ccnet-dedup'].global, true);
  assert.throws(() => stages['ccnet-langid'].create({}), /ccnet-langid: option "model" must be a non-empty string/);
  assert.throws(() => stages['ccnet-langid'].create({ model: 'fixtures/ccnet/lid20-hs.bin', threshold: 'high' }), /option "threshold" must be a number/);
  assert.throws(() => stages['ccnet-perplexity'].create({ models: 'x' }), /"models" must map language/);
  const dir = mkdtempSync(join(tmpdir(), 'ccnet-f-'));
  try {
    const { model } = estimateKneserNey([['a', 'b'], ['a', 'b'], ['b', 'a']], { order: 2, discountFallback: [0.5, 1, 1.5] });
    writeArpa(model, join(dir, 'en.arpa'));
    assert.throws(() => stages['ccnet-perplexity'].create({ models: { en: join(dir, 'en.arpa') }, dropBuckets: ['worst'] }), /unknown bucket "worst"/);
    const st = stages['ccnet-perplexity'].create({ models: { en: join(dir, 'en.arpa') }, cutoffs: '../shared/data/ccnet/cutoff.csv' });
    assert.equal(st.name, 'ccnet-perplexity');
    assert.throws(() => stages['ccnet-dedup'].create({ hashDir: join(dir, 'none') }), /cannot read hashDir .*run the ccnet-hashes stage first/);
    assert.throws(() => stages['ccnet-dedup'].create({ hashDir: dir }), /no \.bin hash files in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('perplexity stage from config with a SentencePiece tokenizer (CCNet scores pieces)', async () => {
  const { SentencePieceTokenizer } = await import('../../../src/tokenizer/index.js');
  const sp = SentencePieceTokenizer.load('../shared/data/tokenizer/tokenizer.model');
  const lines = readFileSync('../shared/data/tinyshakespeare/input.txt', 'utf8').split('\n').slice(0, 3000).map(normalizeForLm).filter((l) => l.length > 0);
  const { model } = estimateKneserNey(lines.map((l) => sp.encodeAsPieces(l)), { order: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'ccnet-sp-'));
  try {
    writeArpa(model, join(dir, 'en.arpa'));
    const st = stages['ccnet-perplexity'].create({ models: { en: join(dir, 'en.arpa') }, tokenizer: '../shared/data/tokenizer/tokenizer.model', cutoffs: '../shared/data/ccnet/cutoff.csv' });
    const inDomain = st.process({ id: 'a', text: 'First Citizen:\nWe are accounted poor citizens.', source: 'cc', meta: { language: 'en' } }) as Doc;
    const outDomain = st.process({ id: 'b', text: 'Kubernetes pods autoscale via HPA metrics.', source: 'cc', meta: { language: 'en' } }) as Doc;
    assert.ok((inDomain.meta.perplexity as number) < (outDomain.meta.perplexity as number));
    // the stage's number is CCNet's: pieces of each normalized line, </s> per line
    const pieces = ['first citizen:', 'we are accounted poor citizens.'].map((l) => sp.encodeAsPieces(l));
    const logp = pieces.reduce((s, p) => s + model.scoreTokens(p), 0);
    const len = pieces.reduce((s, p) => s + p.length + 1, 0);
    assert.ok(Math.abs((inDomain.meta.perplexity as number) - Math.round(10 ** (-logp / len) * 10) / 10) <= 0.1 + 1e-9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
