/** /v1/completions and /v1/chat/completions: request → scheduler job → JSON or SSE response. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadedModel, SamplingOptions } from '../inference/types.js';
import { encodeChat } from '../tokenizer/chat-template.js';
import { ApiError, sendJson } from './errors.js';
import type { Job, JobResult, Scheduler, Scored, TokenChooser } from './scheduler.js';
import { ChatRequest, CompletionRequest, describeIssues, messageText } from './schemas.js';
import { SseStream } from './sse.js';
import type { z } from 'zod';

export interface Limits {
  maxTokens: number;        // cap on max_tokens
  defaultMaxTokens: number; // when the request gives none
}

export interface OpenAiContext {
  model: LoadedModel;
  modelId: string;
  scheduler: Scheduler;
  limits: Limits;
  makeChooser(opts: SamplingOptions): TokenChooser;
}

function parse<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (!r.success) {
    const { message, param } = describeIssues(r.error);
    throw new ApiError(400, message, 'invalid_request_error', param);
  }
  return r.data;
}

function sampling(req: CompletionRequest | ChatRequest, limits: Limits): SamplingOptions {
  const requested = req.max_completion_tokens ?? req.max_tokens ?? limits.defaultMaxTokens;
  if (requested > limits.maxTokens) {
    throw new ApiError(400, `max_tokens ${requested} exceeds this server's limit of ${limits.maxTokens}`, 'invalid_request_error', 'max_tokens');
  }
  const stop = req.stop == null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
  return {
    temperature: req.temperature ?? 1,
    topP: req.top_p ?? 1,
    topK: req.top_k ?? 0,
    seed: req.seed ?? undefined,
    maxTokens: requested,
    stop: stop.filter((s) => s.length > 0),
  };
}

/** Aborts when the client goes away before the response is complete. */
function disconnectSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const ctl = new AbortController();
  res.on('close', () => { if (!res.writableFinished) ctl.abort(); });
  req.on('aborted', () => ctl.abort());
  return ctl.signal;
}

const finish = (r: JobResult) => (r.finishReason === 'eos' || r.finishReason === 'stop' ? 'stop' : 'length');
const usage = (prompt: number, completion: number) => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });

/** The prompts of a completions request as token ids: a string, strings, ids, or lists of ids. */
function promptIdLists(ctx: OpenAiContext, prompt: CompletionRequest['prompt']): number[][] {
  const tok = ctx.model.tokenizer;
  const V = ctx.model.config.vocabSize;
  const list: (string | number[])[] = typeof prompt === 'string' ? [prompt]
    : typeof prompt[0] === 'number' ? [prompt as number[]] : (prompt as (string | number[])[]);
  return list.map((p, i) => {
    if (typeof p === 'string') {
      if (!tok) throw new ApiError(400, 'this model has no tokenizer: send the prompt as an array of token ids', 'invalid_request_error', 'prompt');
      return tok.encode(p, { bos: true });
    }
    const bad = p.findIndex((id) => id >= V);
    if (bad >= 0) throw new ApiError(400, `prompt ${i} token ${bad} has id ${p[bad]}, outside the vocabulary of ${V}`, 'invalid_request_error', 'prompt');
    return p;
  });
}

/** OpenAI's legacy logprobs object (what lm-evaluation-harness's local-completions reads). */
function legacyLogprobs(ctx: OpenAiContext, scored: Scored[]) {
  const tokens = scored.map((s) => piece(ctx, s.id));
  let offset = 0;
  const textOffset = tokens.map((t) => { const o = offset; offset += t.length; return o; });
  return {
    tokens,
    token_logprobs: scored.map((s) => s.logprob),
    top_logprobs: scored.map((s) => (s.logprob === null ? null : Object.fromEntries(s.top.map(([id, lp]) => [piece(ctx, id), lp])))),
    text_offset: textOffset,
  };
}

export async function completions(ctx: OpenAiContext, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const r = parse(CompletionRequest, body);
  const prompts = promptIdLists(ctx, r.prompt);
  const opts = sampling(r, ctx.limits);
  const top = r.logprobs ?? 0;
  const wantLogprobs = r.logprobs != null;
  const echo = r.echo ?? false;
  const bosId = ctx.model.tokenizer?.bosId;
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const signal = disconnectSignal(req, res);
  const base = { id, object: 'text_completion', created, model: ctx.modelId };
  const submit = (promptIds: number[], onToken: Job['onToken']) => ctx.scheduler.submit({
    promptIds, sampling: opts, chooser: ctx.makeChooser(opts), promptLogprobs: echo && wantLogprobs && !r.stream,
    topLogprobs: top, signal, onToken,
  });

  if (r.stream) {
    return streamed(res, async (sse) => {
      const results = await Promise.all(prompts.map(async (promptIds, index) => {
        if (echo) sse.send({ ...base, choices: [{ index, text: promptText(ctx, promptIds), logprobs: null, finish_reason: null }] });
        const result = await submit(promptIds, (t, scored) => sse.send({ ...base, choices: [{
          index, text: t.text, logprobs: wantLogprobs && t.id >= 0 ? legacyLogprobs(ctx, [scored]) : null, finish_reason: null,
        }] }));
        if (result.finishReason !== 'cancelled') sse.send({ ...base, choices: [{ index, text: '', logprobs: null, finish_reason: finish(result) }] });
        return result;
      }));
      if (results.some((x) => x.finishReason === 'cancelled')) return sse.close();
      const completion = results.reduce((n, x) => n + x.tokens.length, 0);
      const prompt = prompts.reduce((n, p) => n + p.length, 0);
      if (r.stream_options?.include_usage) sse.send({ ...base, choices: [], usage: usage(prompt, completion) });
      sse.done();
    });
  }

  const results = await Promise.all(prompts.map((p) => submit(p, () => {})));
  if (results.some((x) => x.finishReason === 'cancelled')) return;
  const choices = results.map((result, index) => {
    const promptIds = prompts[index]!;
    // the BOS we add is not part of the prompt text: it is neither echoed nor scored
    const echoed = echo ? result.prompt.slice(promptIds[0] === bosId ? 1 : 0) : [];
    return {
      index,
      text: (echo ? promptText(ctx, promptIds) : '') + result.text,
      logprobs: wantLogprobs ? legacyLogprobs(ctx, [...echoed, ...result.generated]) : null,
      finish_reason: finish(result),
    };
  });
  const completion = results.reduce((n, x) => n + x.tokens.length, 0);
  sendJson(res, 200, { ...base, choices, usage: usage(prompts.reduce((n, p) => n + p.length, 0), completion) });
}

export async function chatCompletions(ctx: OpenAiContext, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const r = parse(ChatRequest, body);
  const tok = ctx.model.tokenizer;
  if (!tok) throw new ApiError(400, 'this model has no tokenizer: chat needs one');
  let promptIds: number[];
  try {
    promptIds = encodeChat(tok, r.messages.map((m) => ({ role: m.role, content: messageText(m) })), true).ids;
  } catch (e) {
    throw new ApiError(400, (e as Error).message, 'invalid_request_error', 'messages');
  }
  const opts = sampling(r, ctx.limits);
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const signal = disconnectSignal(req, res);
  const base = { id, object: 'chat.completion.chunk', created, model: ctx.modelId };

  if (r.stream) {
    return streamed(res, async (sse) => {
      sse.send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
      const result = await ctx.scheduler.submit({
        promptIds, sampling: opts, chooser: ctx.makeChooser(opts), promptLogprobs: false, topLogprobs: 0, signal,
        onToken: (t) => { if (t.text) sse.send({ ...base, choices: [{ index: 0, delta: { content: t.text }, finish_reason: null }] }); },
      });
      if (result.finishReason === 'cancelled') return sse.close();
      sse.send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish(result) }] });
      if (r.stream_options?.include_usage) sse.send({ ...base, choices: [], usage: usage(promptIds.length, result.tokens.length) });
      sse.done();
    });
  }
  const top = r.logprobs ? (r.top_logprobs ?? 0) : 0;
  const result = await ctx.scheduler.submit({ promptIds, sampling: opts, chooser: ctx.makeChooser(opts), promptLogprobs: false, topLogprobs: top, signal, onToken: () => {} });
  if (result.finishReason === 'cancelled') return;
  sendJson(res, 200, {
    id, object: 'chat.completion', created, model: ctx.modelId,
    choices: [{
      index: 0, message: { role: 'assistant', content: result.text }, finish_reason: finish(result),
      logprobs: r.logprobs ? { content: result.generated.map((g) => ({
        token: piece(ctx, g.id), logprob: g.logprob,
        top_logprobs: g.top.map(([tid, lp]) => ({ token: piece(ctx, tid), logprob: lp })),
      })) } : null,
    }],
    usage: usage(promptIds.length, result.tokens.length),
  });
}

/** Runs a streaming response; an error after the stream has started becomes an error event. */
async function streamed(res: ServerResponse, body: (sse: SseStream) => Promise<void>): Promise<void> {
  const sse = new SseStream(res);
  try {
    await body(sse);
  } catch (e) {
    sse.error((e as Error).message, e instanceof ApiError ? e.type : 'server_error');
  }
}

function piece(ctx: OpenAiContext, id: number): string {
  const tok = ctx.model.tokenizer;
  return tok ? tok.idToPiece(id).replace(/\u2581/g, ' ') : String(id);
}

function promptText(ctx: OpenAiContext, ids: number[]): string {
  return ctx.model.tokenizer ? ctx.model.tokenizer.decode(ids) : '';
}
