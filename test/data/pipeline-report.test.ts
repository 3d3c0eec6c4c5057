import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stage } from '../../src/data/document.js';
import { drop } from '../../src/data/document.js';
import { runStages } from '../../src/data/pipeline.js';
import { PipelineReport, SAMPLES_PER_REASON } from '../../src/data/report.js';
import { readMediaWikiDocs } from '../../src/data/readers/mediawiki.js';
import { CollectSink, collect, doc, tempDir } from './helpers.js';

const upper: Stage = { name: 'upper', process: (d) => ({ ...d, text: d.text.toUpperCase() }) };
const short: Stage = { name: 'short', process: (d) => (d.text.length < 4 ? drop('too-short', `${d.text.length} chars`) : d) };
const nulls: Stage = { name: 'no-x', process: (d) => (d.text.includes('X') ? null : d) };
const throws: Stage = { name: 'fragile', process: (d) => { if (d.text === 'BOOM') throw new Error('kaboom'); return d; } };
const asyncStage: Stage = { name: 'async', process: async (d) => ({ ...d, meta: { ...d.meta, seen: true } }) };

test('stages run in order; drops, null drops and thrown errors are counted, never fatal', async () => {
  const report = new PipelineReport();
  const input = ['ok', 'fine words', 'xylophone', 'boom', 'éé', 'another one', 'a', 'b', 'c', 'd'].map((t, i) => doc(t, {}, `d${i}`));
  const out = await collect(runStages(input, [upper, short, nulls, throws, asyncStage], report));
  assert.deepEqual(out.map((d) => d.text), ['FINE WORDS', 'ANOTHER ONE']);
  assert.ok(out.every((d) => d.meta.seen === true));
  const s = report.stages;
  assert.deepEqual(Object.keys(s), ['upper', 'short', 'no-x', 'fragile', 'async']);
  assert.equal(s.upper!.docsIn, 10);
  assert.equal(s.short!.drops['too-short']!.docs, 6);
  assert.equal(s.short!.drops['too-short']!.samples.length, SAMPLES_PER_REASON);
  assert.deepEqual(s.short!.drops['too-short']!.samples[0], { id: 'd0', detail: '2 chars', excerpt: 'OK' });
  assert.equal(s['no-x']!.drops['no-x']!.docs, 1, 'null counts under the stage name');
  assert.deepEqual(s.fragile!.drops['stage-error']!.samples[0]!.detail, 'kaboom');
  // Bytes are UTF-8 bytes: "éé" is 4 bytes.
  assert.equal(s.short!.drops['too-short']!.bytes, 2 + 4 + 1 + 1 + 1 + 1);
  assert.equal(s.async!.bytesOut, 'FINE WORDS'.length + 'ANOTHER ONE'.length);
});

test('reports merge (workers, shards) and print a table', () => {
  const a = new PipelineReport();
  const b = new PipelineReport();
  a.read('warc', doc('abc'));
  a.bad('warc', { reason: 'truncated-warc-record', where: 'f byte 9' });
  a.countIn('c4', 10);
  a.countOut('c4', 5);
  b.countIn('c4', 10);
  b.countDrop('c4', 'bad-words', doc('x'), 10, 'matched "x"');
  b.bad('warc', { reason: 'truncated-warc-record', where: 'g byte 1' });
  const m = PipelineReport.fromJSON(a.toJSON()).merge(b);
  assert.equal(m.stages.c4!.docsIn, 2);
  assert.equal(m.stages.c4!.drops['bad-words']!.docs, 1);
  assert.equal(m.readers.warc!.bad['truncated-warc-record']!.count, 2);
  assert.deepEqual(m.readers.warc!.bad['truncated-warc-record']!.samples.map((x) => x.where), ['f byte 9', 'g byte 1']);
  const table = m.toTable();
  assert.match(table, /^step\s+docs in\s+docs out\s+MB in\s+MB out\s+kept\s+MB\/s$/m);
  assert.match(table, /^c4\s+2\s+1\s+0\.00\s+0\.00\s+25\.0%/m);
  assert.match(table, /✗ bad-words\s+1/);
  assert.match(table, /✗ truncated-warc-record\s+2/);
});

test('XML with invalid UTF-8 bytes: pages kept with U+FFFD, the damage reported', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'w.xml');
  const page = (id: number, body: Buffer) => Buffer.concat([Buffer.from(`<page><title>T${id}</title><ns>0</ns><id>${id}</id><revision><text>`), body, Buffer.from('</text></revision></page>\n')]);
  writeFileSync(p, Buffer.concat([
    Buffer.from('<mediawiki xml:lang="de">\n'),
    page(1, Buffer.from('gut')),
    page(2, Buffer.concat([Buffer.from('bad '), Buffer.from([0xff]), Buffer.from(' byte')])),
    page(3, Buffer.from('Legit \uFFFD replacement char')),
    Buffer.from('</mediawiki>'),
  ]));
  const sink = new CollectSink();
  const pages = await collect(readMediaWikiDocs(p, sink));
  assert.deepEqual(pages.map((x) => x.text), ['gut', 'bad \uFFFD byte', 'Legit \uFFFD replacement char']);
  assert.deepEqual(pages.map((x) => x.meta.lang), ['de', 'de', 'de']);
  assert.deepEqual(sink.reasons(), ['invalid-utf8-replaced']);
  assert.match(sink.records[0]!.detail!, /^1 invalid byte/);
});
