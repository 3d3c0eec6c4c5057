/**
 * The inference contract used by eval/, serve/ and the CLI (implemented in src/inference/ by
 * the model issue). A loaded model owns its weights; sequences own their KV caches.
 */
import type { LlamaConfig } from '../model/config.js';
import type { TextTokenizer } from '../tokenizer/text-tokenizer.js';

export type { TextTokenizer } from '../tokenizer/text-tokenizer.js';

export interface SamplingOptions {
  temperature?: number;   // 0 = greedy (default 0.8 in the CLI, 0 in eval)
  topK?: number;          // 0 = off
  topP?: number;          // 1 = off
  seed?: number;
  maxTokens?: number;     // new tokens to produce
  stop?: string[];        // stop strings: generation ends before the first occurrence
}

export interface GeneratedToken {
  /**
   * The token id; -1 marks a final text-only entry carrying text that was held back (a possible
   * stop-string prefix or an incomplete UTF-8 character) when generation ended at EOS or an abort.
   */
  id: number;
  /** The text this token adds to the decoded output (may be '' while a UTF-8 sequence is incomplete). */
  text: string;
  logprob: number;        // log-probability of this token under the unmodified distribution
}

export interface GenerationResult {
  text: string;
  tokens: number[];
  finishReason: 'stop' | 'length' | 'eos' | 'context';
  promptTokens: number;
}

/** One sequence with its own KV cache. */
export interface Sequence {
  /** Tokens held in the cache so far. */
  readonly length: number;
  /**
   * Runs the model over `tokens` appended after the cached ones (batched prefill) and returns
   * log-softmax rows: 'last' → one row [vocab], 'all' → tokens.length rows [n*vocab], 'none' → empty.
   * Throws a clear error when the context length would be exceeded.
   */
  append(tokens: readonly number[], logprobs: 'none' | 'last' | 'all'): Float32Array;
  /** A copy sharing nothing mutable (copies the KV cache up to length) — for scoring several continuations of one context. */
  fork(): Sequence;
  /** Drops cached positions >= n. */
  truncate(n: number): void;
  dispose(): void;
}

export interface LoadedModel {
  readonly config: LlamaConfig;
  readonly tokenizer: TextTokenizer | null;
  /** Human-readable name (file name) and weight type summary. */
  readonly name: string;
  /** Tokens one sequence can hold (may be less than config.maxSeqLen to save memory). */
  readonly contextLength?: number;
  newSequence(): Sequence;
  /** Batched decode across sequences, when the implementation offers it (see DecodeBatch). */
  decodeBatch?: DecodeBatch;
  /** Prefill the prompt, then sample; onToken streams each token; abort via signal. */
  generate(promptIds: readonly number[], opts: SamplingOptions,
    onToken?: (t: GeneratedToken) => void, signal?: AbortSignal): Promise<GenerationResult>;
  /** Releases the weights and caches (and the backend, when the loader made it); the model is unusable after. */
  dispose(): void;
}

/**
 * Optional on LoadedModel (see below): one decode step for several sequences at once — one pass
 * over the weights for all of them (the server's batched decoding across requests). Feeds
 * tokens[i] to seqs[i] and returns seqs.length log-softmax rows [n*vocab].
 */
export type DecodeBatch = (seqs: Sequence[], tokens: readonly number[]) => Float32Array;
