/**
 * EvalModel over any OpenAI-compatible completions server (llama.cpp's server, vLLM, our own
 * serve/), as lm-evaluation-harness's local-completions does:
 *  - log-likelihood: POST /v1/completions {prompt, echo: true, logprobs: 1, max_tokens: 0,
 *    temperature: 0}. The continuation's tokens are found by counting tokens, not characters
 *    (servers disagree on text_offset: SentencePiece's dummy-prefix space shifts it by one on
 *    some): each distinct context is echoed once to learn its token count n, and the
 *    continuation is tokens[n:] of context+continuation — lm-evaluation-harness's
 *    "whole[len(context):]" rule. greedy = each such token is the top-1 of its top_logprobs
 *    (servers that return only the chosen token there make every continuation look greedy).
 *    A prompt's first token has no logprob; with an empty context the sum starts at the second.
 *    If a server generates anyway (some insist on max_tokens >= 1), the trailing tokens that
 *    spell the text beyond the prompt are dropped before counting.
 *  - generation: POST /v1/completions {prompt, max_tokens, temperature, stop, seed}; the text is
 *    cut again locally at the stop strings (the API takes at most 4).
 * Prompts go as lists of up to batchSize per request; a server that rejects a list (HTTP 400/422)
 * or answers it with one choice (it read only the first prompt) is detected and sent one prompt
 * per request instead, `concurrency` requests at a time.
 */
import type { EvalModel, GenerateRequest, LoglikelihoodRequest, LoglikelihoodResult } from './model.js';
import { cutAtStops, splitAtBoundary } from './model.js';

export interface OpenAIClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 (a trailing /v1 is accepted). */
  url: string;
  /** The "model" field sent to the server. */
  model?: string;
  apiKey?: string;
  /** Prompts per log-likelihood request (the API accepts a list). */
  batchSize?: number;
  /** Generation requests in flight at once. */
  concurrency?: number;
  timeoutMs?: number;
}

class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

interface EchoTokens { logprobs: (number | null)[]; top: (Record<string, number> | null)[] }

interface CompletionChoice {
  index?: number;
  text?: string;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[]; top_logprobs?: (Record<string, number> | null)[]; text_offset?: number[] } | null;
}

export class OpenAICompletionsModel implements EvalModel {
  readonly name: string;
  private readonly endpoint: string;
  private batchSize: number;
  private readonly concurrency: number;

  constructor(private readonly opts: OpenAIClientOptions) {
    let base: URL;
    try { base = new URL(opts.url); } catch { throw new Error(`--server ${opts.url} is not a URL (expected e.g. http://127.0.0.1:8080)`); }
    const path = base.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.endpoint = `${base.origin}${path}/v1/completions`;
    this.batchSize = Math.max(1, opts.batchSize ?? 16);
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.name = `${this.endpoint}${opts.model ? ` (${opts.model})` : ''}`;
  }

  private async post(body: Record<string, unknown>): Promise<CompletionChoice[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST', headers,
        body: JSON.stringify({ ...(this.opts.model ? { model: this.opts.model } : {}), ...body }),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 600_000),
      });
    } catch (e) {
      throw new Error(`cannot reach ${this.endpoint}: ${(e as Error).message}; is the server running?`);
    }
    const text = await res.text();
    if (!res.ok) throw new HttpStatusError(res.status, `${this.endpoint} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    let json: { choices?: CompletionChoice[] };
    try { json = JSON.parse(text) as { choices?: CompletionChoice[] }; } catch {
      throw new Error(`${this.endpoint} answered with something that is not JSON: ${text.slice(0, 200)}`);
    }
    if (!Array.isArray(json.choices)) throw new Error(`${this.endpoint}: response has no 'choices' array`);
    // Order by index when the server gives one (the spec allows any order).
    return json.choices.slice().sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  }

  /** Echo + logprobs for each prompt (lists of batchSize, `concurrency` requests in flight). */
  private async echo(prompts: readonly string[]): Promise<EchoTokens[]> {
    const out: EchoTokens[] = new Array(prompts.length);
    const chunks: number[] = [];
    for (let i = 0; i < prompts.length; i += this.batchSize) chunks.push(i);
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        const start = chunks[next++];
        const list = prompts.slice(start, start + this.batchSize);
        let choices: CompletionChoice[];
        let rejectedList = false;
        try {
          choices = await this.post({ prompt: list.length === 1 ? list[0] : list, echo: true, logprobs: 1, max_tokens: 0, temperature: 0 });
        } catch (e) {
          // Some servers take exactly one prompt and answer a list with 400/422.
          if (!(e instanceof HttpStatusError && (e.status === 400 || e.status === 422) && list.length > 1)) throw e;
          choices = [];
          rejectedList = true;
        }
        if (rejectedList || (choices.length !== list.length && list.length > 1 && choices.length === 1)) {
          // The server rejected the list or read only its first prompt: ask one at a time from now on.
          this.batchSize = 1;
          choices = [];
          for (const p of list) choices.push(...(await this.post({ prompt: p, echo: true, logprobs: 1, max_tokens: 0, temperature: 0 })));
        }
        if (choices.length !== list.length) throw new Error(`${this.endpoint}: sent ${list.length} prompts, got ${choices.length} choices`);
        choices.forEach((ch, j) => { out[start + j] = this.parseEcho(ch, list[j]); });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, chunks.length) }, worker));
    return out;
  }

  private parseEcho(ch: CompletionChoice, prompt: string): EchoTokens {
    const lp = ch.logprobs;
    if (!lp || !Array.isArray(lp.token_logprobs) || !Array.isArray(lp.tokens)) {
      throw new Error(`${this.endpoint}: the response lacks logprobs.tokens/token_logprobs; the server must support echo=true with logprobs (vLLM and llama-ts serve do)`);
    }
    // A server that generates despite max_tokens: 0 returns prompt + generation: drop the
    // trailing tokens that spell the generated text.
    let keep = lp.token_logprobs.length;
    if (typeof ch.text === 'string' && ch.text.length > prompt.length && ch.text.startsWith(prompt)) {
      let extra = ch.text.length - prompt.length;
      while (keep > 0 && extra > 0 && lp.tokens[keep - 1].length <= extra) extra -= lp.tokens[--keep].length;
    }
    return { logprobs: lp.token_logprobs.slice(0, keep), top: (lp.top_logprobs ?? []).slice(0, keep) };
  }

  async loglikelihood(reqs: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const pairs = reqs.map((r) => splitAtBoundary(r.context, r.continuation));
    const contexts = [...new Set(pairs.map((p) => p.context).filter((c) => c !== ''))];
    const [ctxEcho, wholeEcho] = [await this.echo(contexts), await this.echo(pairs.map((p) => p.context + p.continuation))];
    const ctxTokens = new Map(contexts.map((c, i) => [c, ctxEcho[i].logprobs.length]));
    return pairs.map((p, i) => {
      const n = p.context === '' ? 0 : ctxTokens.get(p.context)!;
      const e = wholeEcho[i];
      if (e.logprobs.length <= n) throw new Error(`${this.endpoint}: the continuation ${JSON.stringify(p.continuation.slice(0, 40))} added no tokens after its context`);
      let logprob = 0;
      let greedy = true;
      for (let t = n; t < e.logprobs.length; t++) {
        const v = e.logprobs[t];
        if (v === null && t === 0) continue;
        if (typeof v !== 'number') throw new Error(`${this.endpoint}: token ${t} of an echoed prompt has no logprob`);
        logprob += v;
        const top = e.top[t];
        if (top) for (const alt of Object.values(top)) if (alt > v + 1e-6) { greedy = false; break; }
      }
      return { logprob, greedy };
    });
  }

  async generate(reqs: readonly GenerateRequest[]): Promise<string[]> {
    const out: string[] = new Array(reqs.length);
    let next = 0;
    const worker = async () => {
      while (next < reqs.length) {
        const i = next++;
        const r = reqs[i];
        const stop = r.until.filter((s) => s !== '').slice(0, 4);
        const [ch] = await this.post({
          prompt: r.prompt, max_tokens: r.maxTokens, temperature: r.temperature ?? 0,
          ...(stop.length ? { stop } : {}), ...(r.seed !== undefined ? { seed: r.seed } : {}),
        });
        if (typeof ch?.text !== 'string') throw new Error(`${this.endpoint}: generation response has no choices[0].text`);
        out[i] = cutAtStops(ch.text, r.until);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, reqs.length) }, worker));
    return out;
  }
}
