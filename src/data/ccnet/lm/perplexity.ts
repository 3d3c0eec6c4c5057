/**
 * CCNet's document perplexity and head/middle/tail buckets (cc_net/perplexity.py):
 *
 * - `documentPerplexity`: each "\n"-separated line is normalized (CCNet `normalize`), tokenized
 *   (CCNet uses the language's SentencePiece model; any tokenizer can be passed), scored by the
 *   language's n-gram model with <s> … </s>; the document's perplexity is
 *   10^(-Σ log10 p / Σ (tokens + 1)), rounded to one decimal as CCNet stores it.
 * - `PerplexityCutoffs`: CCNet's cutoff.csv (first column = percentile 0..100, one column per
 *   language, the perplexity at that percentile of the language's Wikipedia-like distribution). A
 *   document is "head" below the 30th-percentile value, "middle" below the 60th, else "tail";
 *   "all" when the language has no column or there is no perplexity.
 */
import { readFileSync } from 'node:fs';
import { normalizeForLm } from '../normalize.js';
import type { NgramModel } from './ngram-model.js';

export type Tokenize = (line: string) => string[];

/**
 * KenLM's tokenization of a query (its Python `score` splits the UTF-8 bytes on ASCII whitespace):
 * NBSP and other Unicode spaces stay inside tokens.
 */
export const whitespaceTokenize: Tokenize = (line) => {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const c = i < line.length ? line.charCodeAt(i) : 32;
    const space = c === 32 || (c >= 9 && c <= 13);
    if (space) {
      if (start >= 0) out.push(line.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  return out;
};

export interface PerplexityOptions {
  tokenize?: Tokenize;
  /** Apply CCNet's `normalize` to each line first (default true). */
  normalize?: boolean;
}

export interface DocumentScore {
  perplexity: number;
  log10Prob: number;
  /** tokens + one </s> per line */
  length: number;
}

export function documentPerplexity(model: NgramModel, text: string, options: PerplexityOptions = {}): DocumentScore {
  const tokenize = options.tokenize ?? whitespaceTokenize;
  const norm = options.normalize ?? true;
  let logProb = 0, length = 0;
  for (const raw of text.split('\n')) {
    const line = norm ? normalizeForLm(raw) : raw;
    const tokens = tokenize(line);
    logProb += model.scoreTokens(tokens);
    length += tokens.length + 1;
  }
  const pp = 10 ** (-logProb / length);
  return { perplexity: Math.round(pp * 10) / 10, log10Prob: logProb, length };
}

export type Bucket = 'head' | 'middle' | 'tail' | 'all';

export class PerplexityCutoffs {
  /** language → perplexity per percentile 0..100 */
  readonly table: Map<string, number[]>;
  readonly head: number;
  readonly tail: number;

  constructor(table: Map<string, number[]>, percentileHead = 30, percentileTail = 60) {
    if (!(percentileHead >= 0 && percentileHead <= percentileTail && percentileTail <= 100)) {
      throw new Error(`percentiles must satisfy 0 <= head (${percentileHead}) <= tail (${percentileTail}) <= 100`);
    }
    this.table = table;
    this.head = percentileHead;
    this.tail = percentileTail;
  }

  static parse(csv: string, name = 'cutoff.csv', percentileHead = 30, percentileTail = 60): PerplexityCutoffs {
    const lines = csv.split(/\r?\n/).filter((l) => l.trim().length > 0);
    if (lines.length < 2) throw new Error(`${name}: expected a header and percentile rows`);
    const header = lines[0].split(',');
    if (header[0].trim() !== '') throw new Error(`${name} line 1: the first header cell must be empty (the percentile column), got "${header[0]}"`);
    const langs = header.slice(1).map((s) => s.trim());
    const cols = langs.map(() => [] as number[]);
    for (let i = 1; i < lines.length; i++) {
      const cells = lines[i].split(',');
      if (cells.length !== header.length) throw new Error(`${name} line ${i + 1}: ${cells.length} cells, header has ${header.length}`);
      const pct = Number(cells[0]);
      if (pct !== i - 1) throw new Error(`${name} line ${i + 1}: percentile ${cells[0]}, expected ${i - 1} (rows must be 0..100 in order)`);
      cells.slice(1).forEach((c, j) => {
        const v = Number(c);
        if (!Number.isFinite(v)) throw new Error(`${name} line ${i + 1}, column "${langs[j]}": "${c}" is not a number`);
        cols[j].push(v);
      });
    }
    const table = new Map<string, number[]>();
    langs.forEach((l, j) => table.set(l, cols[j]));
    const rows = lines.length - 1;
    if (rows <= percentileTail) throw new Error(`${name}: ${rows} percentile rows, need row ${percentileTail}`);
    return new PerplexityCutoffs(table, percentileHead, percentileTail);
  }

  static load(path: string, percentileHead = 30, percentileTail = 60): PerplexityCutoffs {
    return PerplexityCutoffs.parse(readFileSync(path, 'utf8'), path, percentileHead, percentileTail);
  }

  /** [head cutoff, tail cutoff] of a language, or undefined. */
  cutoffs(language: string): [number, number] | undefined {
    const c = this.table.get(language);
    return c ? [c[this.head], c[this.tail]] : undefined;
  }

  bucket(language: string | undefined, perplexity: number | undefined): Bucket {
    const c = language === undefined ? undefined : this.cutoffs(language);
    if (!c || perplexity === undefined || perplexity < 0 || Number.isNaN(perplexity)) return 'all';
    if (perplexity < c[0]) return 'head';
    if (perplexity < c[1]) return 'middle';
    return 'tail';
  }
}
