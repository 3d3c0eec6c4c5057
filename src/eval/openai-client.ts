/**
 * EvalModel over any OpenAI-compatible completions server (llama.cpp's server, vLLM, our own
 * serve/), as lm-evaluation-harness's local-completions does:
 *  - log-likelihood: POST /v1/completions {prompt: context+continuation, echo: true,
 *    logprobs: 1, max_tokens: 0, temperature: 0}; the continuation's tokens are those whose
 *    text_offset lies at or after the context/continuation boundary (after the whitespace rule
 *    of splitAtBoundary), and before the end of the prompt (a server that generates a token
 *    anyway has it ignored). greedy = each such token is the top-1 of its top_logprobs.
 *  - generation: POST /v1/completions {prompt, max_tokens, temperature, stop, seed}; the text is
 *    cut again locally at the stop strings (the API takes at most 4).
 * text_offset is read as a UTF-16 character offset into the prompt (OpenAI's meaning). With an
 * empty context the first token has no logprob and is left out of the sum.
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

interface CompletionChoice {
  index?: number;
  text?: string;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[]; top_logprobs?: (Record<string, number> | null)[]; text_offset?: number[] } | null;
}

export class OpenAICompletionsModel implements EvalModel {
  readonly name: string;
  private readonly endpoint: string;
  private readonly batchSize: number;
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
    if (!res.ok) throw new Error(`${this.endpoint} answered HTTP ${res.status}: ${text.slice(0, 300)}`);
    let json: { choices?: CompletionChoice[] };
    try { json = JSON.parse(text) as { choices?: CompletionChoice[] }; } catch {
      throw new Error(`${this.endpoint} answered with something that is not JSON: ${text.slice(0, 200)}`);
    }
    if (!Array.isArray(json.choices)) throw new Error(`${this.endpoint}: response has no 'choices' array`);
    // Order by index when the server gives one (the spec allows any order).
    return json.choices.slice().sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  }

  async loglikelihood(reqs: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const out: LoglikelihoodResult[] = [];
    for (let start = 0; start < reqs.length; start += this.batchSize) {
      const batch = reqs.slice(start, start + this.batchSize).map((r) => splitAtBoundary(r.context, r.continuation));
      const choices = await this.post({
        prompt: batch.map((b) => b.context + b.continuation), echo: true, logprobs: 1, max_tokens: 0, temperature: 0,
      });
      if (choices.length !== batch.length) throw new Error(`${this.endpoint}: sent ${batch.length} prompts, got ${choices.length} choices`);
      choices.forEach((ch, j) => out.push(this.parseEcho(ch, batch[j].context.length, batch[j].context.length + batch[j].continuation.length)));
    }
    return out;
  }

  private parseEcho(ch: CompletionChoice, boundary: number, end: number): LoglikelihoodResult {
    const lp = ch.logprobs;
    if (!lp || !Array.isArray(lp.token_logprobs) || !Array.isArray(lp.text_offset) || !Array.isArray(lp.tokens)) {
      throw new Error(`${this.endpoint}: the response lacks logprobs.tokens/token_logprobs/text_offset; the server must support echo=true with logprobs (llama.cpp: a recent server; vLLM: yes)`);
    }
    let logprob = 0;
    let greedy = true;
    let counted = 0;
    for (let i = 0; i < lp.tokens.length; i++) {
      const off = lp.text_offset[i];
      const tokEnd = off + lp.tokens[i].length;
      // A token belongs to the continuation if it carries continuation characters and starts inside the prompt.
      if (tokEnd <= boundary || off >= end) continue;
      const v = lp.token_logprobs[i];
      // The prompt's first token has no logprob (nothing precedes it); with an empty context
      // (CrowS-Pairs) the score therefore starts at the second token.
      if (v === null && i === 0) continue;
      if (typeof v !== 'number') throw new Error(`${this.endpoint}: token ${i} of the continuation has no logprob (the first token of a prompt has none; is the context empty?)`);
      logprob += v;
      counted++;
      const top = lp.top_logprobs?.[i];
      if (top) for (const alt of Object.values(top)) if (alt > v + 1e-6) { greedy = false; break; }
    }
    if (counted === 0) throw new Error(`${this.endpoint}: no tokens of the continuation found in the echoed prompt`);
    return { logprob, greedy };
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
