import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readWarcDocs, readWarcRecords, dechunk, parseHttpResponse } from '../../src/data/readers/warc.js';
import { htmlToText } from '../../src/data/readers/html-text.js';
import { CollectSink, FIXTURES, SHARED, collect, tempDir } from './helpers.js';

function record(type: string, body: string, extra = ''): string {
  const len = Buffer.byteLength(body);
  return `WARC/1.0\r\nWARC-Type: ${type}\r\nWARC-Target-URI: http://example.com/${type}\r\nWARC-Record-ID: <urn:uuid:${type}-${len}>\r\n${extra}Content-Length: ${len}\r\n\r\n${body}\r\n\r\n`;
}

test('WET sample from CCNet: three conversion records, text intact despite wrong Content-Lengths', async () => {
  const sink = new CollectSink();
  const docs = await collect(readWarcDocs(join(SHARED, 'ccnet/sample.warc.txt'), sink));
  assert.equal(docs.length, 3);
  assert.deepEqual(docs.map((d) => d.meta.url), ['http://sample_english.com', 'http://sample_chinese.zh', 'http://sample_russian.ru']);
  assert.ok(docs[0]!.text.startsWith('Famous Mark Twain Quotes\nDon\'t part with your illusions.'));
  // The Chinese record's Content-Length counts characters, not bytes: the rest was recovered.
  assert.ok(docs[1]!.text.endsWith('隱藏其知識的巨大限制。') || docs[1]!.text.includes('教育'), docs[1]!.text);
  assert.ok(!docs.some((d) => d.text.includes('WARC/1.0')), 'no header text leaks into a document');
  assert.ok(sink.reasons().every((r) => r === 'content-length-mismatch-repaired'));
  // Ids are unique even though two records share a WARC-Record-ID in this sample.
  assert.equal(new Set(docs.map((d) => d.id)).size, 3);
});

test('dolma WARC samples: gzip per record, HTML responses → text, chunked bodies decoded', async () => {
  // Counts and URLs from an independent Python walk (scripts/fixtures/data/warc_counts.py).
  const ref = JSON.parse(readFileSync(join(FIXTURES, 'warc-counts.json'), 'utf8')) as Record<string, { records: number; htmlResponses: number; urls: string[] }>;
  const sink = new CollectSink();
  const a = await collect(readWarcDocs(join(SHARED, 'dolma_warc/sample-0000.warc.gz'), sink));
  const b = await collect(readWarcDocs(join(SHARED, 'dolma_warc/sample-0001.warc.gz'), sink));
  assert.equal(a.length, ref['sample-0000']!.htmlResponses);
  assert.equal(b.length, ref['sample-0001']!.htmlResponses);
  assert.deepEqual(a.map((d) => d.meta.url), ref['sample-0000']!.urls);
  assert.deepEqual(b.map((d) => d.meta.url), ref['sample-0001']!.urls);
  assert.equal((await collect(readWarcRecords(join(SHARED, 'dolma_warc/sample-0001.warc.gz'), sink))).length, ref['sample-0001']!.records);
  assert.deepEqual(sink.records, []);
  const weld = a.find((d) => d.meta.url === 'https://www.cs.washington.edu/people/faculty/weld')!;
  assert.ok(weld.text.startsWith('Dan Weld | Paul G. Allen School'));
  for (const d of [...a, ...b]) {
    assert.ok(!/<\/?(?:div|script|p|a)\b/i.test(d.text), `markup left in ${d.meta.url}`);
    // Chunk-size lines of chunked transfer encoding ("6a43") must not appear as text.
    assert.ok(!/^[0-9a-f]{3,5}$/m.test(d.text.split('\n').slice(1, 3).join('\n')), `chunk size in ${d.meta.url}`);
  }
  const records = await collect(readWarcRecords(join(SHARED, 'dolma_warc/sample-0000.warc.gz'), sink));
  const types = new Map<string, number>();
  for (const r of records) types.set(r.headers.get('warc-type')!, (types.get(r.headers.get('warc-type')!) ?? 0) + 1);
  assert.equal(records.length, ref['sample-0000']!.records);
  assert.equal(types.get('warcinfo'), 1);
  assert.ok((types.get('response') ?? 0) >= 22);
});

test('truncated gzip WARC: records before the cut are kept, the cut is counted', async (t) => {
  const dir = tempDir(t);
  const whole = readFileSync(join(SHARED, 'dolma_warc/sample-0000.warc.gz'));
  const path = join(dir, 'cut.warc.gz');
  writeFileSync(path, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const sink = new CollectSink();
  const docs = await collect(readWarcDocs(path, sink));
  assert.ok(docs.length >= 5 && docs.length < 22, `${docs.length} docs`);
  assert.ok(sink.reasons().includes('truncated-compressed-stream'), JSON.stringify(sink.records));
  const full = await collect(readWarcDocs(join(SHARED, 'dolma_warc/sample-0000.warc.gz'), new CollectSink()));
  assert.deepEqual(docs.map((d) => d.text), full.slice(0, docs.length).map((d) => d.text), 'kept records are identical to the intact file');
});

test('malformed records are skipped by resynchronising; invalid UTF-8 is counted; good records survive', async (t) => {
  const dir = tempDir(t);
  const good1 = record('conversion', 'First good page.\nWith two lines.');
  const garbage = 'this is not a warc header\r\nnor is this\r\n\r\n';
  const noLength = 'WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: twelve\r\n\r\nbroken body\r\n\r\n';
  const badUtf8Body = Buffer.concat([Buffer.from('bad bytes: '), Buffer.from([0xff, 0xfe, 0x41])]);
  const badUtf8 = Buffer.concat([Buffer.from(`WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:x>\r\nContent-Length: ${badUtf8Body.length}\r\n\r\n`), badUtf8Body, Buffer.from('\r\n\r\n')]);
  const good2 = record('conversion', 'Second good page.');
  const path = join(dir, 'mixed.warc');
  writeFileSync(path, Buffer.concat([Buffer.from(good1 + garbage + noLength), badUtf8, Buffer.from(good2)]));
  const sink = new CollectSink();
  const docs = await collect(readWarcDocs(path, sink));
  assert.deepEqual(docs.map((d) => d.text), ['First good page.\nWith two lines.', 'Second good page.']);
  assert.deepEqual(sink.reasons().sort(), ['invalid-utf8', 'malformed-warc-record', 'malformed-warc-record'].sort());
  // The same file as concatenated gzip members (one per record, as CommonCrawl writes them).
  const gzPath = join(dir, 'mixed.warc.gz');
  writeFileSync(gzPath, Buffer.concat([gzipSync(good1), gzipSync(good2)]));
  assert.deepEqual((await collect(readWarcDocs(gzPath, new CollectSink()))).map((d) => d.text), ['First good page.\nWith two lines.', 'Second good page.']);
});

test('a record cut at end of file is reported as truncated', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'short.warc');
  const full = record('conversion', 'Complete page.') + record('conversion', 'This body is longer than what remains.');
  writeFileSync(path, full.slice(0, full.length - 20));
  const sink = new CollectSink();
  const docs = await collect(readWarcDocs(path, sink));
  assert.deepEqual(docs.map((d) => d.text), ['Complete page.']);
  assert.deepEqual(sink.reasons(), ['truncated-warc-record']);
});

test('HTTP parsing: chunked transfer encoding and charset', () => {
  assert.equal(dechunk(Buffer.from('5\r\nHello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n')).toString(), 'Hello, world');
  const r = parseHttpResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=iso-8859-1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'))!;
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'abc');
  assert.equal(parseHttpResponse(Buffer.from('not http at all')), null);
});

test('HTML → text: title first, one line per block, scripts dropped, entities decoded', () => {
  const html = `<html><head><title> My  Page </title><style>p{color:red}</style><script>var x = "<p>no</p>";</script></head>
  <body><h1>Heading</h1><p>First &amp; <b>bold</b>
  paragraph.</p><ul><li>one</li><li>two&nbsp;items</li></ul><noscript>enable js</noscript><div>a<br>b</div></body></html>`;
  assert.equal(htmlToText(html), 'My Page\nHeading\nFirst & bold paragraph.\none\ntwo items\na\nb');
});

test('a corrupt gzip member in the middle costs only its record; decoding resumes at the next member', async (t) => {
  const dir = tempDir(t);
  const { gzipSync } = await import('node:zlib');
  const bodies = Array.from({ length: 12 }, (_, i) => `Page ${i} text. `.repeat(40 + i));
  const members = bodies.map((b) => gzipSync(record('conversion', b)));
  const sizes = members.map((m) => m.length);
  const at = (k: number) => sizes.slice(0, k).reduce((a, b) => a + b, 0);
  // 1: garbage inside the deflate data of member 4; 2: only the CRC of member 8 is wrong.
  const file = Buffer.concat(members);
  for (let i = 20; i < 40; i++) file[at(4) + i] ^= 0x5a;
  file[at(9) - 8] ^= 0xff; // CRC-32 field of member 8 (8 bytes before its end)
  const path = join(dir, 'damaged.warc.gz');
  writeFileSync(path, file);
  const sink = new CollectSink();
  const docs = await collect(readWarcDocs(path, sink));
  assert.deepEqual(docs.map((d) => d.text), bodies.filter((_, i) => i !== 4 && i !== 8).map((b) => b.replace(/\s+$/, '')));
  assert.deepEqual(sink.reasons(), ['corrupt-compressed-member', 'corrupt-compressed-member']);
  assert.match(sink.records[0]!.detail!, new RegExp(`corrupt gzip member at byte ${at(4)} .*resumed at byte ${at(5)}`));
  assert.match(sink.records[1]!.detail!, new RegExp(`corrupt gzip member at byte ${at(8)} .*resumed at byte ${at(9)}`));
});

test('JSONL.gz with a corrupt middle member keeps the lines of the other members', async (t) => {
  const dir = tempDir(t);
  const { gzipSync } = await import('node:zlib');
  const { readJsonlDocs } = await import('../../src/data/readers/jsonl.js');
  const groups = [0, 1, 2].map((g) => Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: `g${g}-${i}`, text: `group ${g} line ${i} `.repeat(20) })).join('\n') + '\n');
  const members = groups.map((g) => gzipSync(g));
  const file = Buffer.concat(members);
  for (let i = 15; i < 30; i++) file[members[0]!.length + i] ^= 0x33;
  const path = join(dir, 'd.jsonl.gz');
  writeFileSync(path, file);
  const sink = new CollectSink();
  const docs = await collect(readJsonlDocs(path, sink));
  const ids = docs.map((d) => d.id);
  assert.deepEqual(ids.filter((id) => !id.startsWith('g1')), ['g0-0', 'g0-1', 'g0-2', 'g0-3', 'g0-4', 'g2-0', 'g2-1', 'g2-2', 'g2-3', 'g2-4']);
  assert.ok(sink.reasons().includes('corrupt-compressed-member'), JSON.stringify(sink.records));
});
