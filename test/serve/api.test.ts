/**
 * The server against real HTTP clients: the official `openai` npm client (completions, chat,
 * streaming), equality with `llama-ts generate` and `llama-ts logprobs`, disconnects, concurrency
 * without mixed streams, and bad input answered with OpenAI-style 4xx errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createLlamaServer, type LlamaServer } from '../../src/serve/server.js';
import { makeChooser } from '../../src/cli/serve.js';
import type { LlamaModel } from '../../src/inference/model.js';
import { loadTiny, writeTinyGguf } from './helpers.js';

const CLI = 'dist/src/cli/main.js';
let modelPath: string;
let model: LlamaModel;
let server: LlamaServer;
let base: string;
let client: OpenAI;

before(async () => {
  modelPath = writeTinyGguf();
  model = await loadTiny(modelPath);
  server = createLlamaServer({ model, makeChooser, maxActive: 8, maxQueue: 32, maxBodyBytes: 64 * 1024, bodyTimeoutMs: 500 });
  base = await server.listen(0);
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(async () => {
  await server.close();
  model.dispose();
});

async function post(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(base + path, { method: 'POST', body, headers });
  return { status: res.status, json: (await res.json()) as { error?: { message: string; type: string; param: string | null } } };
}

describe('OpenAI API with the official client', () => {
  it('lists the model', async () => {
    const list = await client.models.list();
    assert.equal(list.data.length, 1);
    assert.match(list.data[0]!.id, /tiny\.gguf/);
  });

  it('greedy completion equals `llama-ts generate`', async () => {
    const prompt = 'The old man said';
    const r = await client.completions.create({ model: 'x', prompt, max_tokens: 24, temperature: 0 });
    const cli = execFileSync(process.execPath, [CLI, 'generate', '--model', modelPath, '--prompt', prompt, '--max-tokens', '24',
      '--temperature', '0', '--threads', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    assert.ok(r.choices[0]!.text.length > 0);
    assert.equal(cli.trimEnd(), r.choices[0]!.text.trimEnd());
    assert.equal(r.usage!.completion_tokens, 24);
    assert.equal(r.choices[0]!.finish_reason, 'length');
  });

  it('echo + logprobs equal `llama-ts logprobs`', async () => {
    const ids = [1, 45, 200, 17, 999, 3, 1500];
    const r = await client.completions.create({ model: 'x', prompt: ids, max_tokens: 0, echo: true, logprobs: 1, temperature: 0 });
    const out = join(mkdtempSync(join(tmpdir(), 'lp-')), 'rows.f32');
    execFileSync(process.execPath, [CLI, 'logprobs', '--model', modelPath, '--ids', ids.join(','), '--out', out, '--threads', '1'], { stdio: 'ignore' });
    const buf = readFileSync(out);
    const rows = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const V = model.config.vocabSize;
    const lps = r.choices[0]!.logprobs!.token_logprobs!;
    // BOS is not echoed; echoed token i (= ids[i+1]) is scored by row i
    assert.equal(lps.length, ids.length - 1);
    for (let i = 1; i < ids.length; i++) {
      const want = rows[(i - 1) * V + ids[i]!]!;
      if (i === 1) assert.ok(Math.abs(lps[0]! - want) < 1e-4, `first echoed token: ${lps[0]} vs ${want}`);
      else assert.ok(Math.abs(lps[i - 1]! - want) < 1e-4, `token ${i}: ${lps[i - 1]} vs ${want}`);
    }
  });

  it('logprobs: N alternatives per position, best first, consistent with the chosen token', async () => {
    const r = await client.completions.create({ model: 'x', prompt: 'The school', max_tokens: 6, temperature: 0, logprobs: 3, echo: true });
    const lp = r.choices[0]!.logprobs!;
    assert.equal(lp.tokens!.length, lp.top_logprobs!.length);
    for (let i = 1; i < lp.tokens!.length; i++) {
      const alts = Object.values(lp.top_logprobs![i]!);
      assert.equal(alts.length, 3);
      for (let j = 1; j < alts.length; j++) assert.ok(alts[j - 1]! >= alts[j]!);
      assert.ok(lp.token_logprobs![i]! <= alts[0]! + 1e-6);
    }
    // generated tokens are greedy: each is the best alternative at its position
    const gen = lp.tokens!.length - 6;
    for (let i = gen; i < lp.tokens!.length; i++) assert.ok(Math.abs(lp.token_logprobs![i]! - Math.max(...Object.values(lp.top_logprobs![i]!))) < 1e-6);
  });

  it('several prompts in one request give one choice each', async () => {
    const prompts = ['First one', 'Second one', 'Third'];
    const r = await client.completions.create({ model: 'x', prompt: prompts, max_tokens: 5, temperature: 0 });
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
    for (const [i, p] of prompts.entries()) {
      const alone = await client.completions.create({ model: 'x', prompt: p, max_tokens: 5, temperature: 0 });
      assert.equal(r.choices[i]!.text, alone.choices[0]!.text);
    }
  });

  it('chat completion, non-streaming and streaming agree under greedy decoding', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about the school.' }];
    const full = await client.chat.completions.create({ model: 'x', messages, max_tokens: 20, temperature: 0 });
    const stream = await client.chat.completions.create({ model: 'x', messages, max_tokens: 20, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let usage: unknown = null;
    for await (const c of stream) {
      if (c.usage) usage = c.usage;
      const d = c.choices[0]?.delta?.content;
      if (d) { text += d; chunks++; }
    }
    assert.ok(chunks > 1, 'tokens arrive as several chunks');
    assert.equal(text, full.choices[0]!.message.content);
    assert.equal((usage as { completion_tokens: number }).completion_tokens, full.usage!.completion_tokens);
  });

  it('stop strings end the text before them', async () => {
    const free = await client.completions.create({ model: 'x', prompt: 'I was', max_tokens: 30, temperature: 0 });
    const text = free.choices[0]!.text;
    const stop = text.slice(8, 11);
    assert.ok(stop.trim().length > 0, `picked a stop string from ${JSON.stringify(text)}`);
    const r = await client.completions.create({ model: 'x', prompt: 'I was', max_tokens: 30, temperature: 0, stop: [stop] });
    assert.equal(r.choices[0]!.text, text.slice(0, text.indexOf(stop)));
    assert.equal(r.choices[0]!.finish_reason, 'stop');
  });

  it('seeded sampling is reproducible', async () => {
    const a = await client.completions.create({ model: 'x', prompt: 'Once', max_tokens: 16, temperature: 1, seed: 42 });
    const b = await client.completions.create({ model: 'x', prompt: 'Once', max_tokens: 16, temperature: 1, seed: 42 });
    assert.equal(a.choices[0]!.text, b.choices[0]!.text);
  });
});

describe('many clients', () => {
  it('16 concurrent streams each equal their own single-client result (nothing mixed or dropped)', async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => `Number ${i} was`);
    const alone = [];
    for (const p of prompts.slice(0, 4)) alone.push((await client.completions.create({ model: 'x', prompt: p, max_tokens: 12, temperature: 0 })).choices[0]!.text);
    const together = await Promise.all(prompts.map(async (p) => {
      const s = await client.completions.create({ model: 'x', prompt: p, max_tokens: 12, temperature: 0, stream: true });
      let t = '';
      for await (const c of s) t += c.choices[0]?.text ?? '';
      return t;
    }));
    assert.deepEqual(together.slice(0, 4), alone);
    for (const t of together) assert.ok(t.length > 0);
  });

  it('a client that disconnects mid-stream frees its slot', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: ctl.signal,
      body: JSON.stringify({ prompt: 'Long', max_tokens: 200, stream: true, temperature: 0 }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    assert.equal(server.scheduler.load.active, 1);
    ctl.abort();
    for (let i = 0; i < 100 && server.scheduler.load.active > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.scheduler.load.active, 0);
    const after = await client.completions.create({ model: 'x', prompt: 'Still', max_tokens: 4, temperature: 0 });
    assert.equal(after.usage!.completion_tokens, 4);
  });
});

describe('bad input gets an OpenAI-style 4xx and the server keeps serving', () => {
  const cases: [string, string, number, RegExp][] = [
    ['malformed JSON', '{"prompt": "a",', 400, /not valid JSON/],
    ['wrong type', JSON.stringify({ prompt: 'a', max_tokens: 'ten' }), 400, /max_tokens/],
    ['unknown field', JSON.stringify({ prompt: 'a', max_token: 5 }), 400, /unknown field.*max_token/],
    ['negative max_tokens', JSON.stringify({ prompt: 'a', max_tokens: -1 }), 400, /max_tokens/],
    ['prompt longer than the context', JSON.stringify({ prompt: Array(400).fill(5) }), 400, /context/],
    ['token id outside the vocabulary', JSON.stringify({ prompt: [1, 99999] }), 400, /vocabulary/],
    ['max_tokens above the limit', JSON.stringify({ prompt: 'a', max_tokens: 100000 }), 400, /limit/],
    ['huge body', JSON.stringify({ prompt: 'x'.repeat(100 * 1024) }), 413, /exceeds/],
    ['empty body', '', 400, /empty/],
  ];
  for (const [name, body, status, msg] of cases) {
    it(name, async () => {
      const r = await post('/v1/completions', body);
      assert.equal(r.status, status);
      assert.match(r.json.error!.message, msg);
      assert.equal(typeof r.json.error!.type, 'string');
    });
  }

  it('chat messages out of order', async () => {
    const r = await post('/v1/chat/completions', JSON.stringify({ messages: [{ role: 'assistant', content: 'hi' }] }));
    assert.equal(r.status, 400);
    assert.match(r.json.error!.message, /role 'assistant'/);
  });

  it('wrong content type and unknown endpoint', async () => {
    assert.equal((await post('/v1/completions', '{}', { 'content-type': 'text/plain' })).status, 415);
    assert.equal((await post('/v1/embeddings', '{}')).status, 404);
  });

  it('a slow client that never finishes its body gets 408', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '100' } }, (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.write('{"prompt": "a');
    });
    assert.equal(status, 408);
    const ok = await client.completions.create({ model: 'x', prompt: 'ok', max_tokens: 2, temperature: 0 });
    assert.equal(ok.usage!.completion_tokens, 2);
  });

  it('a raw socket sending garbage does not take the server down', async () => {
    await new Promise<void>((resolve) => {
      const s = connect(Number(new URL(base).port), '127.0.0.1', () => { s.write('NOT HTTP AT ALL\r\n\r\n'); });
      s.on('data', () => {});
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    const list = await client.models.list();
    assert.equal(list.data.length, 1);
  });
});

describe('API key', () => {
  it('is required when configured', async () => {
    const s = createLlamaServer({ model, makeChooser, apiKey: 'sekrit' });
    const url = await s.listen(0);
    try {
      const denied = await fetch(`${url}/v1/models`);
      assert.equal(denied.status, 401);
      const ok = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sekrit', maxRetries: 0 });
      assert.equal((await ok.models.list()).data.length, 1);
    } finally {
      await s.close();
    }
  });
});
