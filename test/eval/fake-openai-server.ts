/**
 * A local OpenAI-compatible /v1/completions server backed by the character n-gram model, for
 * testing the HTTP adapter and the CLI end to end: one character is one token, echo=true
 * returns per-token logprobs with text offsets (null for the first token, as OpenAI does).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CharNgramModel } from '../../src/eval/char-ngram.js';

export interface FakeServer { url: string; requests: Record<string, unknown>[]; close(): Promise<void> }

export async function startFakeOpenAIServer(model: CharNgramModel, opts: { firstPromptOnly?: boolean; generateOnEcho?: number } = {}): Promise<FakeServer> {
  const requests: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString('utf8'); });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/completions') { res.writeHead(404).end('{"error":"not found"}'); return; }
      const r = JSON.parse(body) as { prompt: string | string[]; echo?: boolean; max_tokens?: number; temperature?: number; stop?: string[]; seed?: number };
      requests.push(r);
      // firstPromptOnly imitates servers that take a list but answer only its first prompt.
      const prompts = Array.isArray(r.prompt) ? (opts.firstPromptOnly ? r.prompt.slice(0, 1) : r.prompt) : [r.prompt];
      const choices = prompts.map((prompt, index) => {
        if (r.echo) {
          // generateOnEcho imitates servers that generate at least one token even with max_tokens: 0.
          const gen = opts.generateOnEcho ? model.generateOne({ prompt, until: [], maxTokens: opts.generateOnEcho }) : '';
          const text = prompt + gen;
          const t = model.tokenLogprobs(text, 0);
          const tokens = [...text].flatMap((c) => c.split(''));
          return {
            index, text, finish_reason: 'length',
            logprobs: {
              tokens,
              token_logprobs: t.logprobs.map((v, i) => (i === 0 ? null : v)),
              top_logprobs: t.top.map((c, i) => (i === 0 ? null : { [c]: t.topLogprobs[i] })),
              text_offset: tokens.map((_, i) => i),
            },
          };
        }
        const text = model.generateOne({ prompt, until: r.stop ?? [], maxTokens: r.max_tokens ?? 16, temperature: r.temperature ?? 0, seed: r.seed });
        return { index, text, finish_reason: 'stop', logprobs: null };
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'cmpl-fake', object: 'text_completion', choices }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}
