/**
 * The BPE merge loop of SentencePiece's bpe_model_trainer.cc, reproduced step for step so the same
 * corpus gives the same pieces in the same order:
 * - a symbol is a character or a pair (left symbol, right symbol); pairs are identified by their
 *   two parts, so "a"+"bc" and "ab"+"c" are different symbols with the same text;
 * - each pair symbol keeps its positions (word, left index, right index) in sorted order, and its
 *   frequency is recomputed lazily (0 = stale), counting "AAA" as one "AA";
 * - only "active" symbols are candidates: every 100 pieces the top 5% most frequent (at least
 *   1000) of all symbols are chosen again;
 * - the best candidate has the highest frequency, then the fewest characters, then the smallest
 *   text (code point order); a text chosen twice is dropped the second time;
 * - merging the best symbol resets the frequencies of its neighbouring pairs and adds new pairs.
 */
import { isValidPiece, UNK_CHAR, type PieceRules } from './piece-rules.js';

const POS_SID = 4294967296; // positions: sid * 2^32 + left * 2^16 + right (exact in a double)
const PAIR_KEY = 67108864;  // pair symbols are keyed by left * 2^26 + right

export interface MergeInput {
  words: string[];
  counts: number[];
  /** Characters in the alphabet with their counts (GetCharSymbol's initial frequency). */
  requiredChars: Map<number, number>;
  rules: PieceRules;
  /** How many pieces to produce. */
  target: number;
  onProgress?: (done: number, target: number, piece: string, freq: number) => void;
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/** Compares two strings by code point (the byte order of their UTF-8), as std::string's < does. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (code points above U+FFFF) sort after U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

export function runBpeMerges(input: MergeInput): string[] {
  const { words: wordTexts, counts, requiredChars, rules, target } = input;
  // Symbol table (struct of arrays).
  const symLeft: number[] = [];
  const symRight: number[] = [];
  const symText: string[] = [];
  const symLen: number[] = []; // length in code points
  const symFreq: number[] = [];
  const symUnk: boolean[] = [];
  const symPos: number[][] = [];
  const symSorted: boolean[] = [];
  const charSym = new Map<number, number>();
  const pairSym = new Map<number, number>();
  const invalidPairs = new Set<number>();
  let cacheSize = 0; // symbols_cache_.size(): live char + pair symbols

  const newSymbol = (left: number, right: number, text: string, len: number, freq: number, unk: boolean): number => {
    const id = symText.length;
    symLeft.push(left); symRight.push(right); symText.push(text); symLen.push(len);
    symFreq.push(freq); symUnk.push(unk); symPos.push([]); symSorted.push(true);
    cacheSize++;
    return id;
  };
  const charSymbol = (c: number): number => {
    let id = charSym.get(c);
    if (id === undefined) {
      id = newSymbol(-1, -1, String.fromCodePoint(c), 1, requiredChars.get(c) ?? 1, c === UNK_CHAR);
      charSym.set(c, id);
    }
    return id;
  };
  const pairSymbol = (l: number, r: number): number => {
    if (l < 0 || r < 0 || symUnk[l] || symUnk[r]) return -1;
    const key = l * PAIR_KEY + r;
    const id = pairSym.get(key);
    if (id !== undefined) return id;
    if (invalidPairs.has(key)) return -1;
    const len = symLen[l] + symLen[r];
    const text = symText[l] + symText[r];
    if (len > rules.maxPieceLength || !isValidPiece(codePoints(text), rules)) { invalidPairs.add(key); return -1; }
    const s = newSymbol(l, r, text, len, 0, false);
    pairSym.set(key, s);
    return s;
  };

  // symbols_[sid][i]: the symbol at each character position of each word (-1 once merged away),
  // all words in one flat array (a typed array per word costs ~100 bytes each in V8).
  const wordStart = new Int32Array(wordTexts.length + 1);
  let totalChars = 0;
  for (let sid = 0; sid < wordTexts.length; sid++) {
    for (const _ of wordTexts[sid]) totalChars++;
    wordStart[sid + 1] = totalChars;
  }
  const flat = new Int32Array(totalChars);
  for (let sid = 0, k = 0; sid < wordTexts.length; sid++) {
    for (const ch of wordTexts[sid]) flat[k++] = charSymbol(ch.codePointAt(0)!);
  }
  const wordCount = wordTexts.length;

  const addNewPair = (sid: number, left: number, right: number): void => {
    if (left === -1 || right === -1) return;
    const base = wordStart[sid];
    const s = pairSymbol(flat[base + left], flat[base + right]);
    if (s < 0) return;
    active.add(s);
    const p = sid * POS_SID + left * 65536 + right;
    const list = symPos[s];
    const last = list.length ? list[list.length - 1] : -1;
    if (p === last) return; // std::set semantics
    if (p < last) symSorted[s] = false;
    list.push(p);
  };
  const positionsOf = (s: number): number[] => {
    if (!symSorted[s]) {
      const uniq = [...new Set(symPos[s])].sort((a, b) => a - b);
      symPos[s] = uniq;
      symSorted[s] = true;
    }
    return symPos[s];
  };
  const computeFreq = (s: number): void => {
    if (symFreq[s] > 0) return;
    const list = positionsOf(s);
    let kept = 0; // filtered in place: this runs millions of times, so no new arrays
    let prevSid = -1, prevRight = 0;
    let freq = 0;
    const L = symLeft[s], R = symRight[s];
    for (const p of list) {
      const sid = Math.floor(p / POS_SID);
      const rem = p - sid * POS_SID;
      const left = Math.floor(rem / 65536), right = rem & 0xffff;
      const base = wordStart[sid];
      if ((sid === prevSid && left === prevRight) || flat[base + left] !== L || flat[base + right] !== R) {
        prevSid = -1; prevRight = 0;
      } else {
        freq += counts[sid];
        prevSid = sid; prevRight = right;
        list[kept++] = p;
      }
    }
    list.length = kept;
    symFreq[s] = freq;
  };
  const nextIndex = (sid: number, i: number): number => {
    const base = wordStart[sid], len = wordStart[sid + 1] - base;
    for (let k = i + 1; k < len; k++) if (flat[base + k] !== -1) return k;
    return -1;
  };
  const prevIndex = (sid: number, i: number): number => {
    const base = wordStart[sid];
    for (let k = i - 1; k >= 0; k--) if (flat[base + k] !== -1) return k;
    return -1;
  };
  const resetFreq = (sid: number, left: number, right: number, best: number): void => {
    if (left === -1 || right === -1) return;
    const base = wordStart[sid];
    const s = pairSymbol(flat[base + left], flat[base + right]);
    if (s >= 0 && s !== best) symFreq[s] = 0;
  };

  let active = new Set<number>();
  for (let sid = 0; sid < wordCount; sid++) for (let i = 1; i < wordStart[sid + 1] - wordStart[sid]; i++) addNewPair(sid, i - 1, i);

  const updateActive = (): void => {
    const live: number[] = [];
    for (const s of pairSym.values()) { computeFreq(s); live.push(s); }
    const size = Math.min(Math.max(1000, Math.trunc(cacheSize * 0.05)), live.length);
    // The size-th largest frequency (selection, linear time).
    const freqs = new Float64Array(live.length); // (TypedArray.from with a map function is slow)
    for (let i = 0; i < live.length; i++) freqs[i] = symFreq[live[i]];
    const threshold = size > 0 ? kthLargest(freqs, size) : Infinity;
    const next = new Set<number>();
    for (const s of live) if (symFreq[s] > threshold) next.add(s);
    // Ties at the threshold: SentencePiece's partial_sort takes an unspecified subset of them.
    for (const s of live) { if (next.size >= size) break; if (symFreq[s] === threshold) next.add(s); }
    active = next;
  };

  const final: string[] = [];
  const dup = new Set<string>();
  while (final.length < target) {
    if (final.length % 100 === 0) updateActive();
    let best = -1;
    for (const s of active) {
      computeFreq(s);
      if (best < 0) { best = s; continue; }
      const f = symFreq[s], bf = symFreq[best];
      if (f > bf || (f === bf && (symLen[s] < symLen[best] ||
          (symLen[s] === symLen[best] && compareCodePoints(symText[s], symText[best]) < 0)))) best = s;
    }
    if (best < 0) break;
    const bestKey = symLeft[best] * PAIR_KEY + symRight[best];
    const text = symText[best];
    if (dup.has(text)) {
      if (pairSym.get(bestKey) === best) { pairSym.delete(bestKey); cacheSize--; }
      active.delete(best);
      continue;
    }
    dup.add(text);
    final.push(text);
    input.onProgress?.(final.length, target, text, symFreq[best]);
    for (const p of positionsOf(best)) {
      const sid = Math.floor(p / POS_SID);
      const rem = p - sid * POS_SID;
      const left = Math.floor(rem / 65536), right = rem & 0xffff;
      const base = wordStart[sid];
      if (flat[base + left] === -1) continue;
      const next = nextIndex(sid, right);
      const prev = prevIndex(sid, left);
      resetFreq(sid, prev, left, best);
      resetFreq(sid, right, next, best);
      flat[base + left] = best;
      flat[base + right] = -1;
      addNewPair(sid, prev, left);
      addNewPair(sid, left, next);
    }
    if (pairSym.get(bestKey) === best) { pairSym.delete(bestKey); cacheSize--; }
    active.delete(best);
  }
  return final;
}

/** The k-th largest value of `a` (1-based), reordering `a` (Hoare's quickselect, median of three). */
function kthLargest(a: Float64Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const x = a[lo], y = a[mid], z = a[hi];
    const pivot = x > y ? (y > z ? y : x > z ? z : x) : (x > z ? x : y > z ? z : y);
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) { const t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}
