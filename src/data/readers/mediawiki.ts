/**
 * MediaWiki XML export (pages-articles dumps): one Doc per <page> with the raw wikitext of its
 * latest <revision>; the wikitext → plain text work is the `wikipedia` stage (filters/wikitext.ts).
 * Namespace, redirect target and the dump language (<mediawiki xml:lang>) go into meta so the stage
 * can keep articles of the paper's 20 languages only.
 */
import type { BadRecordSink, Doc } from '../document.js';
import { streamXml } from '../io/xml-stream.js';

const READER = 'mediawiki';

export async function* readMediaWikiDocs(path: string, sink: BadRecordSink, source = 'wikipedia'): AsyncGenerator<Doc> {
  // sax is push-based; collect finished pages in a small queue that the generator drains.
  const queue: Doc[] = [];
  let lang = '';
  let dbname = '';
  const stack: string[] = [];
  let page: { title: string; ns: string; id: string; redirect?: string; text: string; textSeen: boolean; damaged: boolean } | null = null;
  let buf = '';
  const status: { truncated?: string } = {};
  const events = streamXml(path, {
    onopentag(tag) {
      stack.push(tag.name);
      buf = '';
      if (tag.name === 'mediawiki') lang = String(tag.attributes['xml:lang'] ?? '');
      else if (tag.name === 'page') page = { title: '', ns: '', id: '', text: '', textSeen: false, damaged: false };
      else if (tag.name === 'redirect' && page) page.redirect = String(tag.attributes.title ?? '');
    },
    ontext(t) {
      buf += t;
    },
    oncdata(t) {
      buf += t;
    },
    onclosetag(name) {
      stack.pop();
      const parent = stack[stack.length - 1];
      if (name === 'dbname') dbname = buf.trim();
      if (page) {
        if (name === 'title' && parent === 'page') page.title = buf;
        else if (name === 'ns' && parent === 'page') page.ns = buf.trim();
        else if (name === 'id' && parent === 'page') page.id = buf.trim();
        else if (name === 'text') {
          page.text = buf;
          page.textSeen = true;
        } else if (name === 'page') {
          const p = page;
          page = null;
          if (p.damaged) return;
          if (!p.textSeen || !p.id) {
            sink.bad(READER, { reason: 'incomplete-page', where: `${path} page "${p.title}"`, detail: !p.id ? 'no <id>' : 'no <text>' });
            return;
          }
          const meta: Record<string, unknown> = { title: p.title, ns: Number(p.ns), lang: lang || dbname.replace(/wiki$/, ''), file: path };
          if (p.redirect !== undefined) meta.redirect = p.redirect;
          queue.push({ id: `${dbname || 'wiki'}:${p.id}`, text: p.text, source, meta });
        }
      }
      buf = '';
    },
    oninvalidutf8(where, replaced) {
      sink.bad(READER, { reason: 'invalid-utf8-replaced', where, detail: `${replaced} invalid byte sequence(s) replaced by U+FFFD` });
    },
    onerror(where, message) {
      sink.bad(READER, { reason: 'xml-parse-error', where, detail: message + (page ? ` (inside page "${page.title}", skipped)` : '') });
      if (page) page.damaged = true;
    },
  }, status);
  for await (const _ of events) while (queue.length) yield queue.shift()!;
  if (status.truncated) sink.bad(READER, { reason: 'truncated-compressed-stream', where: path, detail: status.truncated });
}
