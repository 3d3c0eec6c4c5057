/**
 * Names usable in a pipeline config: readers (`"reader": "warc"`) and stages (`{"type": "c4"}`).
 * A stage is either per-document (runs inside each input's job, in parallel) or global (needs
 * every document of its source: exact and near dedup); global stages and whatever follows them
 * run in the second wave, one job per source, over the first wave's shards in input order — so
 * the result does not depend on how many workers ran.
 *
 * Other modules add stages with `registerStage` (the CCNet stages live in src/data/ccnet/ and
 * register themselves from `src/data/ccnet/stages.js` if that module exists).
 */
import type { BadRecordSink, Doc, Stage } from '../document.js';
import { readWarcDocs } from '../readers/warc.js';
import { readJsonlDocs } from '../readers/jsonl.js';
import { readMediaWikiDocs } from '../readers/mediawiki.js';
import { readStackExchangeDocs } from '../readers/stackexchange.js';
import { readLatexProjects } from '../readers/latex-project.js';
import { readCodeTree } from '../readers/code-tree.js';
import { readBookDocs } from '../readers/books.js';
import { c4Stage } from '../filters/c4.js';
import { githubStage } from '../filters/github.js';
import { wikipediaStage, WIKI_LANGUAGES } from '../filters/wikitext.js';
import { arxivStage } from '../filters/arxiv.js';
import { exactDedupStage, CompactSeenStore, MemorySeenStore, type ExactNormalization } from '../dedup/exact.js';
import { nearDedupStage } from '../dedup/minhash.js';
import { basename, dirname } from 'node:path';

export type ReaderFn = (path: string, sink: BadRecordSink, source: string, options: Record<string, unknown>) => AsyncIterable<Doc>;

export const READERS: Record<string, ReaderFn> = {
  warc: (p, sink, source) => readWarcDocs(p, sink, { source }),
  wet: (p, sink, source) => readWarcDocs(p, sink, { source }),
  jsonl: (p, sink, source, o) => readJsonlDocs(p, sink, { source, ...(typeof o.textField === 'string' ? { textField: o.textField } : {}), ...(typeof o.idField === 'string' ? { idField: o.idField } : {}) }),
  mediawiki: (p, sink, source) => readMediaWikiDocs(p, sink, source),
  stackexchange: (p, sink, source, o) => readStackExchangeDocs(p, sink, typeof o.site === 'string' ? o.site : siteName(p), source, typeof o.bucketMB === 'number' ? { bucketBytes: o.bucketMB * 1e6 } : {}),
  latex: (p, sink, source) => readLatexProjects([p], sink, source),
  code: (p, sink, source) => readCodeTree(p, sink, { source }),
  books: (p, sink, source) => readBookDocs([p], sink, source),
};

/** The site a Posts.xml belongs to: dumps unpack as <site>/Posts.xml, so the folder names it. */
export function siteName(path: string): string {
  const file = basename(path).replace(/\.xml(?:\.\w+)?$/i, '');
  return /^posts$/i.test(file) ? basename(dirname(path)) : file;
}

export interface StageFactory {
  create(options: Record<string, unknown>): Stage;
  /** Needs all documents of the source (runs in the second wave). */
  global?: boolean;
}

const num = (o: Record<string, unknown>, k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
function opt<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const STAGES: Record<string, StageFactory> = {
  c4: { create: (o) => c4Stage(opt({ minWordsPerLine: num(o, 'minWordsPerLine'), minSentences: num(o, 'minSentences'), maxWordLength: num(o, 'maxWordLength'), badWords: typeof o.badWords === 'boolean' ? o.badWords : undefined })) },
  github: { create: (o) => githubStage(opt({ maxLineLength: num(o, 'maxLineLength'), maxAvgLineLength: num(o, 'maxAvgLineLength'), minAlnumFraction: num(o, 'minAlnumFraction'), minAlphaPerToken: num(o, 'minAlphaPerToken') })) },
  wikipedia: { create: (o) => wikipediaStage(opt({ languages: Array.isArray(o.languages) ? new Set(o.languages.map(String)) : WIKI_LANGUAGES, minChars: num(o, 'minChars') })) },
  arxiv: { create: (o) => arxivStage(opt({ minChars: num(o, 'minChars') })) },
  'exact-dedup': { global: true, create: (o) => exactDedupStage(o.compact === true ? new CompactSeenStore() : new MemorySeenStore(), o.normalization === 'whitespace' ? 'whitespace' : ('none' as ExactNormalization)) },
  'near-dedup': { global: true, create: (o) => nearDedupStage(opt({ threshold: num(o, 'threshold') })) },
  'min-length': {
    create: (o) => {
      const min = num(o, 'chars') ?? 1;
      return { name: 'min-length', process: (d: Doc) => (d.text.length >= min ? d : { drop: 'too-short', detail: `${d.text.length} < ${min} chars` }) };
    },
  },
};

export function registerStage(type: string, factory: StageFactory): void {
  STAGES[type] = factory;
}

export const READER_TYPES = Object.keys(READERS);
/** A getter: registrations made later (CCNet stages) are seen by config validation. */
export const STAGE_TYPES: string[] = new Proxy([] as string[], { get: (_t, k) => Reflect.get(Object.keys(STAGES), k) });

let extrasLoaded = false;
/** Loads optional stage modules (the CCNet stages) once; absent modules are fine. */
export async function loadExtraStages(): Promise<void> {
  if (extrasLoaded) return;
  extrasLoaded = true;
  const url = new URL('../ccnet/stages.js', import.meta.url);
  try {
    const mod = (await import(url.href)) as { stages?: Record<string, StageFactory> };
    for (const [k, f] of Object.entries(mod.stages ?? {})) registerStage(k, f);
  } catch (e) {
    // Only "that module is not there" is fine; an error inside it must be seen.
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('ccnet/stages')) throw e;
  }
}

/** Splits a source's stage list into wave 1 (per input) and wave 2 (from the first global stage on). */
export function splitWaves(stages: readonly { type: string }[]): { wave1: number; hasWave2: boolean } {
  const firstGlobal = stages.findIndex((s) => STAGES[s.type]?.global);
  return firstGlobal < 0 ? { wave1: stages.length, hasWave2: false } : { wave1: firstGlobal, hasWave2: true };
}

export function createStages(configs: readonly { type: string }[]): Stage[] {
  return configs.map((c) => {
    const f = STAGES[c.type];
    if (!f) throw new Error(`unknown stage type "${c.type}"`);
    const { type: _t, ...options } = c as Record<string, unknown>;
    return f.create(options);
  });
}
