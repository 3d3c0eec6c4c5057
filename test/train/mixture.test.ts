import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTokenShard } from '../../src/data/token-shard.js';
import { MixtureLoader } from '../../src/train/mixture.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-mix-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// Source A: ids 10..49 in 8 documents of 5; source B: ids 100..109 in 2 documents; vocab 128.
const A1 = join(dir, 'a1.shard'), A2 = join(dir, 'a2.shard'), B1 = join(dir, 'b1.shard');
writeTokenShard(A1, [0, 1, 2, 3].map((d) => [0, 1, 2, 3, 4].map((i) => 10 + d * 5 + i)), 128);
writeTokenShard(A2, [4, 5, 6, 7].map((d) => [0, 1, 2, 3, 4].map((i) => 10 + d * 5 + i)), 128);
writeTokenShard(B1, [[100, 101, 102, 103, 104], [105, 106, 107, 108, 109]], 128);
const opts = { seed: 7, seqLen: 8, vocabSize: 128, bosId: 1, eosId: 2 };

function batches(l: MixtureLoader, n: number, B = 2): number[][] {
  const T = l.seqLen, out: number[][] = [];
  const tok = new Int32Array(B * T), tgt = new Int32Array(B * T);
  for (let i = 0; i < n; i++) {
    l.nextBatch(B, tok, tgt);
    out.push([...tok], [...tgt]);
  }
  return out;
}

test('rows are packed [BOS] doc [EOS] framings, targets shifted by one, every token predicted once', () => {
  const l = new MixtureLoader([{ name: 'a', shards: [A1, A2] }], opts);
  const tok = new Int32Array(8), tgt = new Int32Array(8);
  const stream: number[] = [];
  for (let r = 0; r < 7; r++) { // 7 rows * 8 = 56 = one epoch of 8 docs * 7 framed tokens
    l.nextBatch(1, tok, tgt);
    for (let t = 1; t < 8; t++) assert.equal(tok[t], tgt[t - 1]);
    if (r > 0) assert.equal(tok[0], stream[stream.length - 1]);
    if (r === 0) stream.push(tok[0]);
    stream.push(...tgt);
  }
  // the stream is 8 shuffled documents, each framed, covering every document exactly once
  const docs: number[][] = [];
  for (let i = 0; i < 56; i += 7) {
    assert.equal(stream[i], 1);
    assert.equal(stream[i + 6], 2);
    docs.push(stream.slice(i + 1, i + 6));
  }
  const firsts = docs.map((d) => d[0]).sort((a, b) => a - b);
  assert.deepEqual(firsts, [10, 15, 20, 25, 30, 35, 40, 45]);
  for (const d of docs) assert.deepEqual(d, [0, 1, 2, 3, 4].map((i) => d[0] + i));
  assert.notDeepEqual(docs.map((d) => d[0]), [10, 15, 20, 25, 30, 35, 40, 45], 'documents are shuffled');
  assert.equal(l.report()[0].epochs, 1);
});

test('deterministic given the seed; a different seed gives another order', () => {
  const mk = (seed: number) => new MixtureLoader([{ name: 'a', shards: [A1, A2], weight: 3 }, { name: 'b', shards: [B1], weight: 1 }], { ...opts, seed });
  assert.deepEqual(batches(mk(7), 20), batches(mk(7), 20));
  assert.notDeepEqual(batches(mk(7), 20), batches(mk(8), 20));
});

test('the position restores exactly (as a checkpoint does), through JSON', () => {
  const specs = [{ name: 'a', shards: [A1, A2], weight: 0.5 }, { name: 'b', shards: [B1], weight: 0.5 }];
  const l1 = new MixtureLoader(specs, opts);
  batches(l1, 13, 3);
  const saved = JSON.parse(JSON.stringify(l1.position));
  const expected = batches(l1, 17, 3);
  const l2 = new MixtureLoader(specs, opts);
  l2.position = saved;
  assert.deepEqual(batches(l2, 17, 3), expected);
  assert.throws(() => { l2.position = { row: 0, sources: [saved.sources[0]] }; }, /does not match this mixture of 2 sources/);
  assert.throws(() => { l2.position = { row: 0, sources: [{ ...saved.sources[0], doc: 99 }, saved.sources[1]] }; }, /outside its 8 documents/);
});

test('sampling proportions and epochs follow the weights (Table 1)', () => {
  const specs = [{ name: 'a', shards: [A1, A2], weight: 0.8 }, { name: 'b', shards: [B1], weight: 0.2 }];
  const l = new MixtureLoader(specs, { ...opts, seed: 3 });
  batches(l, 500, 4); // 2000 rows
  const r = l.report();
  const share = r[0].tokensDrawn / (r[0].tokensDrawn + r[1].tokensDrawn);
  assert.ok(Math.abs(share - 0.8) < 0.03, `share of a: ${share}`);
  // epochs = tokens drawn / framed tokens of the source (56 and 14)
  assert.equal(r[0].epochs, r[0].tokensDrawn / 56);
  assert.equal(r[1].epochs, r[1].tokensDrawn / 14);
  const plan = l.plannedEpochs(16000);
  assert.ok(Math.abs(plan[0].epochs - 0.8 * 16000 / 56) < 1e-9);

  // epochs given instead of weights: weight ∝ epochs × size
  const e = new MixtureLoader([{ name: 'a', shards: [A1, A2], epochs: 1 }, { name: 'b', shards: [B1], epochs: 2 }], opts);
  assert.ok(Math.abs(e.weights[0] - 56 / (56 + 28)) < 1e-12);
  assert.throws(() => new MixtureLoader([{ name: 'a', shards: [A1], weight: 1 }, { name: 'b', shards: [B1] }], opts), /give every source a 'weight' or every source 'epochs'/);
});

test('a shard of another vocabulary is refused, naming it', () => {
  const other = join(dir, 'other.shard');
  writeTokenShard(other, [[1, 2, 3]], 32000);
  assert.throws(() => new MixtureLoader([{ name: 'x', shards: [other] }], opts), /other\.shard \(source 'x'\): vocabulary size 32000 differs from the model's 128/);
});
