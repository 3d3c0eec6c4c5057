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
import { paddedLength, sha1Prefix64InPlace } from './sha1-prefix.js';

const encoder = new TextEncoder();
let scratch = new Uint8Array(1 << 16);

/** Hashes of each "\n"-separated line: (lo, hi) pairs, as CCNet's `compute_hashes`. */
export function lineHashes(content: string): Uint32Array {
  let n = 1;
  for (let i = content.indexOf('\n'); i >= 0; i = content.indexOf('\n', i + 1)) n++;
  const out = new Uint32Array(n * 2);
  let start = 0;
  for (let k = 0; k < n; k++) {
    let end = content.indexOf('\n', start);
    if (end < 0) end = content.length;
    hashLine(content, start, end, out, k);
    start = end + 1;
  }
  return out;
}

/** Python str.isspace() for the ASCII range: \t \n \v \f \r, \x1c-\x1f and space. */
const isPySpaceAscii = (c: number): boolean => (c >= 9 && c <= 13) || (c >= 28 && c <= 32);

/**
 * Hashes normalizeForDedup(content[start, end)). Lines of ASCII — most of a crawl — are normalized
 * straight into bytes (strip, lowercase, digits → 0, controls removed: the same result as the
 * string path for ASCII); other lines take the Unicode path.
 */
function hashLine(content: string, start: number, end: number, out: Uint32Array, i: number): void {
  let s = start, e = end;
  while (s < e && isPySpaceAscii(content.charCodeAt(s))) s++;
  while (e > s && isPySpaceAscii(content.charCodeAt(e - 1))) e--;
  if (scratch.length < paddedLength((e - s) * 3)) scratch = new Uint8Array(paddedLength((e - s) * 6));
  let w = 0;
  let ascii = true;
  for (let k = s; k < e; k++) {
    const c = content.charCodeAt(k);
    if (c >= 0x80) { ascii = false; break; }
    if (c < 32 || c === 127) continue;
    scratch[w++] = c >= 65 && c <= 90 ? c + 32 : c >= 48 && c <= 57 ? 48 : c;
  }
  if (!ascii) {
    const norm = normalizeForDedup(content.slice(start, end));
    if (paddedLength(norm.length * 3) > scratch.length) scratch = new Uint8Array(paddedLength(norm.length * 6));
    w = encoder.encodeInto(norm, scratch).written;
  }
  sha1Prefix64InPlace(scratch, w, out, i);
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
    const h = lineHashes(content);
    const n = h.length >>> 1;
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
    // CCNet's finalize_doc: also drop repeats inside the document and zeroed hashes. Small
    // documents compare against the earlier lines directly; larger ones index the low half.
    const inDoc = n > 32 ? new Map<number, number>() : null; // lo → first line index with it
    const lineIds: number[] = [];
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < n; i++) {
      let end = content.indexOf('\n', start);
      if (end < 0) end = content.length;
      const lo = h[i * 2], hi = h[i * 2 + 1];
      let dup = false;
      if (inDoc) {
        const j = inDoc.get(lo);
        if (j !== undefined) {
          if (h[j * 2 + 1] === hi) dup = true;
          else for (let k = 0; k < i && !dup; k++) dup = h[k * 2] === lo && h[k * 2 + 1] === hi;
        } else inDoc.set(lo, i);
      } else for (let k = 0; k < i && !dup; k++) dup = h[k * 2] === lo && h[k * 2 + 1] === hi;
      if (!dup && (lo !== 0 || hi !== 0)) {
        lineIds.push(i);
        out.push(content.slice(start, end));
      }
      start = end + 1;
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
