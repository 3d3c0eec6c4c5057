/**
 * The request queue: many clients share one model. Each admitted request gets a sequence (its
 * own KV cache); every loop iteration advances all active sequences by one token together
 * (batched decoding: one pass over the weights serves every client when the model offers
 * decodeBatch), and a long prompt is prefilled in chunks so it never stalls the others for long.
 * Between iterations the loop yields to the event loop, so HTTP I/O and disconnects are seen.
 */
import type { GeneratedToken, LoadedModel, SamplingOptions, Sequence } from '../inference/types.js';
import { TextStream } from '../inference/text-stream.js';
import { ApiError } from './errors.js';

export type FinishReason = 'stop' | 'length' | 'eos' | 'context' | 'cancelled';

/** Chooses the next token from a log-softmax row (greedy or sampled, seeded per request). */
export type TokenChooser = (logprobs: Float32Array) => number;

export interface Job {
  promptIds: number[];
  sampling: SamplingOptions;
  chooser: TokenChooser;
  /** Score the prompt's tokens too (completions with echo + logprobs). */
  promptLogprobs: boolean;
  /** Alternatives to report per position (the API's `logprobs` / `top_logprobs`); 0 = none. */
  topLogprobs: number;
  onToken: (t: GeneratedToken, scored: Scored) => void;
  signal: AbortSignal;
}

/** One position: the token there, its log-probability (null for the first prompt token), the top alternatives. */
export interface Scored { id: number; logprob: number | null; top: [id: number, logprob: number][] }

export interface JobResult {
  text: string;
  tokens: number[];
  generated: Scored[];
  /** prompt[i] scored given prompt[<i] (when promptLogprobs); prompt[0] has logprob null. */
  prompt: Scored[];
  finishReason: FinishReason;
}

/** The k most likely ids of a log-prob row, best first (ties by id). */
export function topK(row: Float32Array, k: number): [number, number][] {
  if (k <= 0) return [];
  const best: [number, number][] = [];
  for (let i = 0; i < row.length; i++) {
    const lp = row[i]!;
    if (best.length === k && lp <= best[k - 1]![1]) continue;
    let j = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push([i, lp]); else best[j] = [i, lp];
    while (j > 0 && best[j - 1]![1] < lp) { best[j] = best[j - 1]!; best[j - 1] = [i, lp]; j--; }
  }
  return best;
}

interface Active {
  job: Job;
  seq: Sequence;
  prefilled: number;            // prompt tokens already in the cache
  pending: number | null;       // sampled token not yet fed to the model
  result: JobResult;
  text: TextStream;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

export interface SchedulerOptions {
  maxActive: number;     // sequences decoded together
  maxQueue: number;      // waiting requests beyond that (429 when full)
  prefillChunk: number;  // prompt tokens prefilled per loop iteration and request
}

export class Scheduler {
  private readonly queue: { job: Job; resolve: (r: JobResult) => void; reject: (e: unknown) => void }[] = [];
  private readonly active: Active[] = [];
  private running = false;

  constructor(readonly model: LoadedModel, readonly opts: SchedulerOptions) {}

  get contextLength(): number {
    return this.model.contextLength ?? this.model.config.maxSeqLen;
  }

  get load(): { active: number; queued: number } {
    return { active: this.active.length, queued: this.queue.length };
  }

  submit(job: Job): Promise<JobResult> {
    const ctx = this.contextLength;
    if (job.promptIds.length >= ctx) {
      throw new ApiError(400, `prompt of ${job.promptIds.length} tokens does not fit the model's context of ${ctx} tokens`, 'invalid_request_error', 'prompt', 'context_length_exceeded');
    }
    if (this.queue.length >= this.opts.maxQueue) {
      throw new ApiError(429, `server busy: ${this.active.length} requests running and ${this.queue.length} queued; retry later`, 'rate_limit_error');
    }
    return new Promise<JobResult>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.running) void this.loop();
    });
  }

  private admit(): void {
    while (this.active.length < this.opts.maxActive && this.queue.length) {
      const { job, resolve, reject } = this.queue.shift()!;
      if (job.signal.aborted) {
        resolve(emptyResult('cancelled'));
        continue;
      }
      const result: JobResult = { text: '', tokens: [], generated: [], prompt: [], finishReason: 'length' };
      if (job.promptLogprobs && job.promptIds.length) result.prompt.push({ id: job.promptIds[0]!, logprob: null, top: [] });
      const tok = this.model.tokenizer;
      if (!tok) {
        reject(new ApiError(400, `model ${this.model.name} has no tokenizer: text generation needs one`));
        continue;
      }
      // text is decoded after the prompt's last token, so a leading space survives
      const text = new TextStream(tok, job.promptIds.at(-1) ?? null, job.sampling.stop ?? []);
      this.active.push({ job, seq: this.model.newSequence(), prefilled: 0, pending: null, result, text, resolve, reject });
    }
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        this.admit();
        if (!this.active.length) break;
        this.step();
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.running = false;
    }
  }

  /** One iteration: a prefill chunk for requests still reading their prompt, one token for the rest. */
  private step(): void {
    const decoding: Active[] = [];
    for (const a of [...this.active]) {
      try {
        if (a.job.signal.aborted) { this.finish(a, 'cancelled'); continue; }
        if (a.prefilled < a.job.promptIds.length) this.prefillChunk(a);
        else decoding.push(a);
      } catch (e) {
        this.fail(a, e);
      }
    }
    if (!decoding.length) return;
    let rows: Float32Array[];
    try {
      rows = this.decode(decoding);
    } catch (e) {
      for (const a of decoding) this.fail(a, e);
      return;
    }
    decoding.forEach((a, i) => {
      try { this.accept(a, rows[i]!); } catch (e) { this.fail(a, e); }
    });
  }

  private prefillChunk(a: Active): void {
    const ids = a.job.promptIds;
    const end = Math.min(ids.length, a.prefilled + this.opts.prefillChunk);
    const chunk = ids.slice(a.prefilled, end);
    const V = this.model.config.vocabSize;
    const all = a.job.promptLogprobs;
    const rows = a.seq.append(chunk, all ? 'all' : end === ids.length ? 'last' : 'none');
    if (all) {
      // row j predicts the token after chunk[j]
      for (let j = 0; j < chunk.length; j++) {
        const next = a.prefilled + j + 1;
        if (next < ids.length) {
          const row = rows.subarray(j * V, (j + 1) * V);
          a.result.prompt.push({ id: ids[next]!, logprob: row[ids[next]!]!, top: topK(row, a.job.topLogprobs) });
        }
      }
    }
    a.prefilled = end;
    if (end === ids.length) {
      const last = all ? rows.subarray((chunk.length - 1) * V, chunk.length * V) : rows;
      this.accept(a, last);
    }
  }

  /** Feeds every decoding request's pending token and returns each one's next log-prob row. */
  private decode(batch: Active[]): Float32Array[] {
    const tokens = batch.map((a) => a.pending!);
    if (this.model.decodeBatch && batch.length > 1) {
      const V = this.model.config.vocabSize;
      const rows = this.model.decodeBatch(batch.map((a) => a.seq), tokens);
      return batch.map((_, i) => rows.subarray(i * V, (i + 1) * V));
    }
    return batch.map((a, i) => a.seq.append([tokens[i]!], 'last'));
  }

  /** Chooses the next token from `row`, streams it, and decides whether the request is done. */
  private accept(a: Active, row: Float32Array): void {
    const maxTokens = a.job.sampling.maxTokens ?? 16;
    if (maxTokens === 0) return this.finish(a, 'length');
    const id = a.job.chooser(row);
    const logprob = row[id]!;
    const scored: Scored = { id, logprob, top: topK(row, a.job.topLogprobs) };
    a.result.tokens.push(id);
    a.result.generated.push(scored);
    if (id === this.model.tokenizer?.eosId) return this.finish(a, 'eos');
    const emit = a.text.push(id);
    if (emit) a.job.onToken({ id, text: emit, logprob }, scored);
    if (a.text.stoppedText !== null) return this.finish(a, 'stop');
    if (a.result.tokens.length >= maxTokens) return this.finish(a, 'length');
    if (a.seq.length + 1 >= this.contextLength) return this.finish(a, 'context');
    a.pending = id;
  }

  private finish(a: Active, reason: FinishReason): void {
    const i = this.active.indexOf(a);
    if (i < 0) return;
    this.active.splice(i, 1);
    const rest = a.text.flush();
    if (rest) a.job.onToken({ id: -1, text: rest, logprob: 0 }, { id: -1, logprob: null, top: [] });
    a.result.text = a.text.emittedText;
    a.result.finishReason = reason;
    a.seq.dispose();
    a.resolve(a.result);
  }

  private fail(a: Active, err: unknown): void {
    const i = this.active.indexOf(a);
    if (i >= 0) this.active.splice(i, 1);
    a.seq.dispose();
    a.reject(err);
  }
}

function emptyResult(reason: FinishReason): JobResult {
  return { text: '', tokens: [], generated: [], prompt: [], finishReason: reason };
}
