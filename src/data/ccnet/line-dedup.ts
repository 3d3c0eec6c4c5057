/**
 * CCNet's paragraph (line) deduplication (cc_net/dedup.py), in its two passes:
 *
 * 1. `HashCollector`: hash every line (SHA-1 prefix of `normalizeForDedup(line)`) of every document
 *    of a group of shards into one FlatHashSet; a hash met twice gets the "more than once" flag.
 *    Each shard's set can be dumped to disk and a group loaded back with `FlatHashSet.fromFiles`,
 *    so memory is bounded by the hashes of one group, not of the whole crawl.
 * 2. `DuplicateRemover`: drop every line whose hash is flagged — all its occurrences, the first
 *    included, as in the paper (`deduplicate_two_pass`) — then, inside a document, lines repeated
 *    and lines with hash 0. A document that keeps no line is dropped. With `collect: true` it is
 *    CCNet's one-pass `deduplicate`: the first occurrence is kept, later ones removed.
 *
 * Lines are split on "\n" exactly as CCNet does (an empty line is a line: its hash is sha1("")).
 * Character counts are UTF-16 code units (JS string length); CCNet counts code points.
 */
import { FlatHashSet } from './hash-set.js';
import { normalizeForDedup } from './normalize.js';
import { sha1Prefix64 } from './sha1-prefix.js';

const encoder = new TextEncoder();
let scratch = new Uint8Array(1 << 16);

/** Hashes of each "\n"-separated line: (lo, hi) pairs, as CCNet's `compute_hashes`. */
export function lineHashes(content: string): Uint32Array {
  const lines = content.split('\n');
  const out = new Uint32Array(lines.length * 2);
  for (let i = 0; i < lines.length; i++) hashLine(lines[i], out, i);
  return out;
}

function hashLine(line: string, out: Uint32Array, i: number): void {
  const norm = normalizeForDedup(line);
  if (norm.length * 3 > scratch.length) scratch = new Uint8Array(norm.length * 6);
  const { written } = encoder.encodeInto(norm, scratch);
  sha1Prefix64(scratch, 0, written, out, i);
}

/** Pass 1: collects the line hashes of a group of documents. */
export class HashCollector {
  readonly hashes: FlatHashSet;
  lines = 0;

  constructor(hashes = new FlatHashSet()) {
    this.hashes = hashes;
  }

  add(content: string): void {
    if (!content) return; // CCNet skips documents without content
    const h = lineHashes(content);
    this.hashes.addAll(h);
    this.lines += h.length >>> 1;
  }
}

export interface DedupStats {
  docs: number;
  docsDropped: number;
  lines: number;
  linesKept: number;
  chars: number;
  charsKept: number;
}

export interface DedupResult {
  text: string;
  /** Indices (in the input text) of the lines that were kept. */
  lineIds: number[];
  originalLines: number;
}

export interface DuplicateRemoverOptions {
  /** true: one pass, keep first occurrences, add hashes as we go (CCNet `deduplicate`). */
  collect?: boolean;
}

/** Pass 2: removes the lines flagged in `hashes` (or, with `collect`, lines seen before). */
export class DuplicateRemover {
  readonly hashes: FlatHashSet;
  readonly collect: boolean;
  readonly stats: DedupStats = { docs: 0, docsDropped: 0, lines: 0, linesKept: 0, chars: 0, charsKept: 0 };

  constructor(hashes: FlatHashSet, options: DuplicateRemoverOptions = {}) {
    this.hashes = hashes;
    this.collect = options.collect ?? false;
  }

  /** Returns the deduplicated text, or null when no line survives (the document is dropped). */
  process(content: string): DedupResult | null {
    this.stats.docs++;
    if (!content) {
      this.stats.docsDropped++;
      return null;
    }
    const lines = content.split('\n');
    const n = lines.length;
    const h = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) hashLine(lines[i], h, i);
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const lo = h[i * 2], hi = h[i * 2 + 1];
      const seen = this.collect ? this.hashes.add(lo, hi) : this.hashes.state(lo, hi) === 2;
      if (seen) {
        h[i * 2] = 0; // CCNet multiplies the hash by `keep`: 0 means "remove"
        h[i * 2 + 1] = 0;
      } else kept++;
    }
    this.stats.lines += n;
    if (kept === 0) {
      this.stats.docsDropped++;
      this.stats.chars += content.length;
      return null;
    }
    // CCNet's finalize_doc: also drop repeats inside the document and zeroed hashes.
    const inDoc = new Set<string>();
    const lineIds: number[] = [];
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const lo = h[i * 2], hi = h[i * 2 + 1];
      const key = `${lo}:${hi}`;
      if (!inDoc.has(key) && (lo !== 0 || hi !== 0)) {
        lineIds.push(i);
        out.push(lines[i]);
      }
      inDoc.add(key);
    }
    const text = out.join('\n');
    this.stats.linesKept += kept;
    this.stats.chars += content.length;
    this.stats.charsKept += text.length;
    return { text, lineIds, originalLines: n };
  }
}

/** CCNet `deduplicate_two_pass` over an in-memory list of texts (tests, small jobs). */
export function dedupTwoPass(texts: readonly string[]): { results: (DedupResult | null)[]; stats: DedupStats } {
  const collector = new HashCollector();
  for (const t of texts) collector.add(t);
  const remover = new DuplicateRemover(collector.hashes);
  const results = texts.map((t) => remover.process(t));
  return { results, stats: remover.stats };
}
