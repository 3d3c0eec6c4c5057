/**
 * Near-duplicate removal for books (paper §2 "Books": "we perform deduplication at the book level,
 * removing books with more than 90% content overlap"), with MinHash + LSH (Broder 1997; Leskovec
 * et al., Mining of Massive Datasets ch. 3).
 *
 * Content = the set of word 5-gram shingles (lower-cased, punctuation stripped). The overlap of a
 * new book A with a kept book B is |A∩B| / |A| (how much of A is already in the corpus), computed
 * from the MinHash Jaccard estimate J and the shingle counts: |A∩B| = J(|A|+|B|)/(1+J).
 * A book is dropped when its overlap with any kept book is >= `threshold` (0.9).
 *
 * LSH: 128 hashes in 32 bands of 4 rows, so two books become candidates with probability
 * 1-(1-J^4)^32: >0.999 at J=0.8 (two equal-size books with 90% overlap have J≈0.82), 0.5 near
 * J=0.4. Candidates are then checked with the full signature. The threshold was calibrated on
 * planted near-duplicates (test/data/minhash.test.ts): copies with 5% of words changed are removed,
 * books sharing 70% are kept. Recall needs comparable sizes: a short excerpt of a much longer book
 * has a small J and is rarely a candidate.
 */
import type { Doc, Stage, StageResult } from '../document.js';
import { drop } from '../document.js';
import { fmix32, hashString } from './hash.js';

export interface MinHashParams { numHashes: number; bands: number; shingle: number; seed: number }
export const DEFAULT_MINHASH: MinHashParams = { numHashes: 128, bands: 32, shingle: 5, seed: 1 };

export interface MinHashSignature { sig: Uint32Array; shingles: number }

/** Words for shingling: lower-case letter/digit runs. */
export function shingleWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export function minhash(text: string, p: MinHashParams = DEFAULT_MINHASH): MinHashSignature {
  const words = shingleWords(text);
  // Hash each word once, then combine k consecutive word hashes into a shingle hash
  // (order-sensitive), instead of building each shingle string.
  const wh = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) wh[i] = hashString(words[i]!, p.seed);
  const n = Math.max(1, words.length - p.shingle + 1);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    let h = p.seed >>> 0;
    for (let k = i; k < Math.min(i + p.shingle, words.length); k++) h = fmix32((Math.imul(h, 0x01000193) ^ wh[k]!) >>> 0);
    seen.add(h);
  }
  const sig = new Uint32Array(p.numHashes).fill(0xffffffff);
  const m = p.numHashes;
  // Hash family h_k(x) = fmix32(x + k·g(x)): two independent 32-bit hashes combined
  // (Kirsch–Mitzenmacher), each finalised for avalanche. fmix32 is inlined: this loop is the
  // stage's hot spot (numHashes × shingles iterations).
  for (const x of seen) {
    const g = fmix32(x ^ 0x9e3779b9) | 1;
    let y = x | 0;
    for (let k = 0; k < m; k++) {
      let h = y ^ (y >>> 16);
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h = (h ^ (h >>> 16)) >>> 0;
      if (h < sig[k]!) sig[k] = h;
      y = (y + g) | 0;
    }
  }
  return { sig, shingles: words.length === 0 ? 0 : seen.size };
}

export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) eq++;
  return eq / a.length;
}

/** Estimated |A∩B| / |A| from MinHash signatures and shingle counts. */
export function estimateOverlap(a: MinHashSignature, b: MinHashSignature): number {
  if (a.shingles === 0) return b.shingles === 0 ? 1 : 0;
  const j = estimateJaccard(a.sig, b.sig);
  return Math.min(1, (j * (a.shingles + b.shingles)) / ((1 + j) * a.shingles));
}

/** Most items remembered per band bucket. */
export const BUCKET_CAP = 8;
/** Most candidates verified per query. */
export const MAX_CHECKS = 32;

/** LSH index over kept signatures. */
export class LshIndex {
  private readonly rows: number;
  private readonly buckets: Map<number, number[]>[];
  readonly items: { id: string; sig: MinHashSignature }[] = [];

  constructor(readonly params: MinHashParams = DEFAULT_MINHASH) {
    if (params.numHashes % params.bands !== 0) throw new Error(`minhash: ${params.numHashes} hashes do not split into ${params.bands} bands`);
    this.rows = params.numHashes / params.bands;
    this.buckets = Array.from({ length: params.bands }, () => new Map());
  }

  /** A 32-bit hash of one band's rows (a collision only adds a candidate, which is verified). */
  private bandKey(sig: Uint32Array, band: number): number {
    let h = band;
    for (let r = 0; r < this.rows; r++) h = fmix32((Math.imul(h, 0x01000193) ^ sig[band * this.rows + r]!) >>> 0);
    return h;
  }

  /**
   * Indices of kept items sharing at least one band with `sig`, those sharing the most bands
   * first (the likeliest duplicates, so a duplicate is usually confirmed by the first check).
   */
  candidates(sig: Uint32Array): number[] {
    const hits = new Map<number, number>();
    for (let b = 0; b < this.params.bands; b++) {
      const list = this.buckets[b]!.get(this.bandKey(sig, b));
      if (list) for (const h of list) hits.set(h, (hits.get(h) ?? 0) + 1);
    }
    return [...hits].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([i]) => i);
  }

  add(id: string, sig: MinHashSignature): void {
    const idx = this.items.length;
    this.items.push({ id, sig });
    for (let b = 0; b < this.params.bands; b++) {
      const key = this.bandKey(sig.sig, b);
      const list = this.buckets[b]!.get(key);
      // A full bucket already holds near-identical items: later ones that land here would match
      // those first, so capping it bounds the work per query (no quadratic blow-up on
      // boilerplate-heavy inputs) without losing duplicates that matter.
      if (list) {
        if (list.length < BUCKET_CAP) list.push(idx);
      }
      else this.buckets[b]!.set(key, [idx]);
    }
  }

  /**
   * The first kept item whose overlap with `sig` is >= threshold, or null. Only the
   * `MAX_CHECKS` candidates sharing the most bands are checked: those are the likeliest
   * duplicates, and the bound keeps boilerplate-heavy inputs linear.
   */
  findDuplicate(sig: MinHashSignature, threshold: number): { id: string; overlap: number } | null {
    for (const c of this.candidates(sig.sig).slice(0, MAX_CHECKS)) {
      const other = this.items[c]!;
      const overlap = estimateOverlap(sig, other.sig);
      if (overlap >= threshold) return { id: other.id, overlap };
    }
    return null;
  }
}

export interface NearDedupOptions { threshold?: number; params?: MinHashParams }

/**
 * Streaming near-dedup: the first of a group of near-duplicates (in input order) is kept.
 * Memory: one 512-byte signature per kept book plus band keys.
 */
export function nearDedupStage(opts: NearDedupOptions = {}): Stage {
  const threshold = opts.threshold ?? 0.9;
  const index = new LshIndex(opts.params ?? DEFAULT_MINHASH);
  return {
    name: 'near-dedup',
    process(doc: Doc): StageResult {
      const sig = minhash(doc.text, index.params);
      const dup = index.findDuplicate(sig, threshold);
      if (dup) return drop('near-duplicate', `${(dup.overlap * 100).toFixed(1)}% of it is in ${dup.id}`);
      index.add(doc.id, sig);
      return doc;
    },
  };
}
