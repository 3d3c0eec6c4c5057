import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonlDocs } from '../../src/data/readers/jsonl.js';
import { ShardedJsonlWriter } from '../../src/data/io/jsonl-writer.js';
import { CollectSink, FIXTURES, collect, doc, tempDir } from './helpers.js';

// Fixtures made by scripts/fixtures/data/make-compressed.sh with the gzip and zstd tools.
const COMPLETE = ['docs.jsonl', 'docs.jsonl.gz', 'docs.jsonl.zst', 'docs-multi.jsonl.gz', 'docs-multi.jsonl.zst'];

test('plain, gzip, zstd, multi-member gzip and multi-frame zstd give the same 39 documents', async () => {
  let reference: string[] | null = null;
  for (const f of COMPLETE) {
    const sink = new CollectSink();
    const docs = await collect(readJsonlDocs(join(FIXTURES, f), sink, { source: 'c4' }));
    assert.equal(docs.length, 39, f);
    assert.deepEqual(sink.reasons(), ['missing-text-field'], f);
    assert.equal(sink.records[0]!.where.endsWith('line 14'), true);
    const d7 = docs.find((d) => d.id === 'd07')!;
    assert.equal(d7.text, 'Zoë’s naïve café — record 7.');
    assert.equal(d7.meta.lang, 'en');
    assert.equal(d7.source, 'c4');
    const texts = docs.map((d) => d.text);
    if (reference) assert.deepEqual(texts, reference, f);
    reference = texts;
  }
});

test('truncated gzip / zstd: every complete record before the cut is kept, the cut is counted', async () => {
  for (const [f, minDocs] of [['docs-truncated.jsonl.gz', 19], ['docs-truncated.jsonl.zst', 19]] as const) {
    const sink = new CollectSink();
    const docs = await collect(readJsonlDocs(join(FIXTURES, f), sink));
    assert.ok(docs.length >= minDocs && docs.length < 39, `${f}: ${docs.length}`);
    assert.deepEqual(docs.map((d) => d.id), Array.from({ length: 40 }, (_, i) => `d${String(i).padStart(2, '0')}`).filter((id) => id !== 'd13').slice(0, docs.length));
    assert.ok(sink.reasons().includes('truncated-compressed-stream'), `${f}: ${JSON.stringify(sink.records)}`);
  }
});

test('bad lines are skipped with a reason and position; good ones kept', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'bad.jsonl');
  writeFileSync(path, Buffer.concat([
    Buffer.from('{"id":1,"text":"one"}\n'),
    Buffer.from('{"id":2,"text":"two"\n'), // unterminated object
    Buffer.from('[1,2,3]\n'),
    Buffer.from('{"id":4,"text":5}\n'),
    Buffer.from('{"id":5,"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n'), // invalid UTF-8
    Buffer.from('\n'),
    Buffer.from('{"text":"no id"}\r\n'),
  ]));
  const sink = new CollectSink();
  const docs = await collect(readJsonlDocs(path, sink));
  assert.deepEqual(docs.map((d) => [d.id, d.text]), [['1', 'one'], ['bad.jsonl:7', 'no id']]);
  assert.deepEqual(sink.records.map((r) => [r.reason, r.where.split(' ').slice(1).join(' ')]), [
    ['bad-json', 'line 2'], ['bad-json', 'line 3'], ['missing-text-field', 'line 4'], ['invalid-utf8', 'line 5'],
  ]);
});

test('sharded writer: rolls over by document count, atomic names, round-trips through the reader', async (t) => {
  const dir = tempDir(t);
  const w = new ShardedJsonlWriter({ dir, prefix: 'part', maxDocs: 3 });
  for (let i = 0; i < 7; i++) await w.write({ ...doc(`text ${i} ✓`, { n: i }, `id${i}`), source: 'books' });
  const shards = await w.close();
  assert.deepEqual(shards.map((s) => s.slice(dir.length + 1)), ['part-00000.jsonl.gz', 'part-00001.jsonl.gz', 'part-00002.jsonl.gz']);
  const back = [];
  for (const s of shards) back.push(...(await collect(readJsonlDocs(s, new CollectSink()))));
  assert.deepEqual(back.map((d) => [d.id, d.text, d.source, d.meta.n]), Array.from({ length: 7 }, (_, i) => [`id${i}`, `text ${i} ✓`, 'books', i]));
});

test('sharded writer: abort leaves no temporary file and no partial shard', async (t) => {
  const dir = tempDir(t);
  const w = new ShardedJsonlWriter({ dir, prefix: 'p', maxDocs: 100, gzip: false });
  await w.write(doc('x'));
  await w.abort();
  const { readdirSync } = await import('node:fs');
  assert.deepEqual(readdirSync(dir), []);
});

test('lines and records far larger than a read chunk come through intact', async (t) => {
  const dir = tempDir(t);
  const { gzipSync } = await import('node:zlib');
  const big = 'ü'.repeat(1_500_000) + '\r'; // 3 MB of UTF-8, CR kept inside the JSON string
  const path = join(dir, 'big.jsonl.gz');
  writeFileSync(path, gzipSync(JSON.stringify({ id: 'big', text: big }) + '\r\n' + JSON.stringify({ id: 'small', text: 'x' }) + '\n'));
  const docs = await collect(readJsonlDocs(path, new CollectSink()));
  assert.deepEqual(docs.map((d) => [d.id, d.text.length]), [['big', big.length], ['small', 1]]);
  const { readWarcDocs } = await import('../../src/data/readers/warc.js');
  const body = 'line of text\n'.repeat(200_000); // 2.6 MB
  const warc = join(dir, 'big.warc');
  writeFileSync(warc, `WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}\r\n\r\nWARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 4\r\n\r\nlast\r\n\r\n`);
  const pages = await collect(readWarcDocs(warc, new CollectSink()));
  assert.deepEqual(pages.map((p) => p.text.length), [body.trimEnd().length, 4]);
});
