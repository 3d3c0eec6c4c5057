/**
 * What the harness needs from a model: log-likelihoods of continuations and generations.
 * Adapters turn our LoadedModel (loaded-model.ts), an OpenAI-compatible server (openai-client.ts)
 * or the test double (char-ngram.ts) into this.
 */

export interface LoglikelihoodRequest {
  context: string;
  continuation: string;
}

export interface LoglikelihoodResult {
  /** Sum of log-probabilities (natural log) of the continuation's tokens given the context. */
  logprob: number;
  /** Whether every continuation token was the model's argmax (greedy would produce it). */
  greedy: boolean;
}

export interface GenerateRequest {
  prompt: string;
  /** Generation stops before the first occurrence of any of these (and the text is cut there). */
  until: string[];
  maxTokens: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Seed for sampling; each request of a batch may have its own. */
  seed?: number;
}

export interface EvalModel {
  /** A name for reports (file name, server URL + model). */
  readonly name: string;
  loglikelihood(reqs: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]>;
  generate(reqs: readonly GenerateRequest[]): Promise<string[]>;
  /** Releases resources (sequences, sockets). Optional. */
  close?(): Promise<void> | void;
}

/** Cuts generated text before the earliest stop string (models may overshoot a stop by a token). */
export function cutAtStops(text: string, until: readonly string[]): string {
  let end = text.length;
  for (const s of until) {
    if (s === '') continue;
    const i = text.indexOf(s);
    if (i >= 0 && i < end) end = i;
  }
  return text.slice(0, end);
}

/**
 * lm-evaluation-harness's boundary rule: whitespace at the end of the context moves to the start
 * of the continuation, so "Answer: " + "yes" is scored as "Answer:" + " yes" — SentencePiece
 * attaches a space to the following word, and that is how the text would be tokenized whole.
 */
export function splitAtBoundary(context: string, continuation: string): { context: string; continuation: string } {
  const trimmed = context.replace(/\s+$/, '');
  const moved = context.slice(trimmed.length);
  return { context: trimmed, continuation: moved + continuation };
}
