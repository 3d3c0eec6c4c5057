import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LexiconScorer, PerspectiveScorer, toxicityScorerFrom } from '../../src/eval/toxicity.js';

test('Perspective client: request shape, key, retry on 429, parsed score', async () => {
  const seen: { url: string; body: Record<string, unknown> }[] = [];
  let calls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d; });
    req.on('end', () => {
      calls++;
      seen.push({ url: req.url ?? '', body: JSON.parse(body) });
      if (calls === 1) { res.writeHead(429).end('{"error":{"message":"quota"}}'); return; }
      const text = (JSON.parse(body) as { comment: { text: string } }).comment.text;
      const value = text.includes('awful') ? 0.91 : 0.02;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ attributeScores: { TOXICITY: { summaryScore: { value, type: 'PROBABILITY' } } } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1alpha1/comments:analyze`;
  try {
    const p = new PerspectiveScorer({ apiKey: 'secret key', endpoint, qps: 50 });
    assert.deepEqual(await p.score(['an awful thing', 'a nice day', '   ']), [0.91, 0.02, 0]);
    assert.equal(calls, 3, 'one retry after 429, nothing sent for the empty text');
    assert.equal(seen[0].url, '/v1alpha1/comments:analyze?key=secret%20key');
    assert.deepEqual(seen[1].body, { comment: { text: 'an awful thing' }, languages: ['en'], requestedAttributes: { TOXICITY: {} }, doNotStore: true });
  } finally { await new Promise((r) => server.close(r)); }
});

test('Perspective client: errors name the status', async () => {
  const server = createServer((_req, res) => { res.writeHead(400).end('{"error":{"message":"bad language"}}'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  try {
    await assert.rejects(new PerspectiveScorer({ apiKey: 'k', endpoint, qps: 50 }).score(['x']), /HTTP 400: .*bad language/);
  } finally { await new Promise((r) => server.close(r)); }
});

test('lexicon scorer: 1 - prod(1 - weight) over listed words; labelled not-Perspective', async () => {
  const s = new LexiconScorer({ bad: 0.5, worse: 0.8 });
  assert.deepEqual(await s.score(['a fine day', 'bad', 'Bad, BAD worse!']), [0, 0.5, 1 - 0.5 * 0.5 * 0.2]);
  assert.match(new LexiconScorer().name, /NOT Perspective/);
  assert.ok(new LexiconScorer().scoreText('you stupid idiot') > new LexiconScorer().scoreText('you are kind'));
});

test('scorer selection: Perspective only with a key; otherwise an explicit local choice or a clear error', () => {
  assert.ok(toxicityScorerFrom(undefined, { PERSPECTIVE_API_KEY: 'k' }) instanceof PerspectiveScorer);
  assert.ok(toxicityScorerFrom('lexicon', {}) instanceof LexiconScorer);
  assert.throws(() => toxicityScorerFrom(undefined, {}), /needs a toxicity scorer/);
  assert.throws(() => toxicityScorerFrom('perspective', {}), /needs PERSPECTIVE_API_KEY/);
  assert.throws(() => toxicityScorerFrom('magic', {}), /unknown toxicity scorer 'magic'/);
});
