import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { PRESETS, makeConfig } from '../../src/model/config.js';
import { writeTokenShard } from '../../src/data/token-shard.js';
import { MixtureLoader } from '../../src/train/mixture.js';
import { PAPER_ADAMW } from '../../src/train/optimizer.js';
import { RunDir } from '../../src/train/run-dir.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { Trainer, TrainingDiverged, type TrainSettings } from '../../src/train/trainer.js';
import { checkFits, trainFlopsPerToken, trainingMemory } from '../../src/train/flops.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-trainer-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const config = makeConfig({ dim: 32, nLayers: 1, nHeads: 2, hiddenDim: 64, vocabSize: 64, maxSeqLen: 16 });
const shard = join(dir, 'd.shard');
writeTokenShard(shard, Array.from({ length: 30 }, (_, d) => Array.from({ length: 20 }, (_, i) => (d * 7 + i * 3) % 61 + 3)), 64);

const settings = (over: Partial<TrainSettings> = {}): TrainSettings => ({
  kind: 'pretrain', model: config, modelName: 'test', batch: 2, seqLen: 16, accumSteps: 2,
  schedule: { peakLr: 1e-2, warmupSteps: 1, totalSteps: 6, minLrRatio: 0.1 }, optim: PAPER_ADAMW, seed: 3,
  checkpointEvery: 2, keepCheckpoints: 2, evalEvery: 3, evalBatches: 2, logEvery: 1, recompute: 'none',
  threads: 1, backend: 'reference', peakGflops: 100, data: {}, initFrom: null, tokenizer: null, ...over,
});
const loader = (seed = 1) => new MixtureLoader([{ name: 'd', shards: [shard] }], { seed, seqLen: 16, vocabSize: 64, bosId: 1, eosId: 2 });

test('training lowers the loss; logs, evaluations and checkpoints follow the settings', async () => {
  const run = new RunDir(join(dir, 'ok'));
  run.create();
  const t = new Trainer(createReferenceBackend(), settings(), run, loader(), loader(9));
  t.initFresh();
  const res = await t.train();
  assert.equal(res.stopped, 'done');
  assert.equal(res.stepsDone, 6);
  const recs = readFileSync(run.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const train = recs.filter((r) => r.kind === 'train'), evals = recs.filter((r) => r.kind === 'eval');
  assert.deepEqual(train.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(evals.map((r) => r.step), [0, 3, 6]);
  assert.ok(evals[2].valLoss < evals[0].valLoss, `validation loss ${evals[0].valLoss} -> ${evals[2].valLoss}`);
  assert.equal(train[5].tokens, 6 * 2 * 16 * 2);
  assert.ok(train.every((r) => r.clip > 0 && r.clip <= 1 && r.gradNorm > 0));
  assert.deepEqual(run.checkpoints().map((c) => c.step), [6, 4]); // keep 2
});

test('a non-finite loss stops the run at that step and keeps the last good checkpoint', async () => {
  const run = new RunDir(join(dir, 'nan'));
  run.create();
  const t = new Trainer(createReferenceBackend(), settings({ evalEvery: 0 }), run, loader(), null);
  t.initFresh();
  await t.train(2); // two good steps, checkpoint at step 2
  t.params.get('norm.weight').fill(NaN);
  await assert.rejects(t.train(), (e: Error) => e instanceof TrainingDiverged && e.step === 3 &&
    /diverged at step 3: the loss is NaN/.test(e.message) && /step-00000002\.ckpt/.test(e.message));
  assert.deepEqual(run.checkpoints().map((c) => c.step), [2]);
  const fresh = new Trainer(createReferenceBackend(), settings(), new RunDir(join(dir, 'x')), loader(), null);
  const h = loadCheckpoint(run.checkpointPath(2), config, [{ name: 'params', arrays: fresh.params.specs.map((s) => fresh.params.get(s.name)) }]);
  assert.equal(h.step, 2);
  assert.ok(Number.isFinite(fresh.params.get('norm.weight')[0]), 'the checkpoint holds the weights before the NaN');
  assert.match(readFileSync(run.logPath, 'utf8'), /"kind":"diverged"/);
});

test('a model that does not fit is refused before allocating, with the parts named', () => {
  const run = new RunDir(join(dir, 'big'));
  assert.throws(() => new Trainer(createReferenceBackend(), settings({ model: PRESETS['65B'], seqLen: 16 }), run, loader(), null),
    /does not fit in memory: it needs [\d.]+ GiB \(parameters [\d.]+ GiB \+ gradients .* AdamW moments .* activations .*\) but this machine has/);
  assert.throws(() => checkFits(trainingMemory(PRESETS['7B'], 0), '7B', { machineBytes: 1e12, wasm: true }), /over the 4 GiB a wasm32 memory can hold/);
});

test('FLOPs per token: 6N + 12 L d T (PaLM), N without the embedding', () => {
  const c = PRESETS['7B'];
  const n = 6738415616 - 32000 * 4096; // 7B's parameters minus the token embedding
  assert.equal(trainFlopsPerToken(c, 2048), 6 * n + 12 * 32 * 4096 * 2048);
});

test('resuming a run with another model config names the difference', async () => {
  const run = new RunDir(join(dir, 'cfg'));
  run.create();
  const t = new Trainer(createReferenceBackend(), settings({ evalEvery: 0 }), run, loader(), null);
  t.initFresh();
  await t.train(2);
  const other = makeConfig({ ...config, hiddenDim: 96 });
  const t2 = new Trainer(createReferenceBackend(), settings({ model: other }), run, loader(), null);
  assert.throws(() => t2.resumeLatest(), /made for another model config: hiddenDim 64 \(checkpoint\) vs 96 \(run\)/);
});

test('a damaged newest checkpoint is skipped on resume, and the run continues from the one before', async () => {
  const run = new RunDir(join(dir, 'damaged'));
  run.create();
  const t = new Trainer(createReferenceBackend(), settings({ evalEvery: 0 }), run, loader(), null);
  t.initFresh();
  await t.train(4);
  const losses = readFileSync(run.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  const p4 = run.checkpointPath(4);
  const bytes = readFileSync(p4);
  bytes[bytes.length - 100] ^= 0xff;
  writeFileSync(p4, bytes);
  const warnings: string[] = [];
  const t2 = new Trainer(createReferenceBackend(), settings({ evalEvery: 0 }), run, loader(), null);
  assert.equal(t2.resumeLatest((m) => warnings.push(m)), 2);
  assert.match(warnings.join('\n'), /skipping checkpoint .*step-00000004\.ckpt: .*checksum mismatch/);
  await t2.train(4);
  const again = readFileSync(run.logPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
  assert.deepEqual(again, losses, 'steps 3-4 recomputed from the step-2 checkpoint give the same losses');
});
