/**
 * fastText's dictionary (src/dictionary.cc): words and labels with counts, the hashed character
 * n-gram buckets of every word, and the tokenizer that turns a line of bytes into input rows.
 *
 * Everything works on UTF-8 bytes, as fastText does: tokens split on ASCII whitespace and NUL, a
 * newline becomes the end-of-sentence token "</s>", char n-grams count UTF-8 characters (a byte
 * 10xxxxxx continues the previous character) inside "<" + word + ">", and n-gram ids are
 * `nwords + fnv1a(ngram) % bucket` (remapped through the prune index of a quantized model).
 */
import type { FastTextArgs } from './args.js';
import { fnv1a, mod64, wordNgramStep } from './hash.js';

export const EOS = '</s>';
export const BOW = 0x3c; // '<'
export const EOW = 0x3e; // '>'
export const WORD = 0;
export const LABEL = 1;

const utf8 = new TextEncoder();
const EOS_BYTES = utf8.encode(EOS);

export interface DictEntry {
  word: string;
  bytes: Uint8Array;
  count: number;
  type: number; // 0 word, 1 label
}

/** A growable int32 list, reused across lines to keep tokenization allocation-free. */
export class IntList {
  data: Int32Array;
  length = 0;
  constructor(capacity = 256) {
    this.data = new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  /** Makes room for `n` more values. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.data.length) return;
    let cap = this.data.length * 2;
    while (cap < need) cap *= 2;
    const d = new Int32Array(cap);
    d.set(this.data.subarray(0, this.length));
    this.data = d;
  }

  /** Appends all of `v` (one bounds check and a block copy). */
  pushAll(v: Int32Array): void {
    const need = this.length + v.length;
    if (need > this.data.length) {
      let cap = this.data.length * 2;
      while (cap < need) cap *= 2;
      const d = new Int32Array(cap);
      d.set(this.data.subarray(0, this.length));
      this.data = d;
    }
    this.data.set(v, this.length);
    this.length = need;
  }
  clear(): void {
    this.length = 0;
  }
}

export function isSpaceByte(c: number): boolean {
  // fastText's readWord separators: ' ', '\n', '\r', '\t', '\v', '\f', '\0'
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0b || c === 0x0c || c === 0;
}

export class Dictionary {
  readonly entries: DictEntry[];
  readonly nwords: number;
  readonly nlabels: number;
  ntokens: number;
  /** -1: not pruned; otherwise the number of kept n-gram buckets (quantize -cutoff). */
  readonly pruneIdxSize: number;
  readonly pruneIdx: Map<number, number>;
  readonly labelPrefix: Uint8Array;
  private readonly args: FastTextArgs;
  /** Open-addressing table: slot → entry id (-1 empty), keyed by fnv1a of the bytes. */
  private readonly table: Int32Array;
  private readonly tableMask: number;
  private readonly hashes: Uint32Array;
  /** Per word: its own id followed by its char n-gram rows (fastText's `subwords`). */
  readonly subwords: Int32Array[];
  private readonly ngramBuf = new Uint8Array(4096);

  constructor(
    args: FastTextArgs,
    entries: DictEntry[],
    ntokens: number,
    pruneIdxSize = -1,
    pruneIdx: Map<number, number> = new Map(),
    labelPrefix = '__label__',
  ) {
    this.args = args;
    this.entries = entries;
    this.ntokens = ntokens;
    this.pruneIdxSize = pruneIdxSize;
    this.pruneIdx = pruneIdx;
    this.labelPrefix = utf8.encode(labelPrefix);
    let nw = 0, nl = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.type === WORD) {
        if (nl > 0) throw new Error(`fastText dictionary: word "${e.word}" (entry ${i}) after a label; words must come first`);
        nw++;
      } else if (e.type === LABEL) nl++;
      else throw new Error(`fastText dictionary: entry ${i} ("${e.word}") has type ${e.type}; expected 0 (word) or 1 (label)`);
    }
    this.nwords = nw;
    this.nlabels = nl;
    let cap = 16;
    while (cap < entries.length * 2) cap *= 2;
    this.table = new Int32Array(cap).fill(-1);
    this.tableMask = cap - 1;
    this.hashes = new Uint32Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const b = entries[i].bytes;
      const h = fnv1a(b, 0, b.length);
      this.hashes[i] = h;
      let s = h & this.tableMask;
      while (this.table[s] !== -1) s = (s + 1) & this.tableMask;
      this.table[s] = i;
    }
    this.subwords = [];
    const tmp = new IntList();
    for (let i = 0; i < nw; i++) {
      tmp.clear();
      tmp.push(i);
      const w = entries[i].bytes;
      if (entries[i].word !== EOS) this.computeSubwords(w, 0, w.length, tmp);
      this.subwords.push(tmp.data.slice(0, tmp.length));
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** Entry id of bytes[start, end) with precomputed hash `h`, or -1. */
  find(bytes: Uint8Array, start: number, end: number, h: number): number {
    const len = end - start;
    let s = h & this.tableMask;
    for (;;) {
      const id = this.table[s];
      if (id === -1) return -1;
      if (this.hashes[id] === h) {
        const b = this.entries[id].bytes;
        if (b.length === len) {
          let eq = true;
          for (let k = 0; k < len; k++) if (b[k] !== bytes[start + k]) { eq = false; break; }
          if (eq) return id;
        }
      }
      s = (s + 1) & this.tableMask;
    }
  }

  getId(word: string): number {
    const b = utf8.encode(word);
    return this.find(b, 0, b.length, fnv1a(b, 0, b.length));
  }

  label(i: number): string {
    return this.entries[this.nwords + i].word;
  }

  /** Label counts in label-id order (the Huffman tree of hierarchical softmax is built from them). */
  labelCounts(): number[] {
    return this.entries.slice(this.nwords).map((e) => e.count);
  }

  private pushHash(out: IntList, id: number): void {
    if (this.pruneIdxSize === 0 || id < 0) return;
    if (this.pruneIdxSize > 0) {
      const m = this.pruneIdx.get(id);
      if (m === undefined) return;
      id = m;
    }
    out.push(this.nwords + id);
  }

  /** Char n-grams of "<" + bytes[start,end) + ">" (fastText `computeSubwords`). */
  computeSubwords(bytes: Uint8Array, start: number, end: number, out: IntList): void {
    const { minn, maxn, bucket } = this.args;
    if (maxn <= 0) return;
    const unpruned = this.pruneIdxSize < 0;
    const nwords = this.nwords;
    const len = end - start + 2;
    const w = len <= this.ngramBuf.length ? this.ngramBuf : new Uint8Array(len);
    w[0] = BOW;
    // A plain loop: words are short, and subarray() would allocate a view per word.
    for (let k = start; k < end; k++) w[k - start + 1] = bytes[k];
    w[len - 1] = EOW;
    for (let i = 0; i < len; i++) {
      if ((w[i] & 0xc0) === 0x80) continue;
      // Hash incrementally: the FNV state after n characters is the hash of that n-gram.
      let h = 0x811c9dc5;
      for (let j = i, n = 1; j < len && n <= maxn; n++) {
        do {
          const b = w[j++];
          h ^= b < 0x80 ? b : b | 0xffffff00;
          h = Math.imul(h, 16777619);
        } while (j < len && (w[j] & 0xc0) === 0x80);
        if (n >= minn && !(n === 1 && (i === 0 || j === len))) {
          // (h as uint32) % bucket by a float division: exact here (the quotient can only round
          // up to the next integer, which the r < 0 test undoes) and much cheaper than a uint32 `%`.
          const hu = h >>> 0;
          let r = hu - Math.floor(hu / bucket) * bucket;
          if (r < 0) r += bucket;
          if (unpruned) {
            // inlined IntList.push of nwords + bucket id (the common, unpruned case)
            if (out.length === out.data.length) out.push(nwords + r);
            else out.data[out.length++] = nwords + r;
          } else this.pushHash(out, r);
        }
      }
    }
  }

  private isLabel(bytes: Uint8Array, start: number, end: number): boolean {
    const p = this.labelPrefix;
    if (end - start < p.length) return false;
    for (let k = 0; k < p.length; k++) if (bytes[start + k] !== p[k]) return false;
    return true;
  }

  /**
   * fastText `getLine` over bytes[start, end) (one line, no newline inside): input rows into `words`,
   * label ids into `labels`. `eos` appends the "</s>" token that the newline would have produced.
   * Returns the number of tokens read (labels and "</s>" included), fastText's progress unit.
   */
  getLine(bytes: Uint8Array, start: number, end: number, eos: boolean, words: IntList, labels: IntList, wordHashes: IntList): number {
    words.clear();
    labels.clear();
    wordHashes.clear();
    let ntokens = 0;
    let i = start;
    while (i < end) {
      while (i < end && isSpaceByte(bytes[i])) i++;
      if (i >= end) break;
      const ws = i;
      while (i < end && !isSpaceByte(bytes[i])) i++;
      ntokens++;
      this.addToken(bytes, ws, i, words, labels, wordHashes);
    }
    if (eos) {
      ntokens++;
      this.addToken(EOS_BYTES, 0, EOS_BYTES.length, words, labels, wordHashes);
    }
    if (this.args.wordNgrams > 1) this.addWordNgrams(words, wordHashes);
    return ntokens;
  }

  private addToken(bytes: Uint8Array, s: number, e: number, words: IntList, labels: IntList, wordHashes: IntList): void {
    const h = fnv1a(bytes, s, e);
    const wid = this.find(bytes, s, e, h);
    const type = wid < 0 ? (this.isLabel(bytes, s, e) ? LABEL : WORD) : this.entries[wid].type;
    if (type === WORD) {
      if (wid < 0) {
        // Out of vocabulary: only its char n-grams (none for "</s>").
        if (!(e - s === 4 && bytes[s] === 0x3c && bytes[s + 1] === 0x2f && bytes[s + 2] === 0x73 && bytes[s + 3] === 0x3e)) {
          this.oovSubwords(bytes, s, e, h, words);
        }
      } else if (this.args.maxn <= 0) {
        words.push(wid);
      } else {
        words.pushAll(this.subwords[wid]);
      }
      wordHashes.push(h | 0);
    } else if (wid >= 0) {
      labels.push(wid - this.nwords);
    }
  }

  /**
   * Char n-gram rows of recently seen out-of-vocabulary words: a direct-mapped cache (slot = hash
   * & mask, the bytes compared on a hit, a collision replaces) in preallocated typed arrays, so
   * neither hits nor misses allocate. Text repeats its rare words; unique words cost one copy.
   */
  private static readonly OOV_SLOTS = 4096;
  private static readonly OOV_MAX_BYTES = 64;
  private oovMaxRows = 0;
  private oovHash: Int32Array | null = null;
  private oovLen: Int16Array | null = null; // -1: empty
  private oovRowCount: Int16Array | null = null;
  private oovBytes: Uint8Array | null = null;
  private oovRows: Int32Array | null = null;

  private oovSubwords(bytes: Uint8Array, s: number, e: number, h: number, out: IntList): void {
    const len = e - s;
    if (!this.oovHash) {
      const { minn, maxn } = this.args;
      this.oovMaxRows = (Dictionary.OOV_MAX_BYTES + 2) * Math.max(1, maxn - minn + 1);
      this.oovHash = new Int32Array(Dictionary.OOV_SLOTS);
      this.oovLen = new Int16Array(Dictionary.OOV_SLOTS).fill(-1);
      this.oovRowCount = new Int16Array(Dictionary.OOV_SLOTS);
      this.oovBytes = new Uint8Array(Dictionary.OOV_SLOTS * Dictionary.OOV_MAX_BYTES);
      this.oovRows = new Int32Array(Dictionary.OOV_SLOTS * this.oovMaxRows);
    }
    const slot = h & (Dictionary.OOV_SLOTS - 1);
    const hashes = this.oovHash, lens = this.oovLen!, counts = this.oovRowCount!, cb = this.oovBytes!, rows = this.oovRows!;
    const bOff = slot * Dictionary.OOV_MAX_BYTES, rOff = slot * this.oovMaxRows;
    if (hashes[slot] === (h | 0) && lens[slot] === len) {
      let eq = true;
      for (let k = 0; k < len; k++) if (cb[bOff + k] !== bytes[s + k]) { eq = false; break; }
      if (eq) {
        const n = counts[slot];
        out.reserve(n);
        const d = out.data;
        let o = out.length;
        for (let k = 0; k < n; k++) d[o++] = rows[rOff + k];
        out.length = o;
        return;
      }
    }
    const start = out.length;
    this.computeSubwords(bytes, s, e, out);
    const n = out.length - start;
    if (len > Dictionary.OOV_MAX_BYTES || n > this.oovMaxRows) return; // long tokens are not kept
    hashes[slot] = h | 0;
    lens[slot] = len;
    counts[slot] = n;
    for (let k = 0; k < len; k++) cb[bOff + k] = bytes[s + k];
    const d = out.data;
    for (let k = 0; k < n; k++) rows[rOff + k] = d[start + k];
  }

  private readonly ngramState = new Uint32Array(2);

  private addWordNgrams(words: IntList, hashes: IntList): void {
    const n = this.args.wordNgrams;
    const st = this.ngramState;
    const bucket = this.args.bucket;
    const r = 4294967296 % bucket;
    for (let i = 0; i < hashes.length; i++) {
      const hi = hashes.data[i];
      st[0] = hi < 0 ? 0xffffffff : 0;
      st[1] = hi >>> 0;
      for (let j = i + 1; j < hashes.length && j < i + n; j++) {
        wordNgramStep(st, hashes.data[j]);
        this.pushHash(words, mod64(st[0], st[1], bucket, r));
      }
    }
  }
}
