/**
 * Materialises a Table 1 mixture: given each source's token shards and sampling proportions, and a
 * token budget B, writes mixed token shards in which source s contributes about p_s·B tokens.
 * A source smaller than its share is repeated (epochs > 1, e.g. Wikipedia's 2.45), a larger one is
 * cut (GitHub's 0.64): within a source, documents follow a seeded permutation, a new permutation
 * per epoch. Sources are interleaved document by document: the next document comes from the source
 * furthest behind its target share (deficit round-robin), which tracks the proportions at every
 * prefix — better than independent random draws for short runs — and is deterministic; the seed
 * only orders documents inside each source.
 *
 * The document that completes a source's share is truncated there, so proportions hold to the
 * token even when single documents (books) are large compared with the budget.
 *
 * Memory: one source's document index (shard, doc) in RAM at a time, plus open shards (mmap-free
 * reads of whole shards; shards are sized by the writer to a few hundred MB at most).
 */
import { Rng } from '../../util/rng.js';
import { readTokenShard, shardDocument, TokenShardWriter, type TokenShard } from '../token-shard.js';

export interface MixSourceInput { name: string; shards: string[]; proportion: number }

export interface MixResult {
  shards: string[];
  sources: { name: string; proportion: number; tokens: number; sourceTokens: number; epochs: number; docs: number }[];
  tokens: number;
}

class SourceCursor {
  private shards: TokenShard[] = [];
  private order: Uint32Array = new Uint32Array(0); // permuted global doc indices
  private docBase: number[] = [];
  private pos = 0;
  epoch = 0;
  drawn = 0;
  docs = 0;
  readonly total: number;

  constructor(readonly name: string, paths: string[], private readonly seed: number, readonly target: number) {
    this.shards = paths.map((p) => readTokenShard(p));
    let base = 0;
    for (const s of this.shards) {
      this.docBase.push(base);
      base += s.docCount;
    }
    this.total = this.shards.reduce((a, s) => a + s.tokenCount, 0);
    this.permute(base);
  }

  private permute(n: number): void {
    // Fisher–Yates with a stream per (seed, source, epoch).
    let h = this.seed >>> 0;
    for (let i = 0; i < this.name.length; i++) h = Math.imul(h ^ this.name.charCodeAt(i), 16777619) >>> 0;
    const rng = new Rng((h ^ Math.imul(this.epoch + 1, 0x9e3779b9)) >>> 0);
    const a = new Uint32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = rng.intBelow(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    this.order = a;
    this.pos = 0;
  }

  get docCount(): number {
    return this.order.length;
  }

  next(): Uint16Array | Uint32Array {
    if (this.pos >= this.order.length) {
      this.epoch++;
      this.permute(this.order.length);
    }
    const g = this.order[this.pos++]!;
    let s = this.docBase.length - 1;
    while (this.docBase[s]! > g) s--;
    this.docs++;
    return shardDocument(this.shards[s]!, g - this.docBase[s]!);
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
  return {
    shards,
    tokens: written,
    sources: cursors.map((c) => ({ name: c.name, proportion: c.target / budgetTokens, tokens: c.drawn, sourceTokens: c.total, epochs: c.total ? c.drawn / c.total : 0, docs: c.docs })),
  };
}
