/**
 * EvalModel over our own engine (src/inference's LoadedModel).
 *
 * Tokenization follows lm-evaluation-harness: trailing whitespace of the context moves to the
 * continuation (splitAtBoundary); context tokens = encode(context) with BOS; continuation tokens =
 * encode(context + continuation)[len(context tokens):]. The model then scores context tokens
 * followed by continuation tokens, so a context is tokenized identically for every choice and
 * its KV cache can be shared: requests are grouped by context, the context is prefilled once,
 * and each continuation runs on a fork() of that sequence.
 */
import type { LoadedModel, Sequence, TextTokenizer } from '../inference/types.js';
import type { EvalModel, GenerateRequest, LoglikelihoodRequest, LoglikelihoodResult } from './model.js';
import { cutAtStops, splitAtBoundary } from './model.js';

export interface LoadedModelAdapterOptions {
  /** Share one context prefill across its continuations (default true; false = the slow path the benchmark compares against). */
  shareContext?: boolean;
}

export interface TokenizedPair { contextIds: number[]; continuationIds: number[] }

export function tokenizePair(tok: TextTokenizer, req: LoglikelihoodRequest, contextCache?: Map<string, number[]>): TokenizedPair {
  const { context, continuation } = splitAtBoundary(req.context, req.continuation);
  // The choices of an item share their context: encode it once per batch.
  let contextIds = contextCache?.get(context);
  if (!contextIds) {
    contextIds = tok.encode(context, { bos: true });
    contextCache?.set(context, contextIds);
  }
  const whole = tok.encode(context + continuation, { bos: true });
  const continuationIds = whole.slice(contextIds.length);
  if (continuationIds.length === 0) {
    throw new Error(`continuation ${JSON.stringify(req.continuation.slice(0, 40))} produced no tokens after its context; the harness needs a non-empty continuation`);
  }
  return { contextIds, continuationIds };
}

/** Log-prob of `id` in row `r` of a flat [rows*vocab] log-softmax block, and whether it is the row's argmax. */
function pick(rows: Float32Array, vocab: number, r: number, id: number): { lp: number; top: boolean } {
  const off = r * vocab;
  const lp = rows[off + id];
  let top = true;
  for (let v = 0; v < vocab; v++) if (rows[off + v] > lp) { top = false; break; }
  return { lp, top };
}

export class LoadedModelAdapter implements EvalModel {
  readonly name: string;
  private readonly tok: TextTokenizer;
  private readonly share: boolean;
  /** Tokens run through the model so far (prefill work), for the benchmark's overhead ratio. */
  tokensEvaluated = 0;

  constructor(private readonly model: LoadedModel, opts: LoadedModelAdapterOptions = {}) {
    if (!model.tokenizer) throw new Error(`model ${model.name} has no tokenizer; the harness needs one to turn text into tokens (load a GGUF with an embedded vocabulary or pass a tokenizer.model)`);
    this.tok = model.tokenizer;
    this.name = model.name;
    this.share = opts.shareContext ?? true;
  }

  /** The sequence capacity: a loaded model may hold fewer positions than its config allows. */
  private contextLength(): number {
    const n = (this.model as { contextLength?: number }).contextLength;
    return typeof n === 'number' && n > 0 ? n : this.model.config.maxSeqLen;
  }

  /** Scores one continuation on a sequence whose cache holds the context and whose last row is `lastRow`. */
  private scoreOn(seq: Sequence, lastRow: Float32Array, cont: readonly number[]): LoglikelihoodResult {
    const vocab = lastRow.length;
    const first = pick(lastRow, vocab, 0, cont[0]);
    let logprob = first.lp;
    let greedy = first.top;
    if (cont.length > 1) {
      const rows = seq.append(cont.slice(0, -1), 'all');
      this.tokensEvaluated += cont.length - 1;
      for (let i = 1; i < cont.length; i++) {
        const p = pick(rows, vocab, i - 1, cont[i]);
        logprob += p.lp;
        greedy &&= p.top;
      }
    }
    return { logprob, greedy };
  }

  async loglikelihood(reqs: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const out: LoglikelihoodResult[] = new Array(reqs.length);
    const maxLen = this.contextLength();
    const contextCache = new Map<string, number[]>();
    const pairs = reqs.map((r) => {
      const p = tokenizePair(this.tok, r, contextCache);
      // Too long for the context window: drop context tokens from the left (lm-evaluation-harness
      // does the same); the continuation itself must fit.
      if (p.continuationIds.length >= maxLen) throw new Error(`a continuation of ${p.continuationIds.length} tokens does not fit the model's context of ${maxLen}`);
      const over = p.contextIds.length + p.continuationIds.length - 1 - maxLen;
      return over > 0 ? { contextIds: p.contextIds.slice(over), continuationIds: p.continuationIds } : p;
    });
    // Group by context token sequence (key = ids joined) so each context is prefilled once.
    const groups = new Map<string, number[]>();
    pairs.forEach((p, i) => {
      const key = this.share ? p.contextIds.join(',') : `#${i}`;
      const g = groups.get(key);
      if (g) g.push(i); else groups.set(key, [i]);
    });
    for (const idx of groups.values()) {
      const ctx = pairs[idx[0]].contextIds;
      const base = this.model.newSequence();
      try {
        // Copied: the returned rows may be a view the next append overwrites.
        const lastRow = base.append(ctx, 'last').slice();
        this.tokensEvaluated += ctx.length;
        for (let j = 0; j < idx.length; j++) {
          const i = idx[j];
          // The last continuation of a group can use the base sequence itself: no copy needed.
          const seq = j === idx.length - 1 ? base : base.fork();
          try { out[i] = this.scoreOn(seq, lastRow, pairs[i].continuationIds); } finally { if (seq !== base) seq.dispose(); }
        }
      } finally { base.dispose(); }
      // Let progress output and timers run between groups.
      await new Promise<void>((r) => setImmediate(r));
    }
    return out;
  }

  async generate(reqs: readonly GenerateRequest[]): Promise<string[]> {
    const out: string[] = [];
    for (const r of reqs) {
      let ids = this.tok.encode(r.prompt, { bos: true });
      // Leave room for the answer: keep the prompt's last (context - maxTokens) tokens.
      const room = this.contextLength() - r.maxTokens;
      if (room < 1) throw new Error(`maxTokens ${r.maxTokens} leaves no room for a prompt in a context of ${this.contextLength()}`);
      if (ids.length > room) ids = ids.slice(ids.length - room);
      const res = await this.model.generate(ids, {
        temperature: r.temperature ?? 0, maxTokens: r.maxTokens, stop: r.until.filter((s) => s !== ''), seed: r.seed, topK: 0, topP: 1,
      });
      this.tokensEvaluated += res.promptTokens + res.tokens.length;
      out.push(cutAtStops(res.text, r.until));
    }
    return out;
  }
}
