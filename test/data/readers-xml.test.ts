import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMediaWikiDocs } from '../../src/data/readers/mediawiki.js';
import { readStackExchangeDocs, parseTags } from '../../src/data/readers/stackexchange.js';
import { CollectSink, SHARED, collect, tempDir } from './helpers.js';

const WIKI = join(SHARED, 'wikipedia_xml/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml');

test('MediaWiki dump: 206 pages, 100 redirects, one outside the article namespace', async () => {
  const sink = new CollectSink();
  const pages = await collect(readMediaWikiDocs(WIKI, sink));
  assert.equal(pages.length, 206);
  assert.equal(pages.filter((p) => p.meta.redirect !== undefined).length, 100);
  assert.equal(pages.filter((p) => p.meta.ns !== 0).length, 1);
  assert.deepEqual(sink.records, []);
  const anarchism = pages.find((p) => p.meta.title === 'Anarchism')!;
  assert.equal(anarchism.id, 'enwiki:12');
  assert.equal(anarchism.meta.lang, 'en');
  assert.ok(anarchism.text.includes("'''Anarchism''' is a [[political philosophy]]"));
});

test('MediaWiki dump cut in the middle: pages before the damage are kept, the error counted', async (t) => {
  const dir = tempDir(t);
  const text = readFileSync(WIKI, 'utf8');
  const cut = join(dir, 'cut.xml');
  // Cut inside the 50th page and append junk that breaks well-formedness.
  const at = text.split('<page>').slice(0, 50).join('<page>').length + 200;
  writeFileSync(cut, text.slice(0, at) + '</text></page><<<>>>');
  const sink = new CollectSink();
  const pages = await collect(readMediaWikiDocs(cut, sink));
  assert.equal(pages.length, 49, 'the 49 complete pages before the cut');
  assert.ok(sink.reasons().includes('xml-parse-error'), JSON.stringify(sink.records));
  assert.ok(sink.records[0]!.where.includes('line '), 'the position is reported');
});

test('StackExchange Posts.xml: one document per question, answers sorted by score', async () => {
  const sink = new CollectSink();
  const old = await collect(readStackExchangeDocs(join(SHARED, 'stackexchange/Posts.stat4decision-2017.xml'), sink, 'datascience.meta'));
  const recent = await collect(readStackExchangeDocs(join(SHARED, 'stackexchange/Posts.ArleneDcosta-2024.xml'), sink));
  assert.equal(old.length, 95);
  assert.equal(recent.length, 257);
  assert.equal(old.reduce((a, d) => a + (d.meta.answers as number), 0), 152);
  for (const d of [...old, ...recent]) {
    const scores = d.meta.answerScores as number[];
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a), `answers of ${d.id} by score`);
    assert.ok(d.text.startsWith('Q: '));
    assert.equal((d.text.match(/\n\nA: /g) ?? []).length, scores.length);
    assert.ok(!/<\/?(?:p|code|a|blockquote)\b/.test(d.text), `HTML left in ${d.id}`);
  }
  assert.deepEqual(old[0]!.meta.tags, ['discussion', 'scope']);
  assert.equal(old[0]!.id, 'datascience.meta:1');
});

test('StackExchange with a small memory bound: bucketed grouping gives the same documents', async () => {
  const path = join(SHARED, 'stackexchange/Posts.ArleneDcosta-2024.xml');
  const inMemory = await collect(readStackExchangeDocs(path, new CollectSink()));
  const sink = new CollectSink();
  const bucketed = await collect(readStackExchangeDocs(path, sink, 'stackexchange', 'stackexchange', { bucketBytes: 100_000 }));
  assert.equal(bucketed.length, inMemory.length);
  const byId = (ds: typeof inMemory) => new Map(ds.map((d) => [d.id, d]));
  assert.deepEqual(byId(bucketed), byId(inMemory));
  assert.notDeepEqual(bucketed.map((d) => d.id), inMemory.map((d) => d.id), 'order is per bucket');
  assert.deepEqual(sink.records, []);
});

test('StackExchange: answer order, orphans and broken XML, on a hand-made file', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'Posts.xml');
  writeFileSync(p, `<?xml version="1.0" encoding="utf-8"?>
<posts>
  <row Id="1" PostTypeId="1" Score="3" Title="Why?" Body="&lt;p&gt;Question &amp;amp; body&lt;/p&gt;" Tags="|a|b|" />
  <row Id="2" PostTypeId="2" ParentId="1" Score="1" Body="&lt;p&gt;low&lt;/p&gt;" />
  <row Id="3" PostTypeId="2" ParentId="1" Score="10" Body="&lt;p&gt;high&lt;/p&gt;" />
  <row Id="4" PostTypeId="2" ParentId="1" Score="10" Body="&lt;p&gt;high, later id&lt;/p&gt;" />
  <row Id="5" PostTypeId="2" ParentId="99" Score="2" Body="orphan" />
  <row Id="6" PostTypeId="5" Body="tag wiki" />
  <row Id="7" PostTypeId="1" Score="0" Title="Second" Body="x" />
  <row Id="8" PostTypeId="2" ParentId="7" Score="0" Body="unterminated attribute />
</posts>`);
  const sink = new CollectSink();
  const docs = await collect(readStackExchangeDocs(p, sink, 'site'));
  assert.equal(docs[0]!.text, 'Q: Why?\nQuestion & body\n\nA: high\n\nA: high, later id\n\nA: low');
  assert.deepEqual(docs[0]!.meta.tags, ['a', 'b']);
  assert.equal(docs[1]!.id, 'site:7');
  assert.ok(sink.reasons().includes('orphan-answers'));
  assert.ok(sink.reasons().includes('xml-parse-error'));
  assert.deepEqual(parseTags('<r><python-3.x>'), ['r', 'python-3.x']);
});
