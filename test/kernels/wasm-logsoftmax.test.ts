/** logSoftmax (inference's next-token rows) on the wasm backend against the reference twin. */
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { makeBackends, randn, rng, type WasmBackend } from './wasm-helpers.js';

let backends: WasmBackend[];
before(async () => { backends = await makeBackends(); });
after(() => { for (const b of backends) b.dispose(); });

const ref = createReferenceBackend();

it('equals the reference within 2e-6 on odd widths and row counts, in place or not, the same at every thread count', () => {
  const r = rng(11);
  for (const [rows, V] of [[1, 1], [1, 3], [2, 7], [5, 1001], [17, 4099], [3, 32000]] as const) {
    const x = randn(rows * V, r, 8);
    const want = new Float32Array(rows * V);
    ref.logSoftmax(want, x, rows, V);
    let first: Float32Array | null = null;
    for (const b of backends) {
      const a = b.createArena(8 * rows * V + 256);
      const inp = a.f32('inp', [rows, V]);
      const out = a.f32('out', [rows, V]);
      inp.set(x);
      b.logSoftmax(out, inp, rows, V);
      let worst = 0;
      for (let i = 0; i < rows * V; i++) worst = Math.max(worst, Math.abs(out[i]! - want[i]!));
      assert.ok(worst <= 2e-6, `rows ${rows} V ${V}: worst difference ${worst}`);
      if (b.relaxedSimd && b.threads <= 3 && first) assert.deepEqual(out, first, 'thread counts agree bitwise');
      if (b.relaxedSimd && !first) first = Float32Array.from(out);
      b.logSoftmax(inp, inp, rows, V); // aliasing: in place
      assert.deepEqual(inp, out);
    }
  }
});

it('a row of NaN or Inf logits is an error naming the row', () => {
  for (const b of [...backends, ref]) {
    const a = b.createArena(4096);
    const x = a.f32('x', [2, 5]);
    x.set([0, 1, 2, 3, 4, 0, NaN, 1, 2, 3]);
    assert.throws(() => b.logSoftmax(x, x, 2, 5), /logSoftmax: row 1 of \[2, 5\].*non-finite/);
  }
});
