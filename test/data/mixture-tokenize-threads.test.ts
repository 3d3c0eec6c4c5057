/**
 * Mixture tokenization through the tokenizer's worker pool (mixture.tokenizeThreads > 1): the
 * token shard is byte for byte the one that one-by-one encoding writes, empty and long documents
 * included; the config accepts the option and rejects a bad value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SentencePieceTokenizer, closeTokenizerPools, encodeStream } from '../../src/tokenizer/index.js';
import { tokenizeShard } from '../../src/data/mixture/tokenize.js';
import { parseConfig } from '../../src/data/ops/config.js';
import { readTokenShard, shardDocument } from '../../src/data/token-shard.js';
import { runPipeline } from '../../src/data/ops/run.js';
import { makeRunDir } from './run-fixture.js';
import { CollectSink, SHARED, tempDir } from './helpers.js';

test('tokenizeShard on 2 worker threads writes the same token shard as encoding one by one', async (t) => {
  const dir = tempDir(t);
  const tok = SentencePieceTokenizer.load('fixtures/tokenizer/spm-unused.model');
  const texts = gunzipSync(readFileSync('fixtures/tokenizer/small-encode.jsonl.gz')).toString('utf8').trim().split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const docs = ['', ...texts, texts.join(' ').repeat(5), '', ...texts.slice(0, 50)];
  const jsonl = join(dir, 'docs.jsonl');
  writeFileSync(jsonl, docs.map((text, i) => JSON.stringify({ id: `d${i}`, text })).join('\n') + '\n');
  try {
    const sink1 = new CollectSink(), sink2 = new CollectSink();
    const one = await tokenizeShard(jsonl, join(dir, 'one.tok'), tok, sink1);
    const two = await tokenizeShard(jsonl, join(dir, 'two.tok'), tok, sink2, (s) => encodeStream(tok, s, { threads: 2, chunkBytes: 4096 }));
    assert.equal(one.header.docCount, docs.length);
    assert.deepEqual(two, one);
    assert.deepEqual(readFileSync(join(dir, 'two.tok')), readFileSync(join(dir, 'one.tok')));
    const shard = readTokenShard(join(dir, 'two.tok'));
    for (const i of [0, 1, docs.length - 51, docs.length - 1]) assert.deepEqual([...shardDocument(shard, i)], tok.encode(docs[i]));
  } finally {
    await closeTokenizerPools(tok);
  }
});

test('config: mixture.tokenizeThreads is a positive integer', () => {
  const base = { output: 'out', sources: [{ name: 'books', reader: 'books', inputs: ['a.txt'] }] };
  const ok = parseConfig({ ...base, mixture: { tokenizer: 't.model', tokenizeThreads: 2 } }, '/tmp/x/config.json');
  assert.equal(ok.mixture!.tokenizeThreads, 2);
  assert.throws(() => parseConfig({ ...base, mixture: { tokenizer: 't.model', tokenizeThreads: 0 } }, '/tmp/x/config.json'), /tokenizeThreads/);
});

test('pipeline: mixture.tokenizeThreads 2 gives the same token shards as 1', { skip: !existsSync(join(SHARED, 'tokenizer/tokenizer.model')) && 'no ../shared/data' }, async (t) => {
  const shardsOf = async (threads: number) => {
    const dir = tempDir(t);
    const cfgPath = makeRunDir(dir);
    const json = JSON.parse(readFileSync(cfgPath, 'utf8'));
    json.mixture = { tokenizer: join(SHARED, 'tokenizer/tokenizer.model'), seed: 3, tokenizeThreads: threads };
    const config = parseConfig(json, cfgPath);
    const r = await runPipeline(config, { log: () => {} });
    const manifest = JSON.parse(readFileSync(r.mixture!, 'utf8')) as { sources: { name: string; shards: string[] }[] };
    return manifest.sources.map((s) => [s.name, s.shards.map((p) => readFileSync(join(config.output, p)))]);
  };
  const one = await shardsOf(1);
  assert.ok(one.length >= 2);
  assert.deepEqual(await shardsOf(2), one);
});
