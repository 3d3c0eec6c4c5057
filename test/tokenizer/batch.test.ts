/**
 * Batch and streaming encoding on the persistent worker pool: ids equal SentencePiece's (the
 * committed fixtures) and tok.encode's, in input order, for empty, tiny, many and very long
 * texts; pools are reused, closed on request, never keep the process alive; errors name the text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  BatchEncodeError, SentencePieceTokenizer, TokenizerWorkerPool, closeTokenizerPools, encodeStream, tokenizerPool,
} from '../../src/tokenizer/index.js';
import { fixtureDir, haveMeta, metaModelPath, readJsonlGz } from './fixtures.js';

interface Row { model?: string; text: string; ids: number[] }

async function collect(it: AsyncIterable<Int32Array>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const ids of it) out.push(Array.from(ids));
  return out;
}

test('Meta tokenizer: encodeBatch on 2 workers equals SentencePiece on every fixture text, in order, pool reused', { skip: !haveMeta && 'no ../shared/data' }, async () => {
  const tok = SentencePieceTokenizer.load(metaModelPath);
  try {
    const rows = readJsonlGz<Row>('meta-encode.jsonl.gz');
    const texts = rows.map((r) => r.text);
    assert.deepEqual(await tok.encodeBatch(texts, { threads: 2 }), rows.map((r) => r.ids));
    const pool = tokenizerPool(tok, 2);
    // Reversed, with BOS and EOS: same pool (warm word caches), same answers.
    const rev = [...rows].reverse();
    assert.deepEqual(await tok.encodeBatch(rev.map((r) => r.text), { threads: 2, bos: true, eos: true }), rev.map((r) => [1, ...r.ids, 2]));
    assert.equal(tokenizerPool(tok, 2), pool, 'the pool is made once per tokenizer and thread count');
    // Streaming, small chunks: the same ids, in order.
    const streamed = await collect(encodeStream(tok, texts, { threads: 2, chunkBytes: 2000 }));
    assert.deepEqual(streamed, rows.map((r) => r.ids));
  } finally {
    await closeTokenizerPools(tok);
  }
});

test('committed spm models: encodeBatch (2 and 3 workers) and encodeStream equal the fixtures and tok.encode, incl. empty, tiny and very long texts', async () => {
  const byModel = new Map<string, Row[]>();
  for (const r of readJsonlGz<Row>('small-encode.jsonl.gz')) {
    if (!byModel.has(r.model!)) byModel.set(r.model!, []);
    byModel.get(r.model!)!.push(r);
  }
  assert.equal(byModel.size, 5);
  for (const [model, rows] of byModel) {
    const tok = SentencePieceTokenizer.load(`${fixtureDir}${model}.model`);
    try {
      const texts = rows.map((r) => r.text);
      assert.deepEqual(await tok.encodeBatch(texts, { threads: 2 }), rows.map((r) => r.ids), model);
      // Very long texts (all fixture texts joined, ~0.1-1 MB) among empty strings, and 20000 tiny
      // texts: chunks split by bytes and by count, results in order.
      const long = texts.join(' ');
      const longer = texts.join('\n').repeat(8);
      const tiny = Array.from({ length: 20000 }, (_, i) => (i % 3 === 0 ? '' : texts[i % texts.length].slice(0, 3)));
      const mixed = ['', long, '', ...tiny, longer, ''];
      const expected = mixed.map((t) => tok.encode(t));
      assert.deepEqual(await tok.encodeBatch(mixed, { threads: 3 }), expected, `${model}: mixed batch`);
      async function* slowly() { for (const t of mixed) { yield t; if (t.length > 1000) await new Promise((r) => setTimeout(r, 1)); } }
      assert.deepEqual(await collect(encodeStream(tok, slowly(), { threads: 2 })), expected, `${model}: stream`);
      assert.deepEqual(await collect(encodeStream(tok, mixed.slice(0, 50), { threads: 1, bos: true })), mixed.slice(0, 50).map((t) => tok.encode(t, { bos: true })));
      assert.deepEqual(await tok.encodeBatch([], { threads: 2 }), []);
      assert.deepEqual(await tok.encodeBatch([''], { threads: 2 }), [[]]);
    } finally {
      await closeTokenizerPools(tok);
    }
  }
});

test('encodeStream keeps at most maxInFlight chunks between the source and the consumer', async () => {
  const tok = SentencePieceTokenizer.load(`${fixtureDir}spm-unused.model`);
  try {
    let pulled = 0;
    function* source() { for (let i = 0; i < 400; i++) { pulled++; yield `line ${i} of the stream`; } }
    let got = 0, maxAhead = 0;
    // chunkBytes 1: every line is its own chunk, so lines ahead = chunks in flight (+ the one being read).
    for await (const ids of encodeStream(tok, source(), { threads: 2, chunkBytes: 1, maxInFlight: 3 })) {
      assert.deepEqual(Array.from(ids), tok.encode(`line ${got} of the stream`));
      got++;
      maxAhead = Math.max(maxAhead, pulled - got);
    }
    assert.equal(got, 400);
    assert.ok(maxAhead <= 3, `source ran ${maxAhead} lines ahead of the consumer`);
  } finally {
    await closeTokenizerPools(tok);
  }
});

test('errors: a non-string names its index; a worker failure names the text; a bad model fails every chunk; close() rejects what is pending', async () => {
  const tok = SentencePieceTokenizer.load(`${fixtureDir}spm-unused.model`);
  const noBos = new SentencePieceTokenizer({ ...tok.model, trainerSpec: { ...tok.model.trainerSpec, bosPiece: 'not-a-piece' } }, 'no-bos.model');
  try {
    const bad = ['a', 'b', 'c', 'd', 'e', 42 as unknown as string, 'g'];
    await assert.rejects(tok.encodeBatch(bad, { threads: 2 }), /text 5 is number, not a string/);
    await assert.rejects(collect(encodeStream(tok, bad, { threads: 2 })), /text 5 is number/);
    await assert.rejects(tok.encodeBatch(['x'], { threads: 0 }), /threads must be a number >= 1/);

    // The encode fails inside the worker (the model has no BOS piece): BatchEncodeError with the index.
    const e = await noBos.encodeBatch(['first', 'second'], { threads: 2, bos: true }).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof BatchEncodeError, String(e));
    assert.equal(e.index, 0);
    assert.match(e.message, /text 0: no-bos.model: the model has no BOS piece/);
    // The pool survives an encode error.
    assert.deepEqual(await noBos.encodeBatch(['first', 'second'], { threads: 2 }), [noBos.encode('first'), noBos.encode('second')]);

    const broken = new TokenizerWorkerPool(new Uint8Array([1, 2, 3, 4]), 'garbage.model', 1);
    try {
      await assert.rejects(broken.ready(), /cannot load garbage.model in a tokenizer worker: garbage.model is not a valid SentencePiece model/);
      await assert.rejects(broken.encodeChunk(['a', 'b'], 7), (x: unknown) => x instanceof BatchEncodeError && x.index === 7 && /cannot load garbage.model in a tokenizer worker/.test(x.message));
    } finally {
      await broken.close();
    }

    const big = Array.from({ length: 3000 }, (_, i) => `sentence number ${i} `.repeat(20));
    const pending = assert.rejects(tok.encodeBatch(big, { threads: 2 }), /closed before the chunk was encoded/);
    await closeTokenizerPools(tok);
    await pending;
    // A new pool is made on the next call.
    assert.deepEqual(await tok.encodeBatch(big.slice(0, 3), { threads: 2 }), big.slice(0, 3).map((t) => tok.encode(t)));
  } finally {
    await closeTokenizerPools(tok);
    await closeTokenizerPools(noBos);
  }
});

test('a worker that dies fails the chunks it held (with their first index) and is replaced for the next chunk', async () => {
  const tok = SentencePieceTokenizer.load(`${fixtureDir}spm-unused.model`);
  const pool = new TokenizerWorkerPool(tok.toBytes(), 'spm-unused.model', 1);
  try {
    await pool.ready();
    const texts = Array.from({ length: 2000 }, (_, i) => `text number ${i} `.repeat(50));
    const lost = pool.encodeChunk(texts, 100);
    // Simulate a crash (out of memory, killed): reach into the pool for its only worker.
    const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } | null }[] }).slots;
    await slots[0].worker!.terminate();
    await assert.rejects(lost, (e: unknown) => e instanceof BatchEncodeError && e.index === 100 && /exited with code 1 while encoding texts 100\.\.2099/.test(e.message));
    const again = await pool.encodeChunk(['hello', ''], 0);
    assert.deepEqual([...again.offsets], [0, tok.encode('hello').length, tok.encode('hello').length]);
    assert.deepEqual([...again.ids], tok.encode('hello'));
  } finally {
    await pool.close();
  }
});

test('an unclosed pool does not keep the process alive', () => {
  const index = fileURLToPath(new URL('../../src/tokenizer/index.js', import.meta.url));
  const script = `import { SentencePieceTokenizer, tokenizerPool } from ${JSON.stringify(index)};
    const tok = SentencePieceTokenizer.load(${JSON.stringify(`${fixtureDir}spm-unused.model`)});
    await tokenizerPool(tok, 2).ready();
    const ids = await tok.encodeBatch(['hello world', 'second text', ''], { threads: 2 });
    const later = await new Promise((r) => setTimeout(() => r(tok.encodeBatch(['again'], { threads: 2 })), 50));
    await tokenizerPool(tok, 2).ready(); // already started: must not ref the workers again
    console.log(JSON.stringify([ids, later]));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, 'the child did not exit by itself');
  assert.equal(r.status, 0, r.stderr);
  const tok = SentencePieceTokenizer.load(`${fixtureDir}spm-unused.model`);
  assert.deepEqual(JSON.parse(r.stdout), [['hello world', 'second text', ''].map((t) => tok.encode(t)), [tok.encode('again')]]);
});
