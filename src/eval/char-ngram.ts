/**
 * A deterministic character n-gram language model used as the harness's test double (and as a
 * baseline). It is a real sequential model: counts from a training text plus the counts of the
 * text seen so far in the request (an adaptive "cache" model, so it copies patterns from
 * few-shot prompts), interpolated across orders with a Dirichlet prior down to a uniform
 * distribution over UTF-16 code units:
 *   P_k(c | h_k) = (count(h_k c) + beta * P_{k-1}(c | h_{k-1})) / (count(h_k) + beta),  P_{-1} = 1/65536.
 * One UTF-16 code unit is one token, so P(text) factorizes position by position and an
 * OpenAI-style server can echo the same per-token log-probabilities (test/eval's fake server).
 * Greedy generation takes the argmax; sampling draws with a temperature and a seeded generator.
 */
import type { EvalModel, GenerateRequest, LoglikelihoodRequest, LoglikelihoodResult } from './model.js';
import { cutAtStops, splitAtBoundary } from './model.js';
import { Rng } from './rng.js';

const ALPHABET = 65536;

class Counts {
  /** history (length k) → next char → count, for k = 0..order-1. */
  readonly tables: Map<string, Map<string, number>>[];
  readonly totals: Map<string, number>[];
  constructor(readonly order: number) {
    this.tables = Array.from({ length: order }, () => new Map());
    this.totals = Array.from({ length: order }, () => new Map());
  }
  add(text: string): void {
    for (let i = 0; i < text.length; i++) this.addAt(text, i);
  }
  /** Counts the character at position i after each of its histories. */
  addAt(text: string, i: number): void {
    const c = text[i];
    for (let k = 0; k < this.order && k <= i; k++) {
      const h = text.slice(i - k, i);
      let m = this.tables[k].get(h);
      if (!m) { m = new Map(); this.tables[k].set(h, m); }
      m.set(c, (m.get(c) ?? 0) + 1);
      this.totals[k].set(h, (this.totals[k].get(h) ?? 0) + 1);
    }
  }
}

export class CharNgramModel implements EvalModel {
  readonly name: string;
  private readonly base: Counts;

  constructor(trainingText: string, readonly order = 4, readonly beta = 1) {
    if (!Number.isInteger(order) || order < 1) throw new Error(`char n-gram order must be an integer >= 1 (got ${order})`);
    this.base = new Counts(order);
    this.base.add(trainingText);
    this.name = `char-${order}gram(${trainingText.length} chars)`;
  }

  /** P(c | history) under base counts plus `extra` (the request's own context) counts. */
  private prob(history: string, c: string, extra: Counts): number {
    let p = 1 / ALPHABET;
    for (let k = 0; k < this.order && k <= history.length; k++) {
      const h = history.slice(history.length - k);
      const n = (this.base.totals[k].get(h) ?? 0) + (extra.totals[k].get(h) ?? 0);
      const ch = (this.base.tables[k].get(h)?.get(c) ?? 0) + (extra.tables[k].get(h)?.get(c) ?? 0);
      p = (ch + this.beta * p) / (n + this.beta);
    }
    return p;
  }

  /** Characters with non-zero count after some suffix of the history: the only argmax candidates. */
  private candidates(history: string, extra: Counts): string[] {
    const set = new Set<string>();
    for (let k = 0; k < this.order && k <= history.length; k++) {
      const h = history.slice(history.length - k);
      for (const m of [this.base.tables[k].get(h), extra.tables[k].get(h)]) if (m) for (const c of m.keys()) set.add(c);
    }
    return [...set].sort();
  }

  private argmax(history: string, extra: Counts): string {
    let best = '\u0000';
    let bp = -1;
    for (const c of this.candidates(history, extra)) {
      const p = this.prob(history, c, extra);
      if (p > bp) { bp = p; best = c; }
    }
    return best;
  }

  /**
   * Per-position log-probabilities of text[from..] (each given everything before it, the cache
   * holding the text before the position) and whether each character was the argmax.
   */
  tokenLogprobs(text: string, from = 0): { logprobs: number[]; greedy: boolean[]; top: string[]; topLogprobs: number[] } {
    const extra = new Counts(this.order);
    const logprobs: number[] = [];
    const greedy: boolean[] = [];
    const top: string[] = [];
    const topLogprobs: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (i >= from) {
        const history = text.slice(Math.max(0, i - this.order), i);
        const best = this.argmax(history, extra);
        logprobs.push(Math.log(this.prob(history, text[i], extra)));
        greedy.push(best === text[i]);
        top.push(best);
        topLogprobs.push(Math.log(this.prob(history, best, extra)));
      }
      extra.addAt(text, i);
    }
    return { logprobs, greedy, top, topLogprobs };
  }

  scoreOne(req: LoglikelihoodRequest): LoglikelihoodResult {
    const { context, continuation } = splitAtBoundary(req.context, req.continuation);
    const r = this.tokenLogprobs(context + continuation, context.length);
    return { logprob: r.logprobs.reduce((a, b) => a + b, 0), greedy: r.greedy.every((g) => g) };
  }

  async loglikelihood(reqs: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    return reqs.map((r) => this.scoreOne(r));
  }

  generateOne(req: GenerateRequest): string {
    const extra = new Counts(this.order);
    extra.add(req.prompt);
    const temperature = req.temperature ?? 0;
    const rng = new Rng(req.seed ?? 0);
    let text = req.prompt;
    let out = '';
    for (let t = 0; t < req.maxTokens; t++) {
      const history = text.slice(Math.max(0, text.length - this.order));
      let next: string;
      if (temperature <= 0) next = this.argmax(history, extra);
      else {
        // Sample among candidates (the uniform tail over unseen characters, < 1/65536 each, is dropped).
        const cands = this.candidates(history, extra);
        const w = cands.map((c) => Math.pow(this.prob(history, c, extra), 1 / temperature));
        const total = w.reduce((a, b) => a + b, 0);
        let r = rng.next() * total;
        next = cands[cands.length - 1] ?? '\u0000';
        for (let i = 0; i < cands.length; i++) { r -= w[i]; if (r < 0) { next = cands[i]; break; } }
      }
      text += next;
      extra.addAt(text, text.length - 1);
      out += next;
      if (req.until.some((s) => s !== '' && out.includes(s))) break;
    }
    return cutAtStops(out, req.until);
  }

  async generate(reqs: readonly GenerateRequest[]): Promise<string[]> {
    return reqs.map((r) => this.generateOne(r));
  }
}
