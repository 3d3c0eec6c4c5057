import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { wikipediaStage, wikitextToText, removeNested, replaceLinks, WIKI_LANGUAGES } from '../../src/data/filters/wikitext.js';
import * as wt from '../../src/data/filters/wikitext.js';
import { readMediaWikiDocs } from '../../src/data/readers/mediawiki.js';
import { CollectSink, SHARED, collect, doc } from './helpers.js';

test('markup rules on a hand-written article', () => {
  const wt = `{{Infobox person|name=Ada {{nowrap|Lovelace}}|born=1815}}
'''Ada Lovelace''' was an [[England|English]] [[mathematician]]s.<ref name="a">Cite {{cite web|url=x}}</ref><!-- hidden
comment --> She worked on the [[Analytical Engine]].<ref>Another.</ref>
[[File:Ada.jpg|thumb|Portrait of [[Ada Lovelace|Ada]]]]
== Early life ==
* Born in [[London#Marylebone|London]] &amp; raised by her mother.
# Numbered item.
{| class="wikitable"
|-
| cell || cell
|}
See [http://example.com the site] and [http://bare.example.com].
<math>x^2</math> Formula gone. <sup>1</sup> kept.
[[Category:Mathematicians]]
[[fr:Ada Lovelace]]
__NOTOC__`;
  assert.equal(wikitextToText(wt), [
    'Ada Lovelace was an English mathematicians. She worked on the Analytical Engine.',
    '',
    'Early life',
    'Born in London & raised by her mother.',
    'Numbered item.',
    'See the site and .',
    'Formula gone. 1 kept.',
  ].join('\n'));
});

test('inline text templates render their text; others vanish', () => {
  const { expandTemplates } = wt;
  assert.equal(expandTemplates('It is {{convert|5|km|mi}} long, {{nowrap|1 January}} in {{lang|fr|la belle époque}}.'), 'It is 5 km long, 1 January in la belle époque.');
  assert.equal(expandTemplates('From {{convert|5|to|10|km}} {{Citation needed|date=May 2020}}away.'), 'From 5 to 10 km away.');
  assert.equal(expandTemplates('{{Infobox|name={{nowrap|X}}|y=1}}Text {{lang-de|Haus}}.'), 'Text Haus.');
  assert.equal(expandTemplates('{{ill|Foo Bar|de|Foo}} and {{unclosed'), 'Foo Bar and ');
});

test('nested templates and links', () => {
  assert.equal(removeNested('a{{b{{c}}d}}e{{f}}g', '{{', '}}'), 'aeg');
  assert.equal(removeNested('keep {{never closed', '{{', '}}'), 'keep ');
  assert.equal(replaceLinks('[[a|b [[c]] d]] [[Category:X]] [[e]]s'), 'b c d  es');
});

test('stage drops: redirect, namespace, language, too short; keeps the 20 languages', () => {
  const s = wikipediaStage();
  const body = 'A sufficiently long article body about a topic. '.repeat(5);
  assert.equal(WIKI_LANGUAGES.size, 20);
  assert.deepEqual(s.process(doc('#REDIRECT [[X]]', { lang: 'en', ns: 0 })), { drop: 'redirect', detail: '' });
  assert.deepEqual(s.process(doc(body, { lang: 'en', ns: 4 })), { drop: 'namespace', detail: 'ns 4' });
  assert.deepEqual(s.process(doc(body, { lang: 'ja', ns: 0 })), { drop: 'language', detail: 'ja' });
  assert.equal((s.process(doc('{{stub}} Tiny.', { lang: 'de', ns: 0 })) as { drop: string }).drop, 'too-short');
  const kept = s.process(doc(body, { lang: 'uk', ns: 0, title: 'Тема' })) as { text: string };
  assert.ok(kept && !('drop' in kept));
  assert.ok(kept.text.startsWith('Тема\n\n'));
});

test('the enwiki sample: 106 articles kept, no markup survives', async () => {
  const s = wikipediaStage();
  const pages = await collect(readMediaWikiDocs(join(SHARED, 'wikipedia_xml/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.xml'), new CollectSink()));
  const kept = pages.map((p) => s.process(p)).filter((r) => r && !('drop' in r)) as { text: string }[];
  assert.equal(kept.length, 106, 'all 206 pages but the 100 redirects');
  for (const k of kept) {
    assert.ok(!/\[\[|\]\]|\{\{|\}\}|<ref|<!--|'''|\{\|/.test(k.text), k.text.slice(0, 200));
  }
  const anarchism = kept.find((k) => k.text.startsWith('Anarchism\n'))!;
  assert.ok(anarchism.text.includes('Anarchism is a political philosophy that advocates self-governed societies'));
});
