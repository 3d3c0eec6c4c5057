// The whole model's loss and gradients against PyTorch autograd on Meta's architecture
// (fixtures/model/, made by scripts/fixtures/model-torch.py): float32 within 1e-5 (loss, relative)
// and 1e-4 (grads, relative to each tensor's largest gradient); float64 to ~1e-10. Also one AdamW
// step of the reference kernel against torch.optim.AdamW from the same gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { type LlamaConfig, makeConfig, paramSpecs } from '../../src/model/config.js';
import { createGrads, createParams, type ParamSet } from '../../src/model/params.js';
import { backward, createActivations, forward } from '../../src/model/transformer.js';

const dir = new URL('../../../fixtures/model/', import.meta.url);
interface Fixture {
  config: LlamaConfig; B: number; T: number; tokens: number[]; targets: number[];
  loss_f32: number; loss_f64: number; numFloatsPerSection: number;
  adamw: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number };
  tensors: { name: string; shape: number[]; offset: number }[];
}
const meta = JSON.parse(readFileSync(new URL('tiny-torch.json', dir), 'utf8')) as Fixture;
const bin = readFileSync(new URL('tiny-torch.bin', dir));
const f32 = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
const bin64 = readFileSync(new URL('tiny-torch-grads-f64.bin', dir));
const grads64 = new Float64Array(bin64.buffer.slice(bin64.byteOffset, bin64.byteOffset + bin64.byteLength));
const P = meta.numFloatsPerSection;
const section = (k: number, t: { offset: number; shape: number[] }) =>
  f32.subarray(k * P + t.offset, k * P + t.offset + t.shape.reduce((a, b) => a * b, 1));

const config = makeConfig(meta.config);
const tokens = Int32Array.from(meta.tokens);
const targets = Int32Array.from(meta.targets);

function load(params: ParamSet): void {
  assert.deepEqual(params.specs.map((s) => s.name), meta.tensors.map((t) => t.name), 'fixture tensor order = paramSpecs order');
  for (const t of meta.tensors) params.get(t.name).set(section(0, t));
}

/** max |ours - ref| over the tensor, relative to max |ref| (the tensor's gradient scale). */
function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0, s = 0;
  for (let i = 0; i < ref.length; i++) { d = Math.max(d, Math.abs(ours[i] - ref[i])); s = Math.max(s, Math.abs(ref[i])); }
  return d / Math.max(s, 1e-12);
}

test('fixture matches our config and parameter layout', () => {
  assert.equal(paramSpecs(config).length, meta.tensors.length);
  assert.ok(targets.includes(-1), 'the batch has an ignored target');
  assert.ok(config.nKvHeads < config.nHeads, 'grouped-query attention is exercised');
});

for (const mode of ['none', 'selective', 'full'] as const) {
  test(`float32 loss and gradients = PyTorch (mode ${mode})`, () => {
    const be = createReferenceBackend();
    const params = createParams(be, config), grads = createGrads(be, config);
    load(params);
    const acts = createActivations(be, config, meta.B, meta.T, mode);
    const loss = forward(params, acts, tokens, targets);
    assert.ok(Math.abs(loss - meta.loss_f32) <= 1e-5 * Math.abs(meta.loss_f32), `loss ${loss} vs torch ${meta.loss_f32}`);
    backward(params, grads, acts, tokens, targets);
    for (const t of meta.tensors) {
      const e = relErr(grads.get(t.name), section(1, t));
      assert.ok(e <= 1e-4, `${t.name}: relative gradient error ${e.toExponential(2)} > 1e-4`);
    }
  });
}

test('float64 loss and gradients = PyTorch float64 (the reference path used by gradient checks)', () => {
  const be = createReferenceBackend({ precision: 'f64' });
  const params = createParams(be, config), grads = createGrads(be, config);
  load(params);
  const acts = createActivations(be, config, meta.B, meta.T, 'selective');
  const loss = forward(params, acts, tokens, targets);
  // The RoPE tables are float32 on both sides (Meta computes them in float32), so agreement is
  // limited only by float64 rounding.
  assert.ok(Math.abs(loss - meta.loss_f64) <= 1e-10 * Math.abs(meta.loss_f64), `loss ${loss} vs torch ${meta.loss_f64}`);
  backward(params, grads, acts, tokens, targets);
  for (const t of meta.tensors) {
    const e = relErr(grads.get(t.name), grads64.subarray(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1)));
    assert.ok(e <= 1e-9, `${t.name}: relative gradient error ${e.toExponential(2)} > 1e-9`);
  }
});

test('one reference AdamW step = torch.optim.AdamW from the same gradients', () => {
  const be = createReferenceBackend();
  const { lr, beta1, beta2, eps, weightDecay, step } = meta.adamw;
  for (const t of meta.tensors) {
    const p = Float32Array.from(section(0, t)), g = Float32Array.from(section(1, t));
    const m = new Float32Array(p.length), v = new Float32Array(p.length);
    be.adamw(p, g, m, v, p.length, { lr, beta1, beta2, eps, weightDecay, step, gradScale: 1 });
    const want = section(2, t);
    for (let i = 0; i < p.length; i++) {
      assert.ok(Math.abs(p[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])), `${t.name}[${i}]: ${p[i]} vs torch ${want[i]}`);
    }
  }
});
