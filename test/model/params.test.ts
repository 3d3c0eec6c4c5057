// Parameter sets: one arena in paramSpecs order, the documented initialisation, determinism.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { PRESETS, makeConfig, numel, paramSpecs, parameterCount } from '../../src/model/config.js';
import { copyParams, createGrads, createParams, initParams, paramBytes } from '../../src/model/params.js';

const config = makeConfig({ dim: 64, nLayers: 4, nHeads: 4, nKvHeads: 2, vocabSize: 100, hiddenDim: 96, maxSeqLen: 16 });

test('one arena holds every tensor in paramSpecs order, sized by paramBytes', () => {
  const p = createParams(createReferenceBackend(), config);
  assert.deepEqual([...p.tensors.keys()], paramSpecs(config).map((s) => s.name));
  assert.deepEqual(p.arena.views.map((v) => v.name), paramSpecs(config).map((s) => s.name));
  assert.equal(p.arena.bytes, paramBytes(config));
  let total = 0;
  for (const [name, t] of p.tensors) {
    assert.equal(t.length, numel(paramSpecs(config).find((s) => s.name === name)!.shape));
    total += t.length;
  }
  assert.equal(total, parameterCount(config));
  assert.equal(p.layers.length, 4);
  assert.equal(p.layers[2].wk, p.get('layers.2.attention.wk.weight'));
  // 7B in float32: 6.74e9 parameters -> ~27 GB; the estimate is available without allocating
  assert.ok(Math.abs(paramBytes(PRESETS['7B']) / 4 - 6.738e9) / 6.738e9 < 0.001);
});

test('initParams: N(0, 0.02) matrices, wo/w2 scaled by 1/sqrt(2 nLayers), norms = 1, deterministic', () => {
  const be = createReferenceBackend();
  const a = createParams(be, config), b = createParams(be, config), c = createParams(be, config);
  initParams(a, 7); initParams(b, 7); initParams(c, 8);
  assert.deepEqual(a.get('layers.3.feed_forward.w1.weight'), b.get('layers.3.feed_forward.w1.weight'));
  assert.notDeepEqual(a.get('output.weight'), c.get('output.weight'));
  const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;
  assert.ok(Math.abs(std(a.tokEmbeddings) - 0.02) < 0.001);
  assert.ok(Math.abs(mean(a.tokEmbeddings)) < 0.001);
  assert.ok(Math.abs(std(a.layers[0].w1) - 0.02) < 0.001);
  const scaled = 0.02 / Math.sqrt(2 * config.nLayers);
  assert.ok(Math.abs(std(a.layers[1].w2) - scaled) < 0.1 * scaled);
  assert.ok(Math.abs(std(a.layers[1].wo) - scaled) < 0.1 * scaled);
  assert.ok(a.layers[0].ffnNorm.every((x) => x === 1) && a.norm.every((x) => x === 1));
  const plain = createParams(be, config);
  initParams(plain, 7, { scaledResidualInit: false });
  assert.ok(Math.abs(std(plain.layers[1].w2) - 0.02) < 0.002);
  assert.throws(() => initParams(plain, 1, { std: 0 }), /std must be > 0/);
});

test('grads share the layout; copyParams widens float32 weights into a float64 set exactly', () => {
  const g = createGrads(createReferenceBackend(), config);
  assert.equal(g.arena.bytes, paramBytes(config));
  assert.ok(g.get('norm.weight').every((x) => x === 0));
  const p32 = createParams(createReferenceBackend(), config);
  initParams(p32, 1);
  const p64 = createParams(createReferenceBackend({ precision: 'f64' }), config);
  copyParams(p64, p32);
  assert.ok((p64.output as unknown) instanceof Float64Array);
  assert.deepEqual(Array.from(p64.output), Array.from(p32.output));
  const other = createParams(createReferenceBackend(), makeConfig({ dim: 32, nLayers: 4, nHeads: 4, vocabSize: 100 }));
  assert.throws(() => copyParams(other, p32), /copyParams: tensor 'tok_embeddings.weight' is missing or of another size/);
});
