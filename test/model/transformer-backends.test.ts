// The same model code on the WebAssembly backend gives the reference backend's loss and gradients
// (the kernels are held to their twins in test/kernels; this checks the model's use of them:
// shared heaps, aliasing, accumulation, checkpoint recompute).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import type { Backend } from '../../src/kernels/backend.js';
import { makeConfig } from '../../src/model/config.js';
import { createGrads, createParams, initParams } from '../../src/model/params.js';
import { backward, createActivations, forward, type CheckpointMode } from '../../src/model/transformer.js';

const config = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 101, hiddenDim: 96, maxSeqLen: 32 });
const B = 2, T = 17;
const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 101);
const targets = Int32Array.from({ length: B * T }, (_, i) => (i === 5 ? -1 : (i * 5 + 1) % 101));

function run(be: Backend, mode: CheckpointMode) {
  const p = createParams(be, config);
  initParams(p, 3, { std: 0.1 });
  const g = createGrads(be, config);
  const a = createActivations(be, config, B, T, mode);
  const loss = forward(p, a, tokens, targets);
  backward(p, g, a, tokens, targets);
  return { loss, g };
}

test('wasm backend: loss within 1e-5 and gradients within 1e-4 of the reference, every mode', async () => {
  const wasm = await createWasmBackend({ threads: 2 });
  try {
    const ref = run(createReferenceBackend(), 'none');
    for (const mode of ['none', 'selective', 'full'] as CheckpointMode[]) {
      const w = run(wasm, mode);
      assert.ok(Math.abs(w.loss - ref.loss) <= 1e-5 * ref.loss, `${mode}: loss ${w.loss} vs ${ref.loss}`);
      for (const [name, t] of ref.g.tensors) {
        const o = w.g.get(name);
        let d = 0, s = 0;
        for (let i = 0; i < t.length; i++) { d = Math.max(d, Math.abs(t[i] - o[i])); s = Math.max(s, Math.abs(t[i])); }
        assert.ok(d <= 1e-4 * s, `${mode} ${name}: max diff ${d} vs scale ${s}`);
      }
    }
  } finally {
    wasm.dispose();
  }
});
