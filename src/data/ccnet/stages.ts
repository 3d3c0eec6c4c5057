/**
 * The CCNet stages as pipeline stages (src/data/document.ts), registered with the pipeline's
 * registry (src/data/ops/registry.ts loads this module and adds `stages`):
 *
 *   ccnet-hashes     pass 1 of CCNet dedup: passes documents through and writes the hashes of
 *                    their lines to <dir>/<id>.bin at close (one file per input job, named from
 *                    its first document id so a rerun overwrites instead of double counting).
 *   ccnet-dedup      pass 2 (global): with `hashDir`, removes every line flagged as repeated in
 *                    the loaded hash files (all occurrences, as the paper); without, CCNet's
 *                    one-pass mode (first occurrence kept). Drop reason: `duplicate-lines`.
 *   ccnet-langid     fastText language id: meta.language + meta.language_score; drops
 *                    `low-language-score` (< threshold) and `language-not-kept`.
 *   ccnet-perplexity per-language n-gram LM: meta.perplexity + meta.bucket (head/middle/tail/all);
 *                    optional `dropBuckets`, drop reason `perplexity-bucket`.
 *   ccnet-quality    Wikipedia-reference classifier: meta.quality_score, drops `not-reference-like`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SentencePieceTokenizer } from '../../tokenizer/index.js';
import type { Doc, Stage, StageResult } from '../document.js';
import { drop } from '../document.js';
import type { StageFactory } from '../ops/registry.js';
import { FlatHashSet } from './hash-set.js';
import { LanguageIdentifier } from './langid.js';
import { DuplicateRemover, HashCollector } from './line-dedup.js';
import { readArpa } from './lm/arpa.js';
import type { NgramModel } from './lm/ngram-model.js';
import type { Bucket, Tokenize } from './lm/perplexity.js';
import { documentPerplexity, PerplexityCutoffs, whitespaceTokenize } from './lm/perplexity.js';
import { ReferenceClassifier } from './quality.js';

/** A copy of `doc` with fields added to its meta (the input document is left unchanged). */
function withMeta(doc: Doc, add: Record<string, unknown>, text = doc.text): Doc {
  const meta: Record<string, unknown> = {};
  for (const k in doc.meta) meta[k] = doc.meta[k];
  for (const k in add) meta[k] = add[k];
  return { id: doc.id, text, source: doc.source, meta };
}

/** Pass 1: collect line hashes; `dump(path)` or `onClose` writes them. */
export function lineHashStage(options: { dir?: string; collector?: HashCollector } = {}): Stage & { collector: HashCollector } {
  const collector = options.collector ?? new HashCollector();
  let firstId: string | undefined;
  return {
    name: 'ccnet-hashes',
    collector,
    process(doc: Doc): StageResult {
      firstId ??= doc.id;
      collector.add(doc.text);
      return doc;
    },
    close() {
      if (!options.dir || firstId === undefined) return;
      mkdirSync(options.dir, { recursive: true });
      const name = createHash('sha1').update(firstId).digest('hex').slice(0, 16);
      collector.hashes.dump(join(options.dir, `${name}.bin`));
    },
  };
}

/**
 * Pass 2: CCNet line dedup. Adds meta.original_nlines / nlines / line_ids as CCNet does. The hash
 * files are loaded when the stage is created (in the pipeline: when the second wave starts, after
 * every first-wave job wrote its file), so a missing directory stops the run instead of failing
 * each document.
 */
export function lineDedupStage(options: { hashes?: FlatHashSet; hashDir?: string } = {}): Stage & { remover: DuplicateRemover } {
  let remover: DuplicateRemover;
  if (options.hashes) remover = new DuplicateRemover(options.hashes);
  else if (options.hashDir) {
    let files: string[];
    try {
      files = readdirSync(options.hashDir).filter((f) => f.endsWith('.bin')).sort().map((f) => join(options.hashDir!, f));
    } catch (e) {
      throw new Error(`ccnet-dedup: cannot read hashDir ${options.hashDir}: ${(e as Error).message}; run the ccnet-hashes stage first`);
    }
    if (files.length === 0) throw new Error(`ccnet-dedup: no .bin hash files in ${options.hashDir}; run the ccnet-hashes stage first`);
    remover = new DuplicateRemover(FlatHashSet.fromFiles(files));
  } else remover = new DuplicateRemover(new FlatHashSet(), { collect: true });
  return {
    name: 'ccnet-dedup',
    remover,
    process(doc: Doc): StageResult {
      const r = remover.process(doc.text);
      if (!r) return drop('duplicate-lines', 'every line was seen elsewhere');
      return withMeta(doc, { original_nlines: r.originalLines, nlines: r.lineIds.length, line_ids: r.lineIds }, r.text);
    },
  };
}

export interface LangIdStageOptions {
  identifier: LanguageIdentifier;
  /** minimum probability of the top language (CCNet's lang_threshold, default 0.5) */
  threshold?: number;
  /** keep only these languages (default: all) */
  languages?: readonly string[];
}

export function langIdStage(o: LangIdStageOptions): Stage {
  const threshold = o.threshold ?? 0.5;
  const keep = o.languages ? new Set(o.languages) : null;
  return {
    name: 'ccnet-langid',
    process(doc: Doc): StageResult {
      const g = o.identifier.identify(doc.text);
      if (!g || g.score < threshold) return drop('low-language-score', g ? `${g.language} ${g.score.toFixed(3)} < ${threshold}` : 'no token known to the model');
      if (keep && !keep.has(g.language)) return drop('language-not-kept', g.language);
      return withMeta(doc, { language: g.language, language_score: Math.round(g.score * 100) / 100, lang: g.language });
    },
  };
}

export interface PerplexityStageOptions {
  models: ReadonlyMap<string, NgramModel>;
  cutoffs?: PerplexityCutoffs;
  tokenize?: Tokenize;
  dropBuckets?: readonly Bucket[];
}

export function perplexityStage(o: PerplexityStageOptions): Stage {
  const dropSet = new Set(o.dropBuckets ?? []);
  const tokenize = o.tokenize ?? whitespaceTokenize;
  return {
    name: 'ccnet-perplexity',
    process(doc: Doc): StageResult {
      const lang = typeof doc.meta.language === 'string' ? doc.meta.language : undefined;
      const model = lang === undefined ? undefined : o.models.get(lang);
      const pp = model ? documentPerplexity(model, doc.text, { tokenize }).perplexity : undefined;
      const bucket: Bucket = o.cutoffs ? o.cutoffs.bucket(lang, pp) : 'all';
      if (dropSet.has(bucket)) return drop('perplexity-bucket', `${lang} ${bucket} (perplexity ${pp})`);
      return withMeta(doc, pp === undefined ? { bucket } : { perplexity: pp, bucket });
    },
  };
}

export function qualityStage(o: { classifier: ReferenceClassifier; threshold?: number }): Stage {
  const threshold = o.threshold ?? 0.5;
  return {
    name: 'ccnet-quality',
    process(doc: Doc): StageResult {
      const s = o.classifier.score(doc.text);
      if (s < threshold) return drop('not-reference-like', `${s.toFixed(3)} < ${threshold}`);
      return withMeta(doc, { quality_score: Math.round(s * 1000) / 1000 });
    },
  };
}

// ---- config factories ----------------------------------------------------------------------

const str = (o: Record<string, unknown>, k: string, stage: string): string => {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0) throw new Error(`stage ${stage}: option "${k}" must be a non-empty string (a path)`);
  return v;
};
const optNum = (o: Record<string, unknown>, k: string, stage: string): number | undefined => {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`stage ${stage}: option "${k}" must be a number`);
  return v;
};
const optStrings = (o: Record<string, unknown>, k: string, stage: string): string[] | undefined => {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`stage ${stage}: option "${k}" must be an array of strings`);
  return v as string[];
};

export const stages: Record<string, StageFactory> = {
  'ccnet-hashes': { create: (o) => lineHashStage({ dir: str(o, 'dir', 'ccnet-hashes') }) },
  'ccnet-dedup': { global: true, create: (o) => lineDedupStage(o.hashDir === undefined ? {} : { hashDir: str(o, 'hashDir', 'ccnet-dedup') }) },
  'ccnet-langid': {
    create: (o) => langIdStage({ identifier: LanguageIdentifier.load(str(o, 'model', 'ccnet-langid')), threshold: optNum(o, 'threshold', 'ccnet-langid'), languages: optStrings(o, 'languages', 'ccnet-langid') }),
  },
  'ccnet-perplexity': {
    create: (o) => {
      const m = o.models;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('stage ccnet-perplexity: option "models" must map language → ARPA file path');
      const models = new Map<string, NgramModel>();
      for (const [lang, p] of Object.entries(m)) {
        if (typeof p !== 'string') throw new Error(`stage ccnet-perplexity: models.${lang} must be a path`);
        models.set(lang, readArpa(p));
      }
      let tokenize: Tokenize | undefined;
      if (o.tokenizer !== undefined) {
        const sp = SentencePieceTokenizer.load(str(o, 'tokenizer', 'ccnet-perplexity'));
        tokenize = (line) => sp.encodeAsPieces(line);
      }
      const buckets = optStrings(o, 'dropBuckets', 'ccnet-perplexity');
      for (const b of buckets ?? []) if (!['head', 'middle', 'tail', 'all'].includes(b)) throw new Error(`stage ccnet-perplexity: unknown bucket "${b}" in dropBuckets (head, middle, tail, all)`);
      return perplexityStage({
        models,
        cutoffs: o.cutoffs === undefined ? undefined : PerplexityCutoffs.load(str(o, 'cutoffs', 'ccnet-perplexity')),
        tokenize,
        dropBuckets: buckets as Bucket[] | undefined,
      });
    },
  },
  'ccnet-quality': {
    create: (o) => qualityStage({ classifier: ReferenceClassifier.load(str(o, 'model', 'ccnet-quality'), typeof o.label === 'string' ? o.label : undefined), threshold: optNum(o, 'threshold', 'ccnet-quality') }),
  },
};
