/**
 * A loaded model (weights in the backend's memory) and its sequences (one KV cache each):
 * the LoadedModel / Sequence contract of types.ts.
 */
import type { LlamaConfig } from '../model/config.js';
import type { Backend } from '../kernels/backend.js';
import type { DecodeBatch, GeneratedToken, GenerationResult, LoadedModel, SamplingOptions, Sequence, TextTokenizer } from './types.js';
import { forwardChunk, forwardDecodeBatch, KvCache } from './forward.js';
import type { ModelWeights } from './weights.js';
import { Sampler } from './sampling.js';
import { TextStream } from './text-stream.js';

export class ContextLengthError extends Error {}

/** Token ids must be vocabulary indices; checked before any cache state changes. */
function checkIds(tokens: readonly number[], V: number): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`token id ${t} at position ${i} is outside the vocabulary 0..${V - 1}`);
  }
}

class KvSequence implements Sequence {
  /** positions cached (read by the model's batched decode) */
  len = 0;
  disposed = false;

  constructor(readonly model: LlamaModel, public cache: KvCache) {}

  /** Makes room for `n` positions: moves to a larger cache (copying what is cached) when needed. */
  reserve(n: number): void {
    if (n <= this.cache.capacity) return;
    const bigger = this.model.takeCache(n);
    this.cache.copyInto(bigger, this.len);
    this.model.releaseCache(this.cache);
    this.cache = bigger;
  }

  get length(): number { return this.len; }

  append(tokens: readonly number[], logprobs: 'none' | 'last' | 'all'): Float32Array {
    if (this.disposed) throw new Error('append on a disposed sequence');
    const m = this.model;
    m.checkLive();
    const V = m.config.vocabSize;
    const n = tokens.length;
    if (this.len + n > m.contextLength) {
      throw new ContextLengthError(`context length exceeded: ${this.len} cached + ${n} new tokens > the context of ` +
        `${m.contextLength} tokens (model maximum ${m.config.maxSeqLen}); shorten the prompt or lower max tokens`);
    }
    if (n === 0) {
      if (logprobs === 'last') throw new Error('append([]) cannot return the last row: no tokens were given');
      return new Float32Array(0);
    }
    checkIds(tokens, V);
    this.reserve(this.len + n);
    const out = logprobs === 'all' ? new Float32Array(n * V) : logprobs === 'last' ? new Float32Array(V) : null;
    const chunk = m.weights.chunk;
    for (let i = 0; i < n; i += chunk) {
      const part = tokens.slice(i, i + chunk);
      const isLast = i + chunk >= n;
      const nOut = logprobs === 'all' ? part.length : logprobs === 'last' && isLast ? 1 : 0;
      const dst = logprobs === 'all' ? out!.subarray(i * V, (i + part.length) * V) : out;
      forwardChunk(m.backend, m.weights, this.cache, part, this.len, nOut, dst);
      this.len += part.length;
    }
    return out ?? new Float32Array(0);
  }

  fork(): Sequence {
    if (this.disposed) throw new Error('fork of a disposed sequence');
    const cache = this.model.takeCache(Math.max(1, this.len));
    this.cache.copyInto(cache, this.len);
    const s = new KvSequence(this.model, cache);
    s.len = this.len;
    return s;
  }

  truncate(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`truncate(${n}): need an integer >= 0`);
    this.len = Math.min(this.len, n);
  }

  /** Hands the KV cache back to the model for the next sequence. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.releaseCache(this.cache);
  }
}

export interface LlamaModelOptions {
  name: string;
  contextLength: number;
  /** id generation stops at (default: the tokenizer's EOS) */
  eosId?: number;
  /** dispose() disposes the backend too (loadModel created it for this model) */
  ownsBackend?: boolean;
}

export class LlamaModel implements LoadedModel {
  readonly config: LlamaConfig;
  readonly name: string;
  readonly contextLength: number;
  private readonly eosId: number;
  private readonly ownsBackend: boolean;
  private disposed = false;

  constructor(readonly backend: Backend, readonly weights: ModelWeights, readonly tokenizer: TextTokenizer | null, opts: LlamaModelOptions) {
    this.config = weights.config;
    this.name = `${opts.name} (${weights.typeSummary})`;
    this.contextLength = opts.contextLength;
    this.eosId = opts.eosId ?? tokenizer?.eosId ?? -1;
    this.ownsBackend = opts.ownsBackend ?? false;
  }

  /** Disposed sequences' caches, reused by new ones. */
  private readonly freeCaches: KvCache[] = [];
  /** Every cache this model made (pooled or in use), released with the model. */
  private readonly allCaches = new Set<KvCache>();

  checkLive(): void {
    if (this.disposed) throw new Error(`${this.name} is disposed: load the model again to use it`);
  }

  /** One decode step for several of this model's sequences, one pass over the weights. */
  readonly decodeBatch: DecodeBatch = (seqs, tokens) => {
    this.checkLive();
    if (seqs.length !== tokens.length) throw new Error(`decodeBatch: ${seqs.length} sequences but ${tokens.length} tokens`);
    const V = this.config.vocabSize;
    checkIds(tokens, V);
    const out = new Float32Array(seqs.length * V);
    const ks = seqs.map((s, i) => {
      if (!(s instanceof KvSequence) || s.model !== this) throw new Error(`decodeBatch: sequence ${i} does not belong to this model`);
      if (s.disposed) throw new Error(`decodeBatch: sequence ${i} is disposed`);
      if (s.len + 1 > this.contextLength) {
        throw new ContextLengthError(`context length exceeded: sequence ${i} holds ${s.len} tokens, the context is ${this.contextLength}`);
      }
      if (seqs.indexOf(s) !== i) throw new Error(`decodeBatch: sequence ${i} appears twice`);
      s.reserve(s.len + 1);
      return s;
    });
    const chunk = this.weights.chunk;
    for (let i = 0; i < ks.length; i += chunk) {
      const part = ks.slice(i, i + chunk);
      forwardDecodeBatch(this.backend, this.weights, part.map((s) => s.cache), part.map((s) => s.len), tokens.slice(i, i + chunk),
        out.subarray(i * V, (i + part.length) * V));
      part.forEach((s) => { s.len++; });
    }
    return out;
  };

  newSequence(): Sequence {
    this.checkLive();
    return new KvSequence(this, this.takeCache(1));
  }

  /**
   * A KV cache for at least `positions` positions: the smallest fitting one from the pool of
   * disposed sequences, or a new one. Caches grow in steps (256, then doubling, up to the context
   * length), so a short sequence does not reserve the whole context; outgrown caches wait in the
   * pool (their memory returns to the backend with the model).
   */
  takeCache(positions: number): KvCache {
    let best = -1;
    this.freeCaches.forEach((c, i) => {
      if (c.capacity >= positions && (best < 0 || c.capacity < this.freeCaches[best].capacity)) best = i;
    });
    if (best >= 0) return this.freeCaches.splice(best, 1)[0];
    let cap = Math.min(this.contextLength, 256);
    while (cap < positions) cap = Math.min(this.contextLength, cap * 2);
    const cache = new KvCache(this.backend, this.config, cap, this.weights.chunk);
    this.allCaches.add(cache);
    return cache;
  }

  releaseCache(c: KvCache): void { this.freeCaches.push(c); }

  async generate(promptIds: readonly number[], opts: SamplingOptions, onToken?: (t: GeneratedToken) => void, signal?: AbortSignal): Promise<GenerationResult> {
    const seq = this.newSequence();
    try {
      return await this.continueSequence(seq, promptIds, opts, onToken, signal);
    } finally {
      seq.dispose();
    }
  }

  /**
   * Appends `newIds` (at least one token) to a sequence and samples a continuation. The last
   * sampled token is not appended to the cache (the caller appends what it keeps).
   */
  async continueSequence(seq: Sequence, newIds: readonly number[], opts: SamplingOptions,
    onToken?: (t: GeneratedToken) => void, signal?: AbortSignal): Promise<GenerationResult> {
    const maxTokens = opts.maxTokens ?? 256;
    if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new Error(`max tokens must be an integer >= 0, got ${maxTokens}`);
    if (newIds.length === 0) throw new Error('the prompt is empty: give at least one token (e.g. BOS)');
    const stops = opts.stop ?? [];
    if (stops.length && !this.tokenizer) throw new Error('stop strings need a tokenizer, and this model has none');
    const sampler = new Sampler({ temperature: opts.temperature ?? 0.8, topK: opts.topK ?? 0, topP: opts.topP ?? 1 }, opts.seed ?? 0);
    const stream = this.tokenizer ? new TextStream(this.tokenizer, newIds[newIds.length - 1], stops) : null;
    const tokens: number[] = [];
    let finishReason: GenerationResult['finishReason'] = 'length';
    const promptTokens = seq.length + newIds.length;
    let row = seq.append(newIds, 'last');
    while (tokens.length < maxTokens) {
      if (signal?.aborted) { finishReason = 'stop'; break; }
      const id = sampler.sample(row);
      if (id === this.eosId) { finishReason = 'eos'; break; }
      tokens.push(id);
      let text = stream ? stream.push(id) : '';
      const stopped = stream !== null && stream.stoppedText !== null;
      const full = tokens.length >= maxTokens;
      const noRoom = seq.length >= this.contextLength;
      // the last token carries any text held back for a possible stop string or split character
      if (stream && !stopped && (full || noRoom)) text += stream.flush();
      onToken?.({ id, text, logprob: row[id] });
      if (stopped) { finishReason = 'stop'; break; }
      if (full) break;
      if (noRoom) { finishReason = 'context'; break; }
      row = seq.append([id], 'last');
      // let the event loop run (streamed output, abort signals, other requests)
      if (tokens.length % 4 === 0) await new Promise((r) => setImmediate(r));
    }
    // after EOS or an abort, text may still be held back: it goes out with id -1 (see types.ts)
    const tail = stream ? stream.flush() : '';
    if (tail && onToken) onToken({ id: -1, text: tail, logprob: 0 });
    return { text: stream ? stream.emittedText : '', tokens, finishReason, promptTokens };
  }

  /**
   * Gives the weights' and the KV caches' memory back to the backend (newest first, so the space
   * is reclaimed for the next model), and disposes the backend when loadModel made it for this
   * model. Sequences of a disposed model refuse further use.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const arenas = [...this.weights.layers.map((L) => L.arena), this.weights.head.arena];
    for (const c of [...this.allCaches].reverse()) c.release();
    this.allCaches.clear();
    this.freeCaches.length = 0;
    for (const a of [...new Set(arenas)].reverse()) a.release();
    if (this.ownsBackend) this.backend.dispose();
  }
}
