/**
 * The pre-training data loader: a mixture of sources (PAPER.md Table 1), each a list of token
 * shards, sampled by weight into B×T rows of (tokens, targets).
 *
 * - Each row is drawn from one source, chosen with probability proportional to its weight. A source's
 *   weight is given directly (Table 1's "sampling proportion") or through the epochs it should be
 *   seen (weight ∝ epochs × source tokens — Table 1's "epochs" column is what a proportion implies).
 * - Within a source, documents are read in a shuffled order that is fixed per (seed, source, epoch);
 *   each document is framed as [BOS] doc [EOS] and the framed documents are packed back to back, so
 *   a row may span documents (as in the paper's packed 2,048-token sequences). When a source runs out,
 *   its next epoch starts with a fresh permutation; `report()` says how many epochs each has seen.
 * - Rows overlap by one token: a row reads T+1 tokens (inputs = first T, targets = last T) and the
 *   next row starts at the row's last token, so every token is predicted once.
 * - All randomness comes from a counter-based hash of (seed, source, epoch, index), so the loader's
 *   whole position is a few integers (`position`), saved in checkpoints and restored exactly.
 */
import { readTokenShard, readTokenShardHeader, type TokenShard } from '../data/token-shard.js';
import type { BatchSource } from './batch-source.js';

export interface SourceSpec {
  name: string;
  shards: string[];
  /** Sampling proportion (normalised over sources). */
  weight?: number;
  /** Alternatively: epochs of this source per `epochsOver` tokens of training (weights then follow). */
  epochs?: number;
}

export interface MixtureOptions {
  seed: number;
  seqLen: number;
  vocabSize: number;
  /** Token inserted before each document (-1: none). */
  bosId: number;
  /** Token appended after each document (-1: none). */
  eosId: number;
}

export interface SourcePosition { epoch: number; doc: number; offset: number; tokensDrawn: number }
export interface LoaderPosition { row: number; sources: SourcePosition[] }

// ---- counter-based hashing: the loader's only source of randomness ----
function mix32(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15; h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
/** A uniform number in [0, 1) determined by the integers given. */
export function hashUniform(...keys: number[]): number {
  let h = 0x9e3779b9;
  for (const k of keys) h = mix32((h ^ mix32((k >>> 0) + Math.floor(k / 4294967296))) + 0x9e3779b9);
  return h / 4294967296;
}

class Source {
  readonly shards: (TokenShard | null)[];
  readonly docStart: number[] = []; // first global doc index of each shard
  readonly docCount: number;
  readonly tokenCount: number;     // raw tokens, without BOS/EOS
  private perm: Uint32Array | null = null;
  private permEpoch = -1;
  pos: SourcePosition = { epoch: 0, doc: 0, offset: 0, tokensDrawn: 0 };

  constructor(readonly spec: SourceSpec, readonly index: number, readonly opts: MixtureOptions) {
    if (!spec.shards.length) throw new Error(`data source '${spec.name}' has no shards`);
    let docs = 0, tokens = 0;
    for (const p of spec.shards) {
      const h = readTokenShardHeader(p);
      if (h.vocabSize !== opts.vocabSize) {
        throw new Error(`token shard ${p} (source '${spec.name}'): vocabulary size ${h.vocabSize} differs from the model's ${opts.vocabSize}; re-tokenize it with the model's tokenizer`);
      }
      this.docStart.push(docs);
      docs += h.docCount;
      tokens += h.tokenCount;
    }
    this.shards = spec.shards.map(() => null);
    this.docCount = docs;
    this.tokenCount = tokens;
    const framing = (opts.bosId >= 0 ? 1 : 0) + (opts.eosId >= 0 ? 1 : 0);
    if (docs === 0 || tokens + framing * docs === 0) throw new Error(`data source '${spec.name}' has no tokens (${spec.shards.join(', ')})`);
  }

  /** Tokens per epoch as the rows see them (with BOS/EOS framing). */
  get framedTokens(): number {
    return this.tokenCount + this.docCount * ((this.opts.bosId >= 0 ? 1 : 0) + (this.opts.eosId >= 0 ? 1 : 0));
  }

  private permutation(epoch: number): Uint32Array {
    if (this.permEpoch === epoch && this.perm) return this.perm;
    const n = this.docCount;
    const p = this.perm && this.perm.length === n ? this.perm : new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) { // Fisher-Yates
      const j = Math.floor(hashUniform(this.opts.seed, 1, this.index, epoch, i) * (i + 1));
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    this.perm = p;
    this.permEpoch = epoch;
    return p;
  }

  private document(globalDoc: number): Uint16Array | Uint32Array {
    let s = this.docStart.length - 1;
    while (this.docStart[s] > globalDoc) s--; // few shards per source: linear is fine
    let shard = this.shards[s];
    if (!shard) {
      shard = readTokenShard(this.spec.shards[s], { expectVocabSize: this.opts.vocabSize });
      this.shards[s] = shard;
    }
    const i = globalDoc - this.docStart[s];
    return shard.tokens.subarray(i === 0 ? 0 : shard.docEnds[i - 1], shard.docEnds[i]);
  }

  /** Copies the next `n` framed tokens into out[at..at+n) without advancing past them; returns nothing. */
  read(out: Int32Array, at: number, n: number, advance: number): void {
    const { bosId, eosId } = this.opts;
    let { epoch, doc, offset } = this.pos;
    let written = 0;
    let adv = { epoch, doc, offset, set: false };
    while (written < n) {
      const d = this.document(this.permutation(epoch)[doc]);
      const lead = bosId >= 0 ? 1 : 0;
      const framedLen = lead + d.length + (eosId >= 0 ? 1 : 0);
      while (offset < framedLen && written < n) {
        if (written === advance && !adv.set) adv = { epoch, doc, offset, set: true };
        const k = offset - lead;
        out[at + written] = k < 0 ? bosId : k < d.length ? d[k] : eosId;
        written++;
        offset++;
      }
      if (offset >= framedLen) {
        offset = 0;
        doc++;
        if (doc >= this.docCount) { doc = 0; epoch++; }
      }
    }
    if (!adv.set) adv = { epoch, doc, offset, set: true };
    this.pos = { epoch: adv.epoch, doc: adv.doc, offset: adv.offset, tokensDrawn: this.pos.tokensDrawn + advance };
  }
}

export interface SourceReport { name: string; weight: number; tokens: number; tokensDrawn: number; epochs: number }

export class MixtureLoader implements BatchSource {
  private readonly sources: Source[];
  readonly weights: number[];
  private readonly cumulative: number[];
  private readonly lastUsable: number;
  private row = 0;

  constructor(specs: readonly SourceSpec[], readonly opts: MixtureOptions) {
    if (!specs.length) throw new Error('the data mixture has no sources');
    if (!Number.isInteger(opts.seqLen) || opts.seqLen < 1) throw new Error(`seqLen must be a positive integer, got ${opts.seqLen}`);
    for (const id of [opts.bosId, opts.eosId]) {
      if (id >= opts.vocabSize) throw new Error(`BOS/EOS id ${id} is outside the vocabulary of ${opts.vocabSize}`);
    }
    this.sources = specs.map((s, i) => new Source(s, i, opts));
    const byEpochs = specs.every((s) => s.epochs !== undefined);
    const byWeight = specs.every((s) => s.weight !== undefined);
    if (!byEpochs && !byWeight) {
      if (specs.length === 1) specs = [{ ...specs[0], weight: 1 }];
      else throw new Error(`data mixture: give every source a 'weight' or every source 'epochs' (${specs.map((s) => s.name).join(', ')})`);
    }
    const raw = byEpochs && !byWeight
      ? this.sources.map((s) => (s.spec.epochs as number) * s.framedTokens)
      : specs.map((s) => s.weight as number);
    raw.forEach((w, i) => { if (!(w >= 0) || !Number.isFinite(w)) throw new Error(`data source '${specs[i].name}': weight ${w} must be a finite number >= 0`); });
    const total = raw.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new Error('data mixture: the weights sum to 0');
    this.weights = raw.map((w) => w / total);
    let c = 0;
    this.cumulative = this.weights.map((w) => (c += w));
    // (rounding can leave the last cumulative weight a hair below 1: such draws go to the last source with weight)
    this.lastUsable = this.weights.reduce((last, w, i) => (w > 0 ? i : last), 0);
  }

  get seqLen(): number { return this.opts.seqLen; }

  /** Fills tokens[B*T] and targets[B*T] with the next B rows. */
  nextBatch(B: number, tokens: Int32Array, targets: Int32Array): void {
    const T = this.opts.seqLen;
    if (tokens.length < B * T || targets.length < B * T) throw new Error(`batch buffers hold ${tokens.length}/${targets.length} ids, need ${B * T}`);
    const row = new Int32Array(T + 1);
    for (let b = 0; b < B; b++) {
      const u = hashUniform(this.opts.seed, 0, this.row);
      let s = 0;
      while (s < this.lastUsable && (u >= this.cumulative[s] || this.weights[s] === 0)) s++;
      this.sources[s].read(row, 0, T + 1, T);
      tokens.set(row.subarray(0, T), b * T);
      targets.set(row.subarray(1, T + 1), b * T);
      this.row++;
    }
  }

  get position(): LoaderPosition {
    return { row: this.row, sources: this.sources.map((s) => ({ ...s.pos })) };
  }

  set position(p: LoaderPosition) {
    if (!p || !Number.isInteger(p.row) || !Array.isArray(p.sources) || p.sources.length !== this.sources.length) {
      throw new Error(`data position ${JSON.stringify(p)} does not match this mixture of ${this.sources.length} sources`);
    }
    p.sources.forEach((sp, i) => {
      const src = this.sources[i];
      if (!(sp.doc >= 0 && sp.doc < src.docCount) || !(sp.offset >= 0) || !(sp.epoch >= 0)) {
        throw new Error(`data position of source '${src.spec.name}' (${JSON.stringify(sp)}) is outside its ${src.docCount} documents: were its shards changed?`);
      }
    });
    this.row = p.row;
    p.sources.forEach((sp, i) => { this.sources[i].pos = { ...sp }; });
  }

  /** Per source: its weight, size, tokens drawn so far and the epochs that makes (Table 1's columns). */
  report(): SourceReport[] {
    return this.sources.map((s, i) => ({
      name: s.spec.name,
      weight: this.weights[i],
      tokens: s.framedTokens,
      tokensDrawn: s.pos.tokensDrawn,
      epochs: s.pos.tokensDrawn / s.framedTokens,
    }));
  }

  describe(): Record<string, unknown> {
    return { sources: this.report().map((r) => ({ name: r.name, weight: +r.weight.toFixed(4), epochs: +r.epochs.toFixed(4) })) };
  }

  /** Epochs each source would see over `trainTokens` tokens at these weights (Table 1's plan). */
  plannedEpochs(trainTokens: number): { name: string; epochs: number }[] {
    return this.sources.map((s, i) => ({ name: s.spec.name, epochs: (this.weights[i] * trainTokens) / s.framedTokens }));
  }
}
