// The whole model's hand-written backward against central finite differences of its forward in
// float64, for every activation-checkpointing mode; the modes' gradients are bitwise identical in
// float32; the activation arena is exactly the reported size; bad batches are refused clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { PRESETS, makeConfig } from '../../src/model/config.js';
import { createGrads, createParams, initParams, zeroParams, type ParamSet } from '../../src/model/params.js';
import { activationBytes, activationReport, activationSpecs, backward, createActivations, forward, type CheckpointMode } from '../../src/model/transformer.js';
import { Rng } from '../../src/util/rng.js';
import { checkGrad } from '../kernels/reference-helpers.js';

const MODES: CheckpointMode[] = ['none', 'selective', 'full'];
// dim 16, 2 layers, 4 heads sharing 2 kv heads, odd vocab and hidden sizes
const config = makeConfig({ dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 37, hiddenDim: 27, maxSeqLen: 8, normEps: 1e-5 });
const B = 2, T = 5;
const rng = new Rng(99);
const tokens = Int32Array.from({ length: B * T }, () => rng.intBelow(config.vocabSize));
const targets = Int32Array.from({ length: B * T }, (_, i) => (i === 3 ? -1 : rng.intBelow(config.vocabSize)));

/** Weights with more spread than the training init (and non-unit norms) so every path matters. */
function randomize(params: ParamSet, seed: number): void {
  initParams(params, seed, { std: 0.3, scaledResidualInit: false });
  const r = new Rng(seed + 1);
  for (const s of params.specs) {
    if (!s.name.endsWith('norm.weight')) continue;
    const t = params.get(s.name);
    for (let i = 0; i < t.length; i++) t[i] = Math.fround(1 + 0.2 * r.normal());
  }
}

test('full-model gradients = finite differences in float64, every checkpointing mode', () => {
  const be = createReferenceBackend({ precision: 'f64' });
  const params = createParams(be, config);
  randomize(params, 5);
  const lossActs = createActivations(be, config, B, T, 'none');
  const loss = () => forward(params, lossActs, tokens, targets);
  for (const mode of MODES) {
    const grads = createGrads(be, config);
    const acts = createActivations(be, config, B, T, mode);
    forward(params, acts, tokens, targets);
    backward(params, grads, acts, tokens, targets);
    for (const s of params.specs) {
      // every element of the small tensors, a random sample of the larger ones
      checkGrad(`${mode}: ${s.name}`, params.get(s.name), grads.get(s.name), loss, { rng, samples: 40, rtol: 1e-5, atol: 1e-9 });
    }
  }
});

test('float32: none, selective and full give bitwise-identical losses and gradients; backward accumulates', () => {
  const be = createReferenceBackend();
  const params = createParams(be, config);
  randomize(params, 6);
  const results = MODES.map((mode) => {
    const grads = createGrads(be, config);
    const acts = createActivations(be, config, B, T, mode);
    const loss = forward(params, acts, tokens, targets);
    backward(params, grads, acts, tokens, targets);
    return { loss, grads };
  });
  for (let m = 1; m < MODES.length; m++) {
    assert.equal(results[m].loss, results[0].loss);
    for (const s of params.specs) assert.deepEqual(results[m].grads.get(s.name), results[0].grads.get(s.name), `${MODES[m]} ${s.name}`);
  }
  // a second backward on the same forward adds the same gradient again
  const g = createGrads(be, config);
  const acts = createActivations(be, config, B, T, 'selective');
  forward(params, acts, tokens, targets);
  backward(params, g, acts, tokens, targets);
  backward(params, g, acts, tokens, targets);
  const w = g.get('layers.1.feed_forward.w2.weight'), w0 = results[0].grads.get('layers.1.feed_forward.w2.weight');
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - 2 * w0[i]) <= 1e-6 * Math.abs(w0[i]) + 1e-12);
  zeroParams(g);
  assert.ok(g.get('output.weight').every((x) => x === 0));
});

test('loss is the mean over non-ignored targets; an all-ignored batch has loss 0 and no gradient', () => {
  const be = createReferenceBackend();
  const params = createParams(be, config);
  initParams(params, 3);
  const acts = createActivations(be, config, B, T, 'none');
  const loss = forward(params, acts, tokens, targets);
  let sum = 0;
  for (let n = 0; n < B * T; n++) if (targets[n] !== -1) sum += acts.losses[n];
  assert.ok(Math.abs(loss - sum / (B * T - 1)) < 1e-6);
  // a freshly initialised model predicts nearly uniformly: loss ~ ln(vocab)
  assert.ok(Math.abs(loss - Math.log(config.vocabSize)) < 0.05, `initial loss ${loss} vs ln V ${Math.log(config.vocabSize)}`);
  const none = new Int32Array(B * T).fill(-1);
  assert.equal(forward(params, acts, tokens, none), 0);
  const grads = createGrads(be, config);
  backward(params, grads, acts, tokens, none);
  assert.ok(grads.get('output.weight').every((x) => x === 0));
  assert.ok(Number.isNaN(forward(params, acts, tokens, null)), 'no targets: hidden states only');
  assert.ok(acts.finalNorm.some((x) => x !== 0));
});

test('activation memory: the arena is exactly activationBytes, and none > selective > full', () => {
  const be = createReferenceBackend();
  for (const mode of MODES) {
    const acts = createActivations(be, config, B, T, mode);
    assert.equal(acts.arena.bytes, activationBytes(config, B, T, mode));
    const used = acts.arena.views.reduce((s, v) => s + Math.ceil(v.view.byteLength / 64) * 64, 0);
    assert.equal(used, acts.arena.bytes, `${mode}: allocated views fill the reported size exactly`);
  }
  const r = activationReport(PRESETS['15M'], 8, 256);
  assert.ok(r.none.bytes > r.selective.bytes && r.selective.bytes > r.full.bytes, JSON.stringify(r));
  assert.equal(r.full.savedPerLayer, 8 * 256 * 288 * 4, 'full keeps only each layer input');
  // selective drops attn_norm, ffn_norm and swiglu per layer: (2 dim + hidden) floats per token
  assert.equal(r.none.savedPerLayer - r.selective.savedPerLayer, 8 * 256 * (2 * 288 + 768) * 4);
  assert.ok(activationSpecs(config, B, T, 'selective').some((s) => s.name === 'layers.1.q_rope'));
});

test('bad input: context too long, batch of the wrong size, token out of range, mismatched sets', () => {
  const be = createReferenceBackend();
  assert.throws(() => createActivations(be, config, 1, 9), /T = 9 exceeds the model's context maxSeqLen = 8/);
  assert.throws(() => createActivations(be, config, 1, 4, 'some' as CheckpointMode), /mode must be 'none', 'selective' or 'full'/);
  const params = createParams(be, config);
  const acts = createActivations(be, config, B, T);
  assert.throws(() => forward(params, acts, tokens.subarray(1), targets), /forward: 9 tokens given, activations hold B\*T = 2\*5 = 10/);
  const bad = Int32Array.from(tokens); bad[4] = 37;
  assert.throws(() => forward(params, acts, bad, targets), /token id 37 at position 4 is outside the vocabulary \[0, 37\)/);
  const other = createParams(createReferenceBackend(), config);
  assert.throws(() => forward(other, acts, tokens, targets), /different backends/);
  forward(params, acts, tokens, targets);
  const t2 = Int32Array.from(targets); t2[0] = (t2[0] + 1) % 37;
  assert.throws(() => backward(params, createGrads(be, config), acts, tokens, t2), /differ from the last forward's at position 0/);
  assert.throws(() => params.get('layers.7.attention.wq.weight'), /no tensor named 'layers.7.attention.wq.weight'.*did you mean layers.0.attention.wq.weight/);
});
