/**
 * The Wikipedia stage (paper §2: "we process the data to remove hyperlinks, comments and other
 * formatting boilerplate"; dumps of 20 languages). Wikitext → plain text:
 *   removed with their content: <!-- comments -->, <ref>…</ref> and <ref/>, templates {{…}}
 *   (nested) except the few inline ones that render text ({{nowrap|x}}, {{lang|fr|x}},
 *   {{convert|5|km}} → "5 km", see TEXT_TEMPLATES), tables {|…|}, <math>/<gallery>/<timeline>/<score>/<imagemap>
 *   elements, [[File:]]/[[Image:]]/[[Category:]] and interlanguage links, magic words (__TOC__);
 *   kept as text: link labels ([[target|label]] → label, [[target]] → target), external link
 *   labels ([http://x label] → label), heading titles, list items (markers removed), the content
 *   of other HTML tags; '''bold''' and ''italic'' quotes dropped; HTML entities decoded.
 * Drops: `redirect`, `namespace` (not the article namespace 0), `language` (not one of the 20),
 * `too-short` (under `minChars` after cleaning: stubs and disambiguation leftovers).
 */
import { decodeHTML } from 'entities';
import type { Doc, Stage, StageResult } from '../document.js';
import { drop } from '../document.js';

/** The paper's 20 Wikipedia languages (Latin or Cyrillic scripts). */
export const WIKI_LANGUAGES: ReadonlySet<string> = new Set(['bg', 'ca', 'cs', 'da', 'de', 'en', 'es', 'fr', 'hr', 'hu', 'it', 'nl', 'pl', 'pt', 'ro', 'ru', 'sl', 'sr', 'sv', 'uk']);

const DROP_LINK_NS = /^(?:file|image|category|media|datei|bild|kategorie|fichier|catégorie|archivo|categoría|imagen|immagine|categoria|bestand|categorie|plik|kategoria|arquivo|ficheiro|файл|категория|изображение|категорија|датотека|kategori|fil|soubor|kategorie|slika|kategorija|kép|kategória|fișier|categorie)\s*:/i;
const INTERLANG = /^:?[a-z]{2,3}(?:-[a-z]+)?\s*:/;
const DROP_ELEMENTS = ['ref', 'math', 'gallery', 'timeline', 'score', 'imagemap', 'references', 'chem', 'ce', 'graph', 'mapframe', 'templatedata', 'syntaxhighlight', 'source'];

/** Inline templates whose output is article text, and how to render them. */
const TEXT_TEMPLATES: Record<string, (pos: string[]) => string> = {
  nowrap: (a) => a[0] ?? '',
  nobr: (a) => a[0] ?? '',
  small: (a) => a[0] ?? '',
  big: (a) => a[0] ?? '',
  smallcaps: (a) => a[0] ?? '',
  lang: (a) => a[1] ?? '',
  ill: (a) => a[0] ?? '',
  'interlanguage link': (a) => a[0] ?? '',
  convert: (a) => (['to', 'and', '-', '–', 'or'].includes(a[1] ?? '') ? `${a[0]} ${a[1]} ${a[2]} ${a[3] ?? ''}` : `${a[0] ?? ''} ${a[1] ?? ''}`).trim(),
  cvt: (a) => `${a[0] ?? ''} ${a[1] ?? ''}`.trim(),
};

/** Splits a template body on "|" outside [[links]] (whose labels use "|" too). */
function splitTemplateArgs(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < body.length; i++) {
    if (body.startsWith('[[', i)) {
      depth++;
      i++;
    } else if (depth > 0 && body.startsWith(']]', i)) {
      depth--;
      i++;
    } else if (depth === 0 && body[i] === '|') {
      out.push(body.slice(from, i));
      from = i + 1;
    }
  }
  out.push(body.slice(from));
  return out;
}

/**
 * Replaces templates from the innermost out: the few that render article text (TEXT_TEMPLATES:
 * {{nowrap|…}}, {{lang|fr|…}}, {{convert|5|km}} …) become that text, all others (infoboxes,
 * citations, navigation) disappear. Unbalanced leftovers are removed by removeNested.
 */
export function expandTemplates(text: string): string {
  const innermost = /\{\{([^{}]*)\}\}/g;
  for (let pass = 0; pass < 50 && text.includes('{{'); pass++) {
    const next = text.replace(innermost, (_w, body: string) => {
      const parts = splitTemplateArgs(body);
      const name = parts[0]!.trim().toLowerCase().replace(/_/g, ' ');
      const render = TEXT_TEMPLATES[name] ?? (name.startsWith('lang-') ? (a: string[]) => a[0] ?? '' : null);
      return render ? render(parts.slice(1).filter((x) => !/^\s*[\w -]+\s*=/.test(x)).map((x) => x.trim())) : '';
    });
    if (next === text) break;
    text = next;
  }
  return removeNested(text, '{{', '}}');
}

/** Removes balanced `open…close` spans (nesting counted), e.g. {{ }} and {| |}. */
export function removeNested(text: string, open: string, close: string): string {
  let out = '';
  let depth = 0;
  let i = 0;
  let from = 0;
  while (i < text.length) {
    if (text.startsWith(open, i)) {
      if (depth === 0) out += text.slice(from, i);
      depth++;
      i += open.length;
    } else if (depth > 0 && text.startsWith(close, i)) {
      depth--;
      i += close.length;
      if (depth === 0) from = i;
    } else i++;
  }
  // An unclosed opener swallows the rest, as MediaWiki would render it broken; keep the text
  // before it only.
  return depth > 0 ? out : out + text.slice(from);
}

/** Removes {| … |} tables, which open and close at line starts. */
export function removeTables(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let depth = 0;
  for (const line of lines) {
    const t = line.trimStart();
    if (t.startsWith('{|')) depth++;
    else if (depth > 0 && t.startsWith('|}')) {
      depth--;
      continue;
    }
    if (depth === 0) out.push(line);
  }
  return out.join('\n');
}

/** [[…]] links → their label, or nothing for files/categories/interlanguage links. */
export function replaceLinks(text: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const start = text.indexOf('[[', i);
    if (start < 0) break;
    // Find the matching ]] (captions of [[File:…]] contain links themselves).
    let depth = 0;
    let j = start;
    let end = -1;
    while (j < text.length - 1) {
      if (text.startsWith('[[', j)) {
        depth++;
        j += 2;
      } else if (text.startsWith(']]', j)) {
        depth--;
        j += 2;
        if (depth === 0) {
          end = j;
          break;
        }
      } else j++;
    }
    if (end < 0) break;
    out += text.slice(i, start);
    const inner = text.slice(start + 2, end - 2);
    if (!DROP_LINK_NS.test(inner) && !INTERLANG.test(inner)) {
      const bar = inner.indexOf('|');
      const label = bar >= 0 ? inner.slice(bar + 1) : inner.replace(/#.*$/, '');
      out += replaceLinks(label);
    }
    i = end;
  }
  return out + text.slice(i);
}

export function wikitextToText(wikitext: string): string {
  let t = wikitext.replace(/<!--[\s\S]*?(?:-->|$)/g, '');
  for (const el of DROP_ELEMENTS) {
    t = t.replace(new RegExp(`<${el}\\b[^>]*/>`, 'gi'), '');
    t = t.replace(new RegExp(`<${el}\\b[^>]*>[\\s\\S]*?</${el}\\s*>`, 'gi'), '');
  }
  t = expandTemplates(t);
  t = removeTables(t);
  t = replaceLinks(t);
  // External links: [url label] → label; bare [url] → ''.
  t = t.replace(/\[(?:https?:|ftp:)?\/\/[^\s\]]+(?:\s+([^\]]*))?\]/g, (_w, label?: string) => label ?? '');
  t = t.replace(/<\/?[a-zA-Z][^>]*>/g, ''); // remaining tags: keep their content
  t = t.replace(/'{2,5}/g, '');
  t = t.replace(/__[A-Z]+__/g, '');
  const lines: string[] = [];
  for (let line of t.split('\n')) {
    const h = /^(=+)\s*(.*?)\s*\1\s*$/.exec(line);
    if (h) line = h[2]!;
    line = line.replace(/^[*#:;]+\s*/, '');
    line = decodeHTML(line).replace(/[ \t\u00a0]+/g, ' ').trim();
    if (line === '' && (lines.length === 0 || lines[lines.length - 1] === '')) continue;
    lines.push(line);
  }
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

export interface WikipediaOptions { languages?: ReadonlySet<string>; minChars?: number }

export function wikipediaStage(opts: WikipediaOptions = {}): Stage {
  const langs = opts.languages ?? WIKI_LANGUAGES;
  const minChars = opts.minChars ?? 100;
  return {
    name: 'wikipedia',
    process(doc: Doc): StageResult {
      if (doc.meta.redirect !== undefined || /^\s*#redirect/i.test(doc.text)) return drop('redirect', String(doc.meta.redirect ?? ''));
      if (doc.meta.ns !== undefined && Number(doc.meta.ns) !== 0) return drop('namespace', `ns ${doc.meta.ns}`);
      const lang = String(doc.meta.lang ?? '');
      if (!langs.has(lang)) return drop('language', lang || 'unknown');
      const text = wikitextToText(doc.text);
      if (text.length < minChars) return drop('too-short', `${text.length} chars < ${minChars}`);
      const title = typeof doc.meta.title === 'string' ? doc.meta.title : '';
      return { ...doc, text: title ? `${title}\n\n${text}` : text };
    },
  };
}
