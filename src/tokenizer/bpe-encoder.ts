/**
 * BPE segmentation exactly as SentencePiece's bpe_model.cc (Model::SampleEncode without dropout)
 * plus the piece → id step of SentencePieceProcessor (byte fallback, runs of <unk> merged).
 *
 * The algorithm: split the normalized text into characters (user-defined symbols are one frozen
 * symbol each), push every adjacent pair that forms a known piece onto a max-heap keyed by
 * (score desc, left position asc), pop, skip pairs made stale by earlier merges, merge, push the
 * two new neighbour pairs. UNUSED pieces may be merged through but are then split back into the
 * two halves they were formed from (the last formation recorded in the sentence wins, as in C++).
 *
 * Speed: when no piece can span the boundary before a "▁" that follows a non-"▁" character, and
 * the model has no UNUSED pieces, merges inside one such word never interact with another word,
 * so each word is segmented once and its ids cached (SentencePiece has no cache). Short words
 * whose characters are all pieces are segmented by an allocation-free scan over ids; everything
 * else (unknown characters, user-defined symbols, long runs) takes the general heap path.
 */
import { PieceType } from './model-proto.js';
import { SPACE_SYMBOL } from './normalizer.js';
import type { Vocab } from './vocab.js';
import { appendIds, piecesOf, type EncodedPiece, type SegmentEncoder } from './piece-ids.js';
import { IntTable } from './int-table.js';

interface Pair { score: number; left: number; right: number; size: number }

/** A binary max-heap of pairs: higher score first, then the leftmost pair (SymbolPairComparator). */
class PairHeap {
  private items: Pair[] = [];
  get length(): number { return this.items.length; }
  private static before(a: Pair, b: Pair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(p: Pair): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!PairHeap.before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }
  pop(): Pair {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && PairHeap.before(a[l], a[m])) m = l;
        if (r < a.length && PairHeap.before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

const MAX_CACHE_ENTRIES = 1 << 18;
const MAX_CACHED_WORD = 256;
const MAX_PAIR_ENTRIES = 1 << 22;

export class BpeEncoder implements SegmentEncoder {
  /** Whether per-word segmentation (and the cache) gives the same result as whole-text BPE. */
  readonly wordwise: boolean;
  private readonly userByFirstUnit = new Map<number, string[]>();
  private readonly cache = new Map<string, Int32Array>();
  /** Whether words may take the scan-based path (no frozen symbols, no piece both reserved and normal). */
  private readonly scanWords: boolean;
  /**
   * left id × vocab size + right id → id of the piece their concatenation forms, or -1: filled on
   * first use, so a pair seen before needs no string work.
   */
  private readonly pairTable = new IntTable(1 << 12);

  constructor(private readonly vocab: Vocab) {
    for (const s of vocab.userDefinedSymbols) {
      const list = this.userByFirstUnit.get(s.charCodeAt(0)) ?? [];
      list.push(s);
      list.sort((x, y) => y.length - x.length);
      this.userByFirstUnit.set(s.charCodeAt(0), list);
    }
    let crossing = false;
    for (const piece of vocab.mergeable.keys()) {
      // A "▁" right after something else (a pair of UTF-16 units never contains U+2581's unit).
      for (let k = piece.indexOf(SPACE_SYMBOL, 1); k > 0; k = piece.indexOf(SPACE_SYMBOL, k + 1)) {
        if (piece.charCodeAt(k - 1) !== 0x2581) { crossing = true; break; }
      }
      if (crossing) break;
    }
    this.wordwise = !crossing && !vocab.hasUnused;
    let overlap = false;
    for (const piece of vocab.reserved.keys()) if (vocab.mergeable.has(piece)) { overlap = true; break; }
    // Pair keys are left × size + right in an int32 table: vocabularies up to 46340 pieces.
    this.scanWords = this.wordwise && this.userByFirstUnit.size === 0 && !overlap && vocab.size * vocab.size < 0x7fffffff;
  }

  /** Code unit → id of that one-character piece (-1: none, -2: not looked up yet), for the BMP. */
  private readonly charIds = new Int32Array(65536).fill(-2);
  private scratchIds = new Int32Array(128);
  private scratchPairs = new Int32Array(128);

  /**
   * BPE of one short word by scanning, on ids only: at each step merge the adjacent pair whose
   * piece has the highest score, the leftmost on ties. This is what the heap in encodePieces
   * yields (its stale entries are exactly the pairs no longer adjacent), without allocating.
   * Returns false (and writes nothing) when a character is not a piece: the caller then takes the
   * general path, which handles unknown characters.
   */
  private encodeWordScan(word: string, out: number[]): boolean {
    const { mergeable, scores } = this.vocab;
    if (word.length > this.scratchIds.length) { this.scratchIds = new Int32Array(word.length * 2); this.scratchPairs = new Int32Array(word.length * 2); }
    const ids = this.scratchIds;
    const pair = this.scratchPairs;
    let n = 0;
    for (let i = 0; i < word.length; i++) {
      const c = word.charCodeAt(i);
      let id: number;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < word.length) {
        id = mergeable.get(word.slice(i, i + 2)) ?? -1;
        i++;
      } else {
        id = this.charIds[c];
        if (id === -2) { id = mergeable.get(String.fromCharCode(c)) ?? -1; this.charIds[c] = id; }
      }
      if (id < 0) return false;
      ids[n++] = id;
    }
    for (let i = 0; i + 1 < n; i++) pair[i] = this.mergedIdOf(ids[i], ids[i + 1]);
    for (;;) {
      let best = -1;
      let bestScore = -Infinity;
      for (let i = 0; i + 1 < n; i++) {
        const m = pair[i];
        if (m >= 0 && scores[m] > bestScore) { bestScore = scores[m]; best = i; }
      }
      if (best < 0) break;
      ids[best] = pair[best];
      // Remove symbol best+1 (plain loops: copyWithin's call costs more on these short arrays).
      for (let i = best + 1; i + 1 < n; i++) ids[i] = ids[i + 1];
      for (let i = best; i + 2 < n; i++) pair[i] = pair[i + 1];
      n--;
      if (best > 0) pair[best - 1] = this.mergedIdOf(ids[best - 1], ids[best]);
      if (best + 1 < n) pair[best] = this.mergedIdOf(ids[best], ids[best + 1]);
    }
    for (let i = 0; i < n; i++) out.push(ids[i]);
    return true;
  }

  private mergedIdOf(a: number, b: number): number {
    const key = a * this.vocab.size + b;
    let v = this.pairTable.get(key, -2);
    if (v === -2) {
      v = this.vocab.mergeable.get(this.vocab.pieces[a] + this.vocab.pieces[b]) ?? -1;
      // Bounded: a pathological input cannot grow the table without limit.
      if (this.pairTable.size < MAX_PAIR_ENTRIES) this.pairTable.set(key, v);
    }
    return v;
  }

  /** Splits text into initial symbols: user-defined symbols (frozen) or single code points. */
  private split(text: string): { symbols: string[]; frozen: boolean[] | null } {
    const symbols: string[] = [];
    if (this.userByFirstUnit.size === 0) {
      for (const ch of text) symbols.push(ch);
      return { symbols, frozen: null };
    }
    const frozen: boolean[] = [];
    let i = 0;
    while (i < text.length) {
      const cands = this.userByFirstUnit.get(text.charCodeAt(i));
      const hit = cands?.find((u) => text.startsWith(u, i));
      if (hit) { symbols.push(hit); frozen.push(true); i += hit.length; continue; }
      const cp = text.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      symbols.push(text.slice(i, i + len)); frozen.push(false); i += len;
    }
    return { symbols, frozen };
  }

  /** bpe_model.cc SampleEncode: the final (piece, id) sequence of a normalized text. */
  encodePieces(normalized: string): EncodedPiece[] {
    if (normalized.length === 0) return [];
    const { symbols, frozen } = this.split(normalized);
    const n = symbols.length;
    const prev = new Int32Array(n);
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
    const { mergeable, scores, types } = this.vocab;
    const revMerge = this.vocab.hasUnused ? new Map<string, [string, string]>() : null;
    const heap = new PairHeap();
    const maybeAdd = (left: number, right: number): void => {
      if (left === -1 || right === -1) return;
      if (frozen && (frozen[left] || frozen[right])) return;
      const piece = symbols[left] + symbols[right];
      const id = mergeable.get(piece);
      if (id === undefined) return;
      heap.push({ score: scores[id], left, right, size: piece.length });
      if (revMerge && types[id] === PieceType.UNUSED) revMerge.set(piece, [symbols[left], symbols[right]]);
    };
    for (let i = 1; i < n; i++) maybeAdd(i - 1, i);
    while (heap.length > 0) {
      const top = heap.pop();
      const l = symbols[top.left], r = symbols[top.right];
      if (l.length === 0 || r.length === 0 || l.length + r.length !== top.size) continue;
      symbols[top.left] = l + r;
      next[top.left] = next[top.right];
      if (next[top.right] >= 0) prev[next[top.right]] = top.left;
      symbols[top.right] = '';
      maybeAdd(prev[top.left], top.left);
      maybeAdd(top.left, next[top.left]);
    }
    const out: EncodedPiece[] = [];
    const resegment = (w: string): void => {
      const id = this.vocab.pieceToId(w);
      const split = types[id] === PieceType.UNUSED ? revMerge?.get(w) : undefined;
      if (!split) { out.push({ piece: w, id }); return; }
      resegment(split[0]);
      resegment(split[1]);
    };
    for (let i = 0; i !== -1; i = next[i]) resegment(symbols[i]);
    return out;
  }

  private appendIds(pieces: EncodedPiece[], out: number[], prevUnk: boolean): boolean {
    return appendIds(this.vocab, pieces, out, prevUnk);
  }

  /** Ids of a normalized text. */
  encodeIds(normalized: string, out: number[] = []): number[] {
    if (!this.wordwise) { this.appendIds(this.encodePieces(normalized), out, false); return out; }
    const unkId = this.vocab.unkId;
    const mergeUnks = !this.vocab.byteFallback;
    let prevUnk = false;
    let start = 0;
    const len = normalized.length;
    while (start < len) {
      // The next word starts at the first "▁" that follows a non-"▁" character.
      let end = start;
      while (end < len && normalized.charCodeAt(end) === 0x2581) end++;
      end = normalized.indexOf(SPACE_SYMBOL, end);
      if (end < 0) end = len;
      const word = normalized.slice(start, end);
      let ids = this.cache.get(word);
      if (ids === undefined) {
        const tmp: number[] = [];
        if (!(this.scanWords && word.length <= 64 && this.encodeWordScan(word, tmp))) this.appendIds(this.encodePieces(word), tmp, false);
        ids = Int32Array.from(tmp);
        // Long runs without spaces (base64, URLs, CJK text) rarely repeat: not worth keeping.
        if (word.length <= MAX_CACHED_WORD) {
          if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
          this.cache.set(word, ids);
        }
      }
      let k = 0;
      if (mergeUnks && prevUnk && ids.length > 0 && ids[0] === unkId) k = 1;
      for (; k < ids.length; k++) out.push(ids[k]);
      if (ids.length > 0) prevUnk = ids[ids.length - 1] === unkId;
      start = end;
    }
    return out;
  }

  /** Pieces as SentencePiece's EncodeAsPieces reports them (byte pieces, merged <unk> runs). */
  encodeAsPieces(normalized: string): string[] {
    return piecesOf(this.vocab, this.encodePieces(normalized));
  }
}
