/**
 * StackExchange data-dump Posts.xml: `<row Id PostTypeId ParentId Score Title Body .../>`.
 * Emits one Doc per question (PostTypeId 1) holding its title, body and all its answers
 * (PostTypeId 2) sorted by score, highest first (ties by Id), as the paper describes; HTML is
 * stripped. The layout follows RedPajama's StackExchange text: "Q: <title>\n<body>" then
 * "A: <answer>" blocks.
 *
 * Memory: answers may come long after their question, so posts are grouped by question: in
 * memory for a file under `bucketBytes`, else through temporary bucket files partitioned by
 * question id (see StackExchangeOptions). Documents come out in question-id order within each
 * bucket. Other post types (tag wikis 4/5, moderator posts) are skipped.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BadRecordSink, Doc } from '../document.js';
import { detectCompression } from '../io/byte-source.js';
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

type Post = ({ kind: 'q' } & Question) | ({ kind: 'a'; parent: number } & Answer);

/** Streams the question and answer rows of a Posts.xml, HTML already stripped. */
async function* readPosts(path: string, sink: BadRecordSink): AsyncGenerator<Post[]> {
  let rowNo = 0;
  let batch: Post[] = [];
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
      if (type === '1') batch.push({ kind: 'q', id, title: a.Title ?? '', body, score, tags: a.Tags ?? '' });
      else {
        const parent = Number(a.ParentId);
        if (!Number.isInteger(parent)) {
          sink.bad(READER, { reason: 'answer-without-parent', where: `${path} row ${rowNo} (Id ${id})` });
          return;
        }
        batch.push({ kind: 'a', parent, id, body, score });
      }
    },
    oninvalidutf8(where, replaced) {
      sink.bad(READER, { reason: 'invalid-utf8-replaced', where, detail: `${replaced} invalid byte sequence(s) replaced by U+FFFD` });
    },
    onerror(where, message) {
      sink.bad(READER, { reason: 'xml-parse-error', where, detail: message });
    },
  }, status);
  for await (const _ of events) {
    if (batch.length) {
      yield batch;
      batch = [];
    }
  }
  if (status.truncated) sink.bad(READER, { reason: 'truncated-compressed-stream', where: path, detail: status.truncated });
}

/** Groups answers under their questions; yields questions in Id order. */
function* emitQuestions(posts: Iterable<Post>, path: string, site: string, source: string, sink: BadRecordSink): Generator<Doc> {
  const questions = new Map<number, Question>();
  const answers = new Map<number, Answer[]>();
  for (const p of posts) {
    if (p.kind === 'q') questions.set(p.id, p);
    else {
      let list = answers.get(p.parent);
      if (!list) answers.set(p.parent, (list = []));
      list.push({ id: p.id, body: p.body, score: p.score });
    }
  }
  for (const [parent, list] of answers) {
    if (!questions.has(parent)) sink.bad(READER, { reason: 'orphan-answers', where: `${path} ParentId ${parent}`, detail: `${list.length} answer(s) whose question is not in the file` });
  }
  for (const id of [...questions.keys()].sort((a, b) => a - b)) {
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

export interface StackExchangeOptions {
  /**
   * Memory bound: a Posts.xml larger than this (uncompressed estimate) is first partitioned by
   * question id into temporary bucket files of about this size, then each bucket is grouped in
   * memory — an external hash partition, so memory stays near this bound for any site size.
   * Default 256 MB.
   */
  bucketBytes?: number;
}

export async function* readStackExchangeDocs(path: string, sink: BadRecordSink, site = 'stackexchange', source = 'stackexchange', opts: StackExchangeOptions = {}): AsyncGenerator<Doc> {
  const bucketBytes = opts.bucketBytes ?? 256e6;
  const size = (await stat(path)).size * ((await detectCompression(path)) === 'none' ? 1 : 6);
  const buckets = Math.max(1, Math.ceil(size / bucketBytes));
  if (buckets === 1) {
    const all: Post[] = [];
    for await (const batch of readPosts(path, sink)) all.push(...batch);
    yield* emitQuestions(all, path, site, source, sink);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'llama-ts-se-'));
  try {
    const files = Array.from({ length: buckets }, (_, i) => join(dir, `bucket-${i}.jsonl`));
    const streams = files.map((f) => createWriteStream(f));
    for await (const batch of readPosts(path, sink)) {
      for (const p of batch) {
        const s = streams[(p.kind === 'q' ? p.id : p.parent) % buckets]!;
        if (!s.write(JSON.stringify(p) + '\n')) await once(s, 'drain');
      }
    }
    await Promise.all(streams.map((s) => new Promise((r) => s.end(r))));
    for (const f of files) {
      const posts: Post[] = [];
      for await (const line of createInterface({ input: createReadStream(f), crlfDelay: Infinity })) if (line) posts.push(JSON.parse(line) as Post);
      yield* emitQuestions(posts, path, site, source, sink);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
