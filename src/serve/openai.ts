/** /v1/completions and /v1/chat/completions: request → scheduler job → JSON or SSE response. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadedModel, SamplingOptions } from '../inference/types.js';
import { encodeChat } from '../tokenizer/chat-template.js';
import { ApiError, sendJson } from './errors.js';
import type { JobResult, Scheduler, TokenChooser } from './scheduler.js';
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

export async function completions(ctx: OpenAiContext, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const r = parse(CompletionRequest, body);
  const tok = ctx.model.tokenizer;
  let promptIds: number[];
  if (typeof r.prompt === 'string' || Array.isArray(r.prompt) && typeof r.prompt[0] === 'string') {
    if (!tok) throw new ApiError(400, 'this model has no tokenizer: send the prompt as an array of token ids');
    promptIds = tok.encode(typeof r.prompt === 'string' ? r.prompt : (r.prompt[0] as string), { bos: true });
  } else {
    promptIds = r.prompt as number[];
    const V = ctx.model.config.vocabSize;
    const bad = promptIds.findIndex((id) => id >= V);
    if (bad >= 0) throw new ApiError(400, `prompt token ${bad} has id ${promptIds[bad]}, outside the vocabulary of ${V}`, 'invalid_request_error', 'prompt');
  }
  const opts = sampling(r, ctx.limits);
  const wantLogprobs = r.logprobs != null;
  const echo = r.echo ?? false;
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const signal = disconnectSignal(req, res);
  const base = { id, object: 'text_completion', created, model: ctx.modelId };

  if (r.stream) {
    return streamed(res, async (sse) => {
      if (echo) sse.send({ ...base, choices: [{ index: 0, text: promptText(ctx, promptIds), logprobs: null, finish_reason: null }] });
      const result = await ctx.scheduler.submit({
        promptIds, sampling: opts, chooser: ctx.makeChooser(opts), promptLogprobs: false, signal,
        onToken: (t) => sse.send({ ...base, choices: [{ index: 0, text: t.text, logprobs: wantLogprobs && t.id >= 0 ? { tokens: [piece(ctx, t.id)], token_logprobs: [t.logprob] } : null, finish_reason: null }] }),
      });
      if (result.finishReason === 'cancelled') return sse.close();
      sse.send({ ...base, choices: [{ index: 0, text: '', logprobs: null, finish_reason: finish(result) }] });
      if (r.stream_options?.include_usage) sse.send({ ...base, choices: [], usage: usage(promptIds.length, result.tokens.length) });
      sse.done();
    });
  }

  const result = await ctx.scheduler.submit({
    promptIds, sampling: opts, chooser: ctx.makeChooser(opts), promptLogprobs: echo && wantLogprobs, signal, onToken: () => {},
  });
  if (result.finishReason === 'cancelled') return;
  let text = result.text;
  let logprobs: unknown = null;
  if (wantLogprobs) {
    // lm-evaluation-harness's local-completions reads tokens/token_logprobs/top_logprobs/text_offset
    const skipBos = promptIds[0] === tok?.bosId ? 1 : 0;
    const ids = [...(echo ? promptIds.slice(skipBos) : []), ...result.tokens];
    const lps = [...(echo ? result.promptLogprobs.slice(skipBos) : []), ...result.tokenLogprobs];
    if (echo && skipBos === 0) lps[0] = null as unknown as number;
    const tokens = ids.map((i) => piece(ctx, i));
    let offset = 0;
    const textOffset = tokens.map((t) => { const o = offset; offset += t.length; return o; });
    logprobs = {
      tokens, token_logprobs: lps, text_offset: textOffset,
      top_logprobs: lps.map((lp, i) => (lp == null ? null : { [tokens[i]!]: lp })),
    };
  }
  if (echo) text = promptText(ctx, promptIds) + text;
  sendJson(res, 200, { ...base, choices: [{ index: 0, text, logprobs, finish_reason: finish(result) }], usage: usage(promptIds.length, result.tokens.length) });
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
        promptIds, sampling: opts, chooser: ctx.makeChooser(opts), promptLogprobs: false, signal,
        onToken: (t) => { if (t.text) sse.send({ ...base, choices: [{ index: 0, delta: { content: t.text }, finish_reason: null }] }); },
      });
      if (result.finishReason === 'cancelled') return sse.close();
      sse.send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finish(result) }] });
      if (r.stream_options?.include_usage) sse.send({ ...base, choices: [], usage: usage(promptIds.length, result.tokens.length) });
      sse.done();
    });
  }
  const result = await ctx.scheduler.submit({ promptIds, sampling: opts, chooser: ctx.makeChooser(opts), promptLogprobs: false, signal, onToken: () => {} });
  if (result.finishReason === 'cancelled') return;
  sendJson(res, 200, {
    id, object: 'chat.completion', created, model: ctx.modelId,
    choices: [{ index: 0, message: { role: 'assistant', content: result.text }, logprobs: null, finish_reason: finish(result) }],
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
