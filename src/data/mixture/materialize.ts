/**
 * Materialises a Table 1 mixture: given each source's token shards and sampling proportions, and a
 * token budget B, writes mixed token shards in which source s contributes about p_s·B tokens.
 * A source smaller than its share is repeated (epochs > 1, e.g. Wikipedia's 2.45), a larger one is
 * cut (GitHub's 0.64): within a source, documents follow a seeded permutation, a new permutation
 * per epoch. Sources are interleaved document by document: the next document comes from the source
 * furthest behind its target share (deficit round-robin), which tracks the proportions at every
 * prefix — better than independent random draws for short runs — and is deterministic; the seed
 * only orders documents inside each source (shards in a seeded order, documents in a seeded order
 * within each shard, anew each epoch).
 *
 * The document that completes a source's share is truncated there, so proportions hold to the
 * token even when single documents (books) are large compared with the budget.
 *
 * Memory: per source, the document index of the one shard being read (4 bytes per document);
 * documents are read from disk one at a time.
 */
import { Rng } from '../../util/rng.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { readTokenShardHeader, SHARD_HEADER_BYTES, TokenShardWriter } from '../token-shard.js';

export interface MixSourceInput { name: string; shards: string[]; proportion: number }

export interface MixResult {
  shards: string[];
  sources: { name: string; proportion: number; tokens: number; sourceTokens: number; epochs: number; docs: number }[];
  tokens: number;
}

/**
 * Reads single documents of a token shard from disk (layout in token-shard.ts: 64-byte header,
 * ids, padding to 4 bytes, then the uint32 document ends), so only one shard's document index is
 * in memory, never its tokens.
 */
class ShardDocs {
  readonly docEnds: Uint32Array;
  readonly width: 2 | 4;
  readonly docCount: number;
  readonly tokenCount: number;
  private readonly fd: number;

  constructor(readonly path: string) {
    const h = readTokenShardHeader(path);
    this.width = h.tokenWidth;
    this.docCount = h.docCount;
    this.tokenCount = h.tokenCount;
    this.fd = openSync(path, 'r');
    const tokenBytes = h.tokenCount * h.tokenWidth;
    const endsAt = SHARD_HEADER_BYTES + tokenBytes + ((4 - (tokenBytes % 4)) % 4);
    const buf = Buffer.alloc(h.docCount * 4);
    readFullySync(this.fd, buf, endsAt, path);
    this.docEnds = new Uint32Array(buf.buffer, buf.byteOffset, h.docCount).slice();
  }

  doc(i: number): Uint16Array | Uint32Array {
    const start = i === 0 ? 0 : this.docEnds[i - 1]!;
    const n = this.docEnds[i]! - start;
    const buf = Buffer.alloc(n * this.width);
    readFullySync(this.fd, buf, SHARD_HEADER_BYTES + start * this.width, this.path);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    return this.width === 2 ? new Uint16Array(ab) : new Uint32Array(ab);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function readFullySync(fd: number, buf: Buffer, position: number, path: string): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new Error(`token shard ${path}: unexpected end of file at byte ${position + off}`);
    off += n;
  }
}

/** A seeded permutation of 0..n-1 (Fisher–Yates), one stream per key. */
function permutation(n: number, ...key: number[]): Uint32Array {
  let h = 0x811c9dc5;
  for (const k of key) h = Math.imul(h ^ (k >>> 0), 16777619) >>> 0;
  const rng = new Rng(h);
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.intBelow(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/**
 * One source's documents in a two-level shuffle: each epoch visits the shards in a seeded order
 * and each shard's documents in a seeded order, so every document appears once per epoch and
 * only one shard is open at a time (memory: that shard's document index).
 */
class SourceCursor {
  epoch = 0;
  drawn = 0;
  docs = 0;
  readonly total: number;
  private readonly key: number;
  private shardOrder: Uint32Array;
  private shardPos = 0;
  private current: ShardDocs | null = null;
  private docOrder: Uint32Array = new Uint32Array(0);
  private docPos = 0;

  constructor(readonly name: string, private readonly paths: string[], private readonly seed: number, readonly target: number) {
    this.total = paths.reduce((a, p) => a + readTokenShardHeader(p).tokenCount, 0);
    let h = 0;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
    this.key = h;
    this.shardOrder = permutation(paths.length, seed, this.key, 0);
  }

  next(): Uint16Array | Uint32Array {
    for (let guard = 0; guard <= this.paths.length + 1; guard++) {
      if (this.current && this.docPos < this.docOrder.length) {
        this.docs++;
        return this.current.doc(this.docOrder[this.docPos++]!);
      }
      this.current?.close();
      this.current = null;
      if (this.shardPos >= this.shardOrder.length) {
        this.epoch++;
        this.shardOrder = permutation(this.paths.length, this.seed, this.key, this.epoch);
        this.shardPos = 0;
      }
      const s = this.shardOrder[this.shardPos++]!;
      this.current = new ShardDocs(this.paths[s]!);
      this.docOrder = permutation(this.current.docCount, this.seed, this.key, this.epoch, s + 1);
      this.docPos = 0;
    }
    throw new Error(`mixture: source "${this.name}" has no documents`);
  }

  close(): void {
    this.current?.close();
    this.current = null;
  }
}

export function materializeMixture(inputs: MixSourceInput[], budgetTokens: number, vocabSize: number, seed: number, outPath: (i: number) => string, shardTokens = 100_000_000): MixResult {
  const totalP = inputs.reduce((a, s) => a + s.proportion, 0);
  // Integer token targets that add up to the budget exactly (largest-remainder apportionment).
  const exact = inputs.map((s) => (s.proportion / totalP) * budgetTokens);
  const targets = exact.map(Math.floor);
  let left = budgetTokens - targets.reduce((a, b) => a + b, 0);
  for (const i of exact.map((x, i) => i).sort((a, b) => (exact[b]! - targets[b]!) - (exact[a]! - targets[a]!) || a - b)) {
    if (left-- <= 0) break;
    targets[i]!++;
  }
  const cursors = inputs
    .map((s, i) => new SourceCursor(s.name, s.shards, seed, targets[i]!))
    .filter((c) => {
      if (c.total === 0 && c.target > 0) throw new Error(`mixture: source "${c.name}" has no tokens but a share of ${(c.target / budgetTokens * 100).toFixed(1)}%`);
      return c.target > 0;
    });
  const shards: string[] = [];
  let w: TokenShardWriter | null = null;
  let written = 0;
  for (;;) {
    // The source furthest behind its target share (ratio drawn/target); ties by input order.
    let best: SourceCursor | null = null;
    let bestRatio = Infinity;
    for (const c of cursors) {
      if (c.drawn >= c.target) continue;
      const r = c.drawn / c.target;
      if (r < bestRatio) {
        bestRatio = r;
        best = c;
      }
    }
    if (!best) break;
    // The document that reaches a source's share is cut there, so every source gets its share
    // to the token (whole books would otherwise overshoot a small budget by far).
    const full = best.next();
    const room = best.target - best.drawn;
    const doc = full.length > room ? full.subarray(0, room) : full;
    best.drawn += doc.length;
    if (doc.length === 0) continue;
    if (!w || w.tokens + doc.length > shardTokens) {
      if (w) w.close();
      const p = outPath(shards.length);
      shards.push(p);
      w = new TokenShardWriter(p, vocabSize);
    }
    w.addDocument(doc);
    written += doc.length;
  }
  w?.close();
  for (const c of cursors) c.close();
  return {
    shards,
    tokens: written,
    sources: cursors.map((c) => ({ name: c.name, proportion: c.target / budgetTokens, tokens: c.drawn, sourceTokens: c.total, epochs: c.total ? c.drawn / c.total : 0, docs: c.docs })),
  };
}
