/**
 * Interpolated modified Kneser-Ney estimation, as KenLM's lmplz does it (Chen & Goodman 1998,
 * Heafield et al. 2013):
 *
 * 1. Counts: each sentence is <s> w1 … wk </s>. Highest-order n-grams keep their raw counts, and so
 *    do the shorter n-grams that start with <s> (nothing can precede <s>). Every other lower-order
 *    n-gram gets its *adjusted* count: the number of distinct words seen to its left, N1+(• g).
 * 2. Discounts per order n from the counts-of-counts t_k of adjusted counts k = 1..4:
 *    Y = t1 / (t1 + 2 t2),  D_k = k - (k + 1) Y t_{k+1} / t_k  for k = 1, 2, 3 (3 means 3+).
 * 3. For context h at order n with extensions w: u(w|h) = (a(hw) - D(a(hw))) / Σ_w a(hw), and
 *    γ(h) = (D1 N1(h•) + D2 N2(h•) + D3 N3+(h•)) / Σ_w a(hw).
 * 4. Interpolation: p(w) = u(w) + γ(ε) / |V| (|V| counts <unk> but not <s>), and
 *    p(w|h) = u(w|h) + γ(h) p(w|h'), h' = h minus its first word. <s> gets log10 p = -99.
 * 5. The ARPA back-off of a context h is γ(h) (the mass the interpolation left for the lower order),
 *    which makes back-off querying of unseen n-grams equal to the interpolated model.
 */
import { BOS, EOS, NgramModel, UNK } from './ngram-model.js';

export interface KneserNeyOptions {
  order: number;
  /**
   * lmplz's --discount_fallback: discounts used for an order whose counts-of-counts cannot give
   * valid ones (tiny or artificial corpora). Without it such a corpus is an error, as in lmplz.
   */
  discountFallback?: readonly [number, number, number];
}

/** Per order: [D1, D2, D3+]. */
export type Discounts = Array<[number, number, number]>;

/** Joins the words of an n-gram key; tokens containing it are rejected. */
const SEP = '\u0001';

export function computeDiscounts(countsOfCounts: number[][], fallback?: readonly [number, number, number]): Discounts {
  return countsOfCounts.map((t, i) => {
    const bad = (why: string): [number, number, number] => {
      if (fallback) return [fallback[0], fallback[1], fallback[2]];
      throw new Error(`Kneser-Ney: cannot estimate discounts for ${i + 1}-grams: ${why}. The corpus is too small or artificial; pass discountFallback (lmplz --discount_fallback)`);
    };
    for (let k = 1; k <= 3; k++) if (t[k] === 0) return bad(`no ${i + 1}-grams with adjusted count ${k}`);
    const y = t[1] / (t[1] + 2 * t[2]);
    const d: [number, number, number] = [0, 0, 0];
    for (let k = 1; k <= 3; k++) {
      d[k - 1] = k - (k + 1) * y * (t[k + 1] / t[k]);
      if (d[k - 1] < 0 || d[k - 1] > k) return bad(`discount D${k} = ${d[k - 1]} is outside [0, ${k}]`);
    }
    return d;
  });
}

export interface KneserNeyResult {
  model: NgramModel;
  discounts: Discounts;
  /** adjusted counts per order, key = words joined by U+0001 (for tests and inspection) */
  adjusted: Map<string, number>[];
}

export function estimateKneserNey(sentences: Iterable<readonly string[]>, options: KneserNeyOptions): KneserNeyResult {
  const N = options.order;
  if (!Number.isInteger(N) || N < 1) throw new Error(`order must be a positive integer (got ${N})`);
  // counts[n-1]: key → count (raw for order N and <s>-initial, adjusted otherwise, filled below)
  const counts: Map<string, number>[] = Array.from({ length: N }, () => new Map());
  const vocab = new Set<string>([UNK, EOS]);
  for (const sent of sentences) {
    for (const w of sent) {
      if (w === BOS || w === EOS || w === UNK) throw new Error(`sentence contains the reserved token "${w}"; remove it before estimation`);
      if (w.includes(SEP) || w.length === 0 || /\s/.test(w)) throw new Error(`token ${JSON.stringify(w)} is empty or contains whitespace/U+0001`);
      vocab.add(w);
    }
    const s = [BOS, ...sent, EOS];
    for (let i = 1; i < s.length; i++) {
      const start = Math.max(0, i - N + 1);
      const key = s.slice(start, i + 1).join(SEP);
      const n = i - start + 1;
      const t = counts[n - 1];
      t.set(key, (t.get(key) ?? 0) + 1);
    }
  }
  // Adjusted counts: each distinct (n+1)-gram adds 1 to its suffix n-gram (never <s>-initial).
  for (let n = N - 1; n >= 1; n--) {
    const higher = counts[n], lower = counts[n - 1];
    for (const key of higher.keys()) {
      const suffix = key.slice(key.indexOf(SEP) + 1);
      lower.set(suffix, (lower.get(suffix) ?? 0) + 1);
    }
  }
  // Counts of counts per order (only n-grams that can be predicted: not the <s> unigram).
  const coc = counts.map((t) => {
    const c = [0, 0, 0, 0, 0];
    for (const v of t.values()) if (v < 5) c[v]++;
    return c;
  });
  const discounts = computeDiscounts(coc, options.discountFallback);
  const D = (n: number, a: number): number => (a === 0 ? 0 : discounts[n - 1][Math.min(a, 3) - 1]);

  // Per context: Σ a and the γ numerator.
  const ctxStats: Map<string, { sum: number; gammaNum: number }>[] = counts.map((t, idx) => {
    const m = new Map<string, { sum: number; gammaNum: number }>();
    for (const [key, a] of t) {
      const ctx = idx === 0 ? '' : key.slice(0, key.lastIndexOf(SEP));
      let st = m.get(ctx);
      if (!st) m.set(ctx, (st = { sum: 0, gammaNum: 0 }));
      st.sum += a;
      st.gammaNum += D(idx + 1, a);
    }
    return m;
  });

  const model = new NgramModel(N);
  for (const w of vocab) model.wordId(w);
  const vocabSize = vocab.size; // includes <unk> and </s>, excludes <s>
  const probs: Map<string, number>[] = Array.from({ length: N }, () => new Map());
  // Unigrams, including <unk> (count 0) and <s> (never predicted: -99 as lmplz writes it).
  const uni = ctxStats[0].get('')!;
  const gamma0 = uni.gammaNum / uni.sum;
  for (const w of vocab) {
    const a = counts[0].get(w) ?? 0;
    const p = (a - D(1, a)) / uni.sum + gamma0 / vocabSize;
    probs[0].set(w, p);
  }
  for (let n = 2; n <= N; n++) {
    for (const [key, a] of counts[n - 1]) {
      const cut = key.lastIndexOf(SEP);
      const ctx = key.slice(0, cut);
      const st = ctxStats[n - 1].get(ctx)!;
      const lowerKey = key.slice(key.indexOf(SEP) + 1);
      const lower = probs[n - 2].get(lowerKey);
      if (lower === undefined) throw new Error(`internal: missing lower-order n-gram "${lowerKey.split(SEP).join(' ')}"`);
      probs[n - 1].set(key, (a - D(n, a)) / st.sum + (st.gammaNum / st.sum) * lower);
    }
  }
  for (let n = 1; n <= N; n++) {
    for (const [key, p] of probs[n - 1]) {
      const words = key.split(SEP);
      const ctx = n < N ? ctxStats[n].get(key) : undefined;
      const last = words[words.length - 1];
      const backoff = ctx && last !== EOS && last !== UNK ? Math.log10(ctx.gammaNum / ctx.sum) : 0;
      model.set(words, { logProb: Math.log10(p), backoff });
    }
  }
  // <s>: a context (its back-off is γ(<s>)) but never predicted.
  const bosCtx = N > 1 ? ctxStats[1].get(BOS) : undefined;
  model.set([BOS], { logProb: -99, backoff: bosCtx ? Math.log10(bosCtx.gammaNum / bosCtx.sum) : 0 });
  return { model, discounts, adjusted: counts };
}
