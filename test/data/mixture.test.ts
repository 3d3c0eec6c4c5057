import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { writeTokenShard, readTokenShard, shardDocument } from '../../src/data/token-shard.js';
import { materializeMixture } from '../../src/data/mixture/materialize.js';
import { TABLE1 } from '../../src/data/mixture/table1.js';
import { parseConfig } from '../../src/data/ops/config.js';
import { runPipeline } from '../../src/data/ops/run.js';
import { SentencePieceTokenizer } from '../../src/tokenizer/index.js';
import { makeRunDir } from './run-fixture.js';
import { SHARED, tempDir } from './helpers.js';

test('Table 1 proportions sum to 100% and match the paper', () => {
  assert.equal(Math.round(TABLE1.reduce((a, s) => a + s.proportion, 0) * 1000), 1000);
  assert.deepEqual(TABLE1.map((s) => [s.name, s.proportion * 100, s.epochs]), [
    ['commoncrawl', 67, 1.1], ['c4', 15, 1.06], ['github', 4.5, 0.64], ['wikipedia', 4.5, 2.45], ['books', 4.5, 2.23], ['arxiv', 2.5, 1.06], ['stackexchange', 2, 1.03],
  ]);
});

/** A source whose documents are [tag, k] for k = 0..n-1 with the given length. */
function source(dir: string, name: string, tag: number, docs: number, len: number): string {
  const p = join(dir, `${name}.tok`);
  writeTokenShard(p, Array.from({ length: docs }, (_, k) => Array.from({ length: len }, (_, i) => (i === 0 ? tag : i === 1 ? k : 3))), 1000);
  return p;
}

test('materialised mixture: shares to the token, epochs from repetition, deterministic per seed', (t) => {
  const dir = tempDir(t);
  const big = source(dir, 'big', 1, 400, 50); // 20,000 tokens
  const small = source(dir, 'small', 2, 10, 40); // 400 tokens: will be repeated
  const mid = source(dir, 'mid', 3, 100, 30); // 3,000 tokens: partly used
  const inputs = [
    { name: 'commoncrawl', shards: [big], proportion: 0.67 },
    { name: 'wikipedia', shards: [small], proportion: 0.045 },
    { name: 'github', shards: [mid], proportion: 0.045 },
  ];
  const budget = 10_000;
  const run = (seed: number, sub: string) => materializeMixture(inputs, budget, 1000, seed, (i) => join(dir, `${sub}-${i}.tok`), 4000);
  const a = run(7, 'a');
  const total = 0.67 + 0.045 + 0.045;
  assert.equal(a.tokens, budget);
  for (const s of a.sources) {
    const want = (inputs.find((i) => i.name === s.name)!.proportion / total) * budget;
    assert.ok(Math.abs(s.tokens - want) <= 1, `${s.name}: ${s.tokens} vs ${want}`);
  }
  const wiki = a.sources.find((s) => s.name === 'wikipedia')!;
  assert.ok(wiki.epochs > 1.4 && wiki.epochs < 1.5, `small source repeated: ${wiki.epochs}`);
  assert.ok(a.shards.length >= 3, 'rolled over at 4000 tokens');
  // Within an epoch, every document of a source appears once before any repeats.
  const seen: number[] = [];
  for (const p of a.shards) {
    const sh = readTokenShard(p);
    for (let i = 0; i < sh.docCount; i++) {
      const d = shardDocument(sh, i);
      if (d[0] === 2 && d.length === 40) seen.push(d[1]!);
    }
  }
  assert.deepEqual([...seen.slice(0, 10)].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Same seed → same bytes; another seed → another order, same shares.
  const a2 = run(7, 'a2');
  const b = run(8, 'b');
  assert.deepEqual(a.shards.map((p) => readFileSync(p)), a2.shards.map((p) => readFileSync(p)));
  assert.notDeepEqual(a.shards.map((p) => readFileSync(p)), b.shards.map((p) => readFileSync(p)));
  assert.deepEqual(b.sources.map((s) => s.tokens), a.sources.map((s) => s.tokens));
});

test('pipeline mixture: final shards tokenized with the LLaMA tokenizer, manifest for the trainer', async (t) => {
  const dir = tempDir(t);
  const cfgPath = makeRunDir(dir);
  const json = JSON.parse(readFileSync(cfgPath, 'utf8'));
  json.mixture = { tokenizer: join(SHARED, 'tokenizer/tokenizer.model'), seed: 3, materializeTokens: 50_000 };
  const config = parseConfig(json, cfgPath);
  const r = await runPipeline(config, { log: () => {} });
  const manifest = JSON.parse(readFileSync(r.mixture!, 'utf8'));
  assert.deepEqual(manifest.sources.map((s: { name: string; weight: number }) => [s.name, s.weight]), [['commoncrawl', 0.67], ['books', 0.045], ['stackexchange', 0.02]]);
  const tok = SentencePieceTokenizer.load(join(SHARED, 'tokenizer/tokenizer.model'));
  // The first stackexchange document, tokenized directly, equals its token-shard document.
  const se = manifest.sources.find((s: { name: string }) => s.name === 'stackexchange');
  const shard = readTokenShard(join(config.output, se.shards[0]));
  const { readJsonlDocs } = await import('../../src/data/readers/jsonl.js');
  const { collect, CollectSink } = await import('./helpers.js');
  const docs = await collect(readJsonlDocs(join(config.output, r.finals.get('stackexchange')![0]!), new CollectSink()));
  assert.equal(shard.docCount, docs.length);
  assert.deepEqual([...shardDocument(shard, 0)], tok.encode(docs[0]!.text));
  const mixed = JSON.parse(readFileSync(join(config.output, manifest.materialized), 'utf8'));
  assert.equal(mixed.tokens, 50_000);
});
