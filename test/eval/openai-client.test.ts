import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CharNgramModel } from '../../src/eval/char-ngram.js';
import { OpenAICompletionsModel } from '../../src/eval/openai-client.js';
import { startFakeOpenAIServer } from './fake-openai-server.js';

const TEXT = 'Question: what is it?\nAnswer: it is a cat. Question: who is it?\nAnswer: it is the dog. ';

test('log-likelihoods over HTTP (echo + logprobs) equal the model scored directly', async () => {
  const m = new CharNgramModel(TEXT, 4);
  const srv = await startFakeOpenAIServer(m);
  try {
    const client = new OpenAICompletionsModel({ url: `${srv.url}/v1`, model: 'fake', batchSize: 3 });
    const reqs = [
      { context: 'Question: what is it?\nAnswer:', continuation: ' it is a cat.' },
      { context: 'Question: what is it?\nAnswer: ', continuation: 'a dog' },
      { context: 'Question: who', continuation: ' is it?' },
      { context: 'x', continuation: 'yz' },
    ];
    const viaHttp = await client.loglikelihood(reqs);
    const direct = await m.loglikelihood(reqs);
    for (let i = 0; i < reqs.length; i++) {
      assert.ok(Math.abs(viaHttp[i].logprob - direct[i].logprob) < 1e-9, `request ${i}`);
      assert.equal(viaHttp[i].greedy, direct[i].greedy, `greedy ${i}`);
    }
    // Lists of up to 3 prompts: the 3 distinct contexts (after the whitespace rule; to count their tokens), then the 4 full prompts.
    assert.equal(srv.requests.length, 3);
    for (const r of srv.requests) assert.deepEqual({ ...r, prompt: undefined }, { model: 'fake', prompt: undefined, echo: true, logprobs: 1, max_tokens: 0, temperature: 0 });
    assert.deepEqual(srv.requests.map((r) => (Array.isArray(r.prompt) ? r.prompt.length : 1)).sort(), [1, 3, 3]);
  } finally { await srv.close(); }
});

test('greedy generation over HTTP equals the direct model, cut at stop strings', async () => {
  const m = new CharNgramModel(TEXT, 4);
  const srv = await startFakeOpenAIServer(m);
  try {
    const client = new OpenAICompletionsModel({ url: srv.url });
    const reqs = [{ prompt: 'Question: who is it?\nAnswer:', until: ['\n', '.'], maxTokens: 30 }, { prompt: 'Quest', until: [], maxTokens: 5 }];
    assert.deepEqual(await client.generate(reqs), await m.generate(reqs));
    assert.deepEqual(srv.requests[0].stop ?? srv.requests[1].stop, ['\n', '.']);
  } finally { await srv.close(); }
});

test('server errors are reported with the endpoint and status', async () => {
  const server = createServer((req, res) => {
    if (req.url === '/v1/completions' && req.headers.authorization !== 'Bearer k') { res.writeHead(401).end('{"error":"bad key"}'); return; }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ index: 0, text: 'x', logprobs: null }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await assert.rejects(new OpenAICompletionsModel({ url }).loglikelihood([{ context: 'a', continuation: 'b' }]), /answered HTTP 401: \{"error":"bad key"\}/);
    await assert.rejects(new OpenAICompletionsModel({ url, apiKey: 'k' }).loglikelihood([{ context: 'a', continuation: 'b' }]), /lacks logprobs/);
    assert.deepEqual(await new OpenAICompletionsModel({ url, apiKey: 'k' }).generate([{ prompt: 'p', until: [], maxTokens: 1 }]), ['x']);
  } finally { await new Promise((r) => server.close(r)); }
  await assert.rejects(new OpenAICompletionsModel({ url }).generate([{ prompt: 'p', until: [], maxTokens: 1 }]), /cannot reach .*is the server running/);
  assert.throws(() => new OpenAICompletionsModel({ url: 'not a url' }), /is not a URL/);
});

test('tokens a server generates despite max_tokens: 0 are not counted', async () => {
  const m = new CharNgramModel(TEXT, 4);
  const srv = await startFakeOpenAIServer(m, { generateOnEcho: 3 });
  try {
    const reqs = [{ context: 'Question: what', continuation: ' is it?' }, { context: 'Answer:', continuation: ' it is' }];
    const got = await new OpenAICompletionsModel({ url: srv.url }).loglikelihood(reqs);
    const want = await m.loglikelihood(reqs);
    got.forEach((g, i) => assert.ok(Math.abs(g.logprob - want[i].logprob) < 1e-9, `${g.logprob} vs ${want[i].logprob}`));
  } finally { await srv.close(); }
});

test('a server that reads only the first prompt of a list is detected and asked one prompt at a time', async () => {
  const m = new CharNgramModel(TEXT, 4);
  const srv = await startFakeOpenAIServer(m, { firstPromptOnly: true });
  try {
    const client = new OpenAICompletionsModel({ url: srv.url, batchSize: 8 });
    const reqs = [{ context: 'Question: what', continuation: ' is it?' }, { context: 'Answer:', continuation: ' it is' }];
    const got = await client.loglikelihood(reqs);
    const want = await m.loglikelihood(reqs);
    got.forEach((g, i) => assert.ok(Math.abs(g.logprob - want[i].logprob) < 1e-9));
  } finally { await srv.close(); }
});
