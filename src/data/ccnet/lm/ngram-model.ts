/**
 * A back-off n-gram language model as stored in ARPA files, queried as KenLM queries it: log10
 * probabilities, the sentence wrapped in <s> … </s>, unknown words mapped to <unk>, and for an
 * n-gram not in the model the back-off weights of the longer contexts added to the probability of
 * the shorter one:  log p(w | c1..ck) = log p*(c1..ck w)            if stored,
 *                                     = bo(c1..ck) + log p(w | c2..ck) otherwise (bo = 0 if absent).
 */

export const BOS = '<s>';
export const EOS = '</s>';
export const UNK = '<unk>';

export interface NgramEntry {
  /** log10 probability of the last word given the others */
  logProb: number;
  /** log10 back-off weight when this n-gram is a context (0 if it never is) */
  backoff: number;
}

/** Key of an n-gram of word ids: two UTF-16 units per id, so any vocabulary size fits. */
export function ngramKey(ids: ArrayLike<number>, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(ids[i] & 0xffff, ids[i] >>> 16);
  return s;
}

/**
 * Open-addressing table from a packed n-gram (an integer < 2^52 stored in a double) to its
 * log-probability and back-off: typed arrays, so lookups neither allocate nor box the key.
 */
export class PackedNgramTable {
  readonly keys: Float64Array;
  readonly logProb: Float64Array;
  readonly backoff: Float64Array;
  private readonly mask: number;

  constructor(size: number) {
    let cap = 16;
    while (cap < size * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.logProb = new Float64Array(cap);
    this.backoff = new Float64Array(cap);
    this.mask = cap - 1;
  }

  private home(key: number): number {
    const hi = Math.floor(key / 4294967296);
    const lo = key - hi * 4294967296;
    return (Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) ^ (lo >>> 15)) & this.mask;
  }

  set(key: number, logProb: number, backoff: number): void {
    let i = this.home(key);
    while (this.keys[i] !== -1 && this.keys[i] !== key) i = (i + 1) & this.mask;
    this.keys[i] = key;
    this.logProb[i] = logProb;
    this.backoff[i] = backoff;
  }

  /** Slot of `key`, or -1. */
  find(key: number): number {
    let i = this.home(key);
    for (;;) {
      const k = this.keys[i];
      if (k === key) return i;
      if (k === -1) return -1;
      i = (i + 1) & this.mask;
    }
  }
}

/** Splits on ASCII whitespace only, as KenLM does (it splits UTF-8 bytes). */
export function splitAsciiSpace(line: string): string[] {
  return line.split(/[ \t\n\v\f\r]+/).filter((w) => w.length > 0);
}

export class NgramModel {
  readonly order: number;
  readonly vocab = new Map<string, number>();
  readonly words: string[] = [];
  /** tables[n-1]: n-gram key → entry */
  readonly tables: Map<string, NgramEntry>[];
  private readonly unkId: number;
  private ids = new Int32Array(256);
  /**
   * Query index built on first use: when order × bits-per-id fits in 52 bits, each n-gram is a
   * number (ids packed in base 2^bits) and lookups skip building key strings. Reset by `set`.
   */
  private numeric: { bits: number; base: number; tables: PackedNgramTable[] } | null = null;
  private numericTried = false;

  constructor(order: number) {
    if (!Number.isInteger(order) || order < 1) throw new Error(`n-gram order must be a positive integer (got ${order})`);
    this.order = order;
    this.tables = Array.from({ length: order }, () => new Map());
    this.unkId = this.wordId(UNK);
    this.wordId(BOS);
    this.wordId(EOS);
  }

  /** Id of a word, added to the vocabulary when new. */
  wordId(w: string): number {
    let id = this.vocab.get(w);
    if (id === undefined) {
      id = this.words.length;
      this.vocab.set(w, id);
      this.words.push(w);
    }
    return id;
  }

  set(words: readonly string[], entry: NgramEntry): void {
    if (words.length < 1 || words.length > this.order) throw new Error(`n-gram "${words.join(' ')}" has order ${words.length}, model order is ${this.order}`);
    const ids = words.map((w) => this.wordId(w));
    this.tables[words.length - 1].set(ngramKey(ids, 0, ids.length), entry);
    this.numeric = null;
    this.numericTried = false;
  }

  get(words: readonly string[]): NgramEntry | undefined {
    const ids = words.map((w) => this.vocab.get(w) ?? -1);
    if (ids.includes(-1) || words.length > this.order || words.length === 0) return undefined;
    return this.tables[words.length - 1].get(ngramKey(ids, 0, ids.length));
  }

  /** Number of n-grams of each order. */
  counts(): number[] {
    return this.tables.map((t) => t.size);
  }

  private buildNumeric(): void {
    this.numericTried = true;
    const bits = Math.max(1, Math.ceil(Math.log2(this.words.length + 1)));
    if (bits * this.order > 52) return;
    const base = 2 ** bits;
    const tables = this.tables.map((t) => {
      const m = new PackedNgramTable(t.size);
      for (const [key, e] of t) {
        let k = 0;
        for (let j = 0; j < key.length; j += 2) k = k * base + (key.charCodeAt(j) | (key.charCodeAt(j + 1) << 16));
        m.set(k, e.logProb, e.backoff);
      }
      return m;
    });
    this.numeric = { bits, base, tables };
  }

  /** log10 p(ids[pos] | ids[max(0,pos-order+1) .. pos-1]) with back-off. */
  private wordLogProb(ids: Int32Array, pos: number): number {
    if (!this.numericTried) this.buildNumeric();
    const maxCtx = Math.min(this.order - 1, pos);
    const num = this.numeric;
    let n = maxCtx + 1;
    let entry: NgramEntry | undefined;
    if (num) {
      // keys[m] = n-gram of length m ending at pos, built right to left
      const base = num.base; // (a precomputed power: `2 ** bits` here was most of the query time)
      let key = 0, mul = 1;
      const keys = this.keyBuf;
      for (let m = 1; m <= maxCtx + 1; m++) {
        key += ids[pos - m + 1] * mul;
        mul *= base;
        keys[m] = key;
      }
      let slot = -1;
      for (; n >= 1; n--) {
        slot = num.tables[n - 1].find(keys[n]);
        if (slot >= 0) break;
      }
      if (slot < 0) throw new Error(`model has no unigram for "${this.words[ids[pos]]}" (an ARPA file must list <unk>)`);
      let lp = num.tables[n - 1].logProb[slot];
      // Back-off weights of the contexts longer than the matched one: context of length m is the
      // m-gram ending at pos - 1, i.e. (keys[m + 1] - ids[pos]) / base.
      for (let m = n; m <= maxCtx; m++) {
        const t = num.tables[m - 1];
        const c = t.find((keys[m + 1] - ids[pos]) / base);
        if (c >= 0) lp += t.backoff[c];
      }
      return lp;
    }
    // Find the longest stored n-gram ending at pos.
    for (; n >= 1; n--) {
      entry = this.tables[n - 1].get(ngramKey(ids, pos - n + 1, pos + 1));
      if (entry) break;
    }
    if (!entry) throw new Error(`model has no unigram for "${this.words[ids[pos]]}" (an ARPA file must list <unk>)`);
    let lp = entry.logProb;
    // Add the back-off weights of the contexts longer than the matched one.
    for (let m = n; m <= maxCtx; m++) {
      const ctx = this.tables[m - 1].get(ngramKey(ids, pos - m, pos));
      if (ctx) lp += ctx.backoff;
    }
    return lp;
  }

  private readonly keyBuf = new Float64Array(64);

  /** log10 probability of a tokenized sentence with <s> and </s>, as KenLM `model.score(line)`. */
  scoreTokens(tokens: readonly string[], bos = true, eos = true): number {
    const n = tokens.length + (bos ? 1 : 0) + (eos ? 1 : 0);
    if (this.ids.length < n) this.ids = new Int32Array(n * 2);
    const ids = this.ids;
    let k = 0;
    if (bos) ids[k++] = this.vocab.get(BOS)!;
    for (const t of tokens) ids[k++] = this.vocab.get(t) ?? this.unkId;
    if (eos) ids[k++] = this.vocab.get(EOS)!;
    let total = 0;
    for (let i = bos ? 1 : 0; i < k; i++) total += this.wordLogProb(ids, i);
    return total;
  }

  /** Scores a line split on ASCII whitespace (KenLM's Python `score(sentence)`). */
  score(line: string, bos = true, eos = true): number {
    return this.scoreTokens(splitAsciiSpace(line), bos, eos);
  }

  /** Perplexity of one sentence: 10^(-log10 p / (words + 1)), the +1 for </s>. */
  perplexity(line: string): number {
    const t = splitAsciiSpace(line);
    return 10 ** (-this.scoreTokens(t) / (t.length + 1));
  }
}
