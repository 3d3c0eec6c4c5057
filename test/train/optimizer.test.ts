import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { AdamW, decays, PAPER_ADAMW, type TrainableTensor } from '../../src/train/optimizer.js';
import { paramSpecs, PRESETS } from '../../src/model/config.js';

test('weight decay applies to linear matrices and the output head, not to norm gains or (by default) embeddings', () => {
  const names = paramSpecs(PRESETS.tiny).map((s) => s.name);
  const decayed = names.filter((n) => decays(n, PAPER_ADAMW));
  const kept = names.filter((n) => !decays(n, PAPER_ADAMW));
  assert.deepEqual(kept.sort(), ['norm.weight', 'tok_embeddings.weight',
    ...[0, 1, 2, 3].flatMap((l) => [`layers.${l}.attention_norm.weight`, `layers.${l}.ffn_norm.weight`])].sort());
  assert.ok(decayed.includes('output.weight') && decayed.includes('layers.3.feed_forward.w2.weight'));
  assert.ok(decays('tok_embeddings.weight', { decayEmbeddings: true }));
});

/** AdamW exactly as Loshchilov & Hutter / torch.optim.AdamW define it, in float64. */
function adamwRef(p: number[], g: number[], m: number[], v: number[], t: number, lr: number, wd: number, b1 = 0.9, b2 = 0.95, eps = 1e-8) {
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - lr * wd;                       // decoupled decay, scaled by the rate
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const mh = m[i] / (1 - b1 ** t), vh = v[i] / (1 - b2 ** t);
    p[i] -= lr * mh / (Math.sqrt(vh) + eps);
  }
}

test('AdamW with clipping and accumulation follows the definition step by step', () => {
  const be = createReferenceBackend();
  const arena = be.createArena(1 << 16);
  const mk = (name: string, shape: number[]): TrainableTensor => ({ name, shape, param: arena.f32(name, shape), grad: arena.f32('d' + name, shape) });
  const tensors = [mk('layers.0.attention.wq.weight', [3, 4]), mk('layers.0.attention_norm.weight', [4])];
  tensors[0].param.set(Array.from({ length: 12 }, (_, i) => 0.1 * (i - 6)));
  tensors[1].param.fill(1);
  const opt = new AdamW(be, tensors, PAPER_ADAMW);
  const ref = tensors.map((t) => ({ p: Array.from(t.param, Number), m: Array.from(t.param, () => 0), v: Array.from(t.param, () => 0) }));
  const lrs = [1e-2, 5e-3, 2e-3];
  for (let step = 0; step < 3; step++) {
    // gradients of two accumulated micro-batches; large in step 1 so that clipping is active
    const scale = step === 1 ? 10 : 0.05;
    const grads = tensors.map((t, k) => Array.from({ length: t.grad.length }, (_, i) => scale * Math.sin(1 + i * 0.7 + k + step * 1.3)));
    tensors.forEach((t, k) => { for (let i = 0; i < t.grad.length; i++) t.grad[i] = Math.fround(grads[k][i] * 0.75) + Math.fround(grads[k][i] * 1.25); });
    const mean = tensors.map((t) => Array.from(t.grad, (x) => x / 2));
    const norm = Math.sqrt(mean.flat().reduce((s, x) => s + x * x, 0));
    const clip = Math.min(1, 1 / (norm + 1e-6));
    const stats = opt.update(lrs[step], 2);
    assert.ok(Math.abs(stats.gradNorm - norm) < 1e-9 * norm);
    assert.ok(Math.abs(stats.clipScale - clip) < 1e-12);
    if (step === 1) assert.ok(stats.clipScale < 0.2, 'clipping is active in step 1');
    ref.forEach((r, k) => adamwRef(r.p, mean[k].map((x) => x * clip), r.m, r.v, step + 1, lrs[step], k === 0 ? 0.1 : 0));
    opt.zeroGrad();
  }
  tensors.forEach((t, k) => {
    for (let i = 0; i < t.param.length; i++) {
      assert.ok(Math.abs(t.param[i] - ref[k].p[i]) <= 2e-6 * Math.max(1e-3, Math.abs(ref[k].p[i])), `${t.name}[${i}]: ${t.param[i]} vs ${ref[k].p[i]}`);
    }
  });
  assert.equal(opt.step, 3);
});

test('zero gradient: matrices shrink by exactly (1 - lr*wd) per step, norm gains do not move', () => {
  const be = createReferenceBackend();
  const arena = be.createArena(1 << 12);
  const w = { name: 'output.weight', shape: [2, 2], param: arena.f32('w', [2, 2]), grad: arena.f32('dw', [2, 2]) };
  const g = { name: 'norm.weight', shape: [2], param: arena.f32('g', [2]), grad: arena.f32('dg', [2]) };
  w.param.set([1, -2, 0.5, 4]);
  g.param.set([1, 1]);
  const opt = new AdamW(be, [w, g], PAPER_ADAMW);
  opt.update(0.01);
  opt.update(0.01);
  const f = (1 - 0.01 * 0.1) ** 2;
  [1, -2, 0.5, 4].forEach((x, i) => assert.ok(Math.abs(w.param[i] - x * f) < 1e-6));
  assert.deepEqual([...g.param], [1, 1]);
});

test('a non-finite gradient changes nothing and is reported', () => {
  const be = createReferenceBackend();
  const arena = be.createArena(1 << 12);
  const w = { name: 'output.weight', shape: [2], param: arena.f32('w', [2]), grad: arena.f32('dw', [2]) };
  w.param.set([1, 2]);
  w.grad.set([NaN, 1]);
  const opt = new AdamW(be, [w], PAPER_ADAMW);
  const s = opt.update(0.1);
  assert.ok(Number.isNaN(s.gradNorm));
  assert.deepEqual([...w.param], [1, 2]);
  assert.equal(opt.step, 0);
});
