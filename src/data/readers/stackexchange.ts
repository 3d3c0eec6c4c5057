/**
 * StackExchange data-dump Posts.xml: `<row Id PostTypeId ParentId Score Title Body .../>`.
 * Emits one Doc per question (PostTypeId 1) holding its title, body and all its answers
 * (PostTypeId 2) sorted by score, highest first (ties by Id), as the paper describes; HTML is
 * stripped. The layout follows RedPajama's StackExchange text: "Q: <title>\n<body>" then
 * "A: <answer>" blocks.
 *
 * Memory: answers may come before or long after their question, so the posts of one file are
 * held (as stripped text) until the end of the file: bounded by one site's text, not by the
 * whole dump. Other post types (tag wikis 4/5, moderator posts) are skipped.
 */
import type { BadRecordSink, Doc } from '../document.js';
import { streamXml } from '../io/xml-stream.js';
import { htmlToText } from './html-text.js';

const READER = 'stackexchange';

interface Question { id: number; title: string; body: string; score: number; tags: string }
interface Answer { id: number; body: string; score: number }

/** "<a><b>" (old dumps) or "|a|b|" (2024 dumps) → ["a", "b"]. */
export function parseTags(tags: string): string[] {
  return tags.includes('<') ? [...tags.matchAll(/<([^>]+)>/g)].map((m) => m[1]!) : tags.split('|').filter(Boolean);
}

export function formatQuestion(q: { title: string; body: string }, answers: readonly { body: string }[]): string {
  return [`Q: ${q.title}\n${q.body}`, ...answers.map((a) => `A: ${a.body}`)].join('\n\n');
}

export async function* readStackExchangeDocs(path: string, sink: BadRecordSink, site = 'stackexchange', source = 'stackexchange'): AsyncGenerator<Doc> {
  const questions = new Map<number, Question>();
  const answers = new Map<number, Answer[]>();
  let rowNo = 0;
  const status: { truncated?: string } = {};
  const events = streamXml(path, {
    onopentag(tag) {
      if (tag.name !== 'row') return;
      rowNo++;
      const a = tag.attributes as Record<string, string>;
      const id = Number(a.Id);
      const type = a.PostTypeId;
      if (!Number.isInteger(id) || (type !== '1' && type !== '2')) {
        if (!Number.isInteger(id)) sink.bad(READER, { reason: 'row-without-id', where: `${path} row ${rowNo}` });
        return;
      }
      const score = Number(a.Score ?? 0) || 0;
      const body = htmlToText(a.Body ?? '');
      if (type === '1') questions.set(id, { id, title: a.Title ?? '', body, score, tags: a.Tags ?? '' });
      else {
        const parent = Number(a.ParentId);
        if (!Number.isInteger(parent)) {
          sink.bad(READER, { reason: 'answer-without-parent', where: `${path} row ${rowNo} (Id ${id})` });
          return;
        }
        let list = answers.get(parent);
        if (!list) answers.set(parent, (list = []));
        list.push({ id, body, score });
      }
    },
    oninvalidutf8(where, replaced) {
      sink.bad(READER, { reason: 'invalid-utf8-replaced', where, detail: `${replaced} invalid byte sequence(s) replaced by U+FFFD` });
    },
    onerror(where, message) {
      sink.bad(READER, { reason: 'xml-parse-error', where, detail: message });
    },
  }, status);
  for await (const _ of events);
  if (status.truncated) sink.bad(READER, { reason: 'truncated-compressed-stream', where: path, detail: status.truncated });
  for (const [parent, list] of answers) {
    if (!questions.has(parent)) sink.bad(READER, { reason: 'orphan-answers', where: `${path} ParentId ${parent}`, detail: `${list.length} answer(s) whose question is not in the file` });
  }
  const ids = [...questions.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    const q = questions.get(id)!;
    const list = (answers.get(id) ?? []).sort((a, b) => b.score - a.score || a.id - b.id);
    yield {
      id: `${site}:${id}`,
      text: formatQuestion(q, list),
      source,
      meta: { site, questionId: id, score: q.score, tags: parseTags(q.tags), answers: list.length, answerScores: list.map((a) => a.score) },
    };
  }
}
