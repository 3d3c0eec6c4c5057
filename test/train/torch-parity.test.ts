/**
 * Our trainer against PyTorch (fixtures/train/torch-adamw, made by scripts/fixtures/train-torch.py):
 * the same initial weights and batches, 20 AdamW steps with the warmup + cosine schedule, clipping
 * at 1.0 and decay on matrices only. Each step's loss within 1e-4 relative, and the final weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig } from '../../src/model/config.js';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import type { Backend } from '../../src/kernels/backend.js';
import { RunDir } from '../../src/train/run-dir.js';
import { Trainer, type TrainSettings } from '../../src/train/trainer.js';
import type { BatchSource } from '../../src/train/batch-source.js';

const FIX = 'fixtures/train/torch-adamw';
interface Expected {
  config: { dim: number; nLayers: number; nHeads: number; nKvHeads: number; vocabSize: number; hiddenDim: number; normEps: number; ropeTheta: number; maxSeqLen: number };
  B: number; T: number; steps: number;
  optim: { peakLr: number; warmupSteps: number; totalSteps: number; minLrRatio: number; beta1: number; beta2: number; eps: number; weightDecay: number; clipNorm: number };
  tensors: { name: string; shape: number[] }[];
  float32: { step: number; lr: number; loss: number; gradNorm: number; clipScale: number }[];
}
const exp = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Expected;
const f32 = (p: string) => { const b = readFileSync(join(FIX, p)); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const batches = (() => { const b = readFileSync(join(FIX, 'batches.bin')); return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); })();

/** The fixture's batches in order: row r of step s is batches[s, r, :]. */
class FixtureBatches implements BatchSource {
  step = 0;
  readonly seqLen = exp.T;
  nextBatch(B: number, tokens: Int32Array, targets: Int32Array): void {
    const T = exp.T;
    for (let b = 0; b < B; b++) {
      const row = batches.subarray((this.step * B + b) * (T + 1), (this.step * B + b + 1) * (T + 1));
      tokens.set(row.subarray(0, T), b * T);
      targets.set(row.subarray(1), b * T);
    }
    this.step++;
  }
  get position(): unknown { return this.step; }
  set position(p: unknown) { this.step = p as number; }
  describe() { return {}; }
}

async function runOurs(backend: Backend) {
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-parity-'));
  try {
    const config = makeConfig(exp.config);
    const o = exp.optim;
    const s: TrainSettings = {
      kind: 'pretrain', model: config, modelName: 'torch-fixture', batch: exp.B, seqLen: exp.T, accumSteps: 1,
      schedule: { peakLr: o.peakLr, warmupSteps: o.warmupSteps, totalSteps: o.totalSteps, minLrRatio: o.minLrRatio },
      optim: { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, clipNorm: o.clipNorm, decayEmbeddings: false },
      seed: 0, checkpointEvery: 0, keepCheckpoints: 1, evalEvery: 0, evalBatches: 1, logEvery: 1, recompute: 'selective',
      threads: backend.threads, backend: 'reference', peakGflops: 100, data: {}, initFrom: 'fixture', tokenizer: null,
    };
    const run = new RunDir(dir);
    run.create();
    const trainer = new Trainer(backend, s, run, new FixtureBatches(), null);
    const init = f32('init.bin');
    let off = 0;
    for (const t of exp.tensors) {
      const a = trainer.params.get(t.name);
      a.set(init.subarray(off, off + a.length));
      off += a.length;
    }
    assert.equal(off, init.length);
    const steps: { loss: number; gradNorm: number; lr: number; clip: number }[] = [];
    await trainer.train();
    for (const line of readFileSync(run.logPath, 'utf8').trim().split('\n')) {
      const r = JSON.parse(line);
      if (r.kind === 'train') steps.push(r);
    }
    const final = new Float32Array(init.length);
    off = 0;
    for (const t of exp.tensors) { const a = trainer.params.get(t.name); final.set(a, off); off += a.length; }
    return { steps, final };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compare(name: string, ours: Awaited<ReturnType<typeof runOurs>>) {
  assert.equal(ours.steps.length, exp.steps);
  let worstLoss = 0;
  ours.steps.forEach((r, i) => {
    const t = exp.float32[i];
    const rel = Math.abs(r.loss - t.loss) / t.loss;
    worstLoss = Math.max(worstLoss, rel);
    assert.ok(rel <= 1e-4, `${name} step ${i}: loss ${r.loss} vs torch ${t.loss} (rel ${rel.toExponential(2)})`);
    assert.ok(Math.abs(r.lr - t.lr) <= 1e-12 * t.lr, `step ${i}: lr ${r.lr} vs ${t.lr}`);
    assert.ok(Math.abs(r.gradNorm - t.gradNorm) <= 1e-3 * t.gradNorm, `step ${i}: grad norm ${r.gradNorm} vs ${t.gradNorm}`);
  });
  const want = f32('final.bin');
  let off = 0, worstW = 0;
  for (const t of exp.tensors) {
    const n = t.shape.reduce((a, b) => a + b, 1);
    let d2 = 0, w2 = 0;
    for (let i = off; i < off + n; i++) { d2 += (ours.final[i] - want[i]) ** 2; w2 += want[i] ** 2; }
    const rel = Math.sqrt(d2 / w2);
    worstW = Math.max(worstW, rel);
    assert.ok(rel <= 1e-4, `${name}: final ${t.name} differs from torch by ${rel.toExponential(2)} (relative L2)`);
    off += n;
  }
  console.log(`${name}: worst loss rel diff ${worstLoss.toExponential(2)}, worst final-weight rel L2 diff ${worstW.toExponential(2)}`);
}

test('20 AdamW steps match PyTorch: reference backend', async () => {
  compare('reference', await runOurs(createReferenceBackend()));
});

test('20 AdamW steps match PyTorch: wasm backend, 2 threads', async (t) => {
  let backend: Backend;
  try {
    const spec = '../../src/kernels/index.js';
    const mod = await import(spec) as { createBackend: (o: { threads: number }) => Promise<Backend> | Backend };
    backend = await mod.createBackend({ threads: 2 });
  } catch (e) {
    // Only a missing engine module is a skip; an engine that exists but fails to start is a failure.
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    t.skip(`wasm backend not built yet: ${(e as Error).message}`);
    return;
  }
  try { compare('wasm', await runOurs(backend)); } finally { backend.dispose(); }
});
