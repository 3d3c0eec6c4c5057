// Cross-entropy fused with the output projection: wasm vs reference over vocabularies smaller
// than, equal to and spanning several 1024-column chunks (with a ragged last chunk), rows beyond
// one 2048-row scratch block, ignored targets (-1), and identical results across thread counts.
import { after, before, describe, test } from 'node:test';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { assertClose, assertIdentical, makeBackends, sameBuild, randn, rng, Staging, type WasmBackend } from './wasm-helpers.js';

const ref = createReferenceBackend();
let backends: WasmBackend[] = [];
before(async () => { backends = await makeBackends(); });
after(() => { for (const b of backends) b.dispose(); });

describe('crossEntropyForward/Backward', () => {
  for (const [N, C, V] of [[1, 4, 1], [7, 20, 300], [3, 45, 256], [300, 24, 513], [5, 33, 1000], [9, 17, 1024], [37, 13, 2599], [2101, 6, 1031]] as const) {
    test(`N=${N} C=${C} V=${V}`, () => {
      const r = rng(N * 13 + C + V);
      const x = randn(N * C, r, 2), w = randn(V * C, r, 0.5);
      const targets = new Int32Array(N).map((_, i) => (i % 5 === 3 ? -1 : Math.floor(r() * V)));
      const dlosses = new Float32Array(N).fill(1 / N);
      const dx0 = randn(N * C, r), dw0 = randn(V * C, r);
      const losses = new Float32Array(N), lse = new Float32Array(N);
      ref.crossEntropyForward(losses, lse, x, w, targets, N, C, V);
      const dx = dx0.slice(), dw = dw0.slice();
      ref.crossEntropyBackward(dx, dw, dlosses, x, w, targets, lse, N, C, V);
      const all: Float32Array[][] = [];
      for (const be of backends) {
        const s = new Staging(be, 4 * (3 * N * C + 3 * V * C + 5 * N));
        const l = s.f32(N), ls = s.f32(N), xx = s.f32(x), ww = s.f32(w), t = s.i32(targets), dl = s.f32(dlosses);
        const dxx = s.f32(dx0), dww = s.f32(dw0);
        be.crossEntropyForward(l, ls, xx, ww, t, N, C, V);
        assertClose(l, losses, 1e-5, 1e-5, `${be.name} losses`);
        assertClose(ls, lse, 1e-5, 1e-5, `${be.name} lse`);
        for (let i = 0; i < N; i++) if (targets[i] < 0 && l[i] !== 0) throw new Error(`loss of ignored row ${i} is ${l[i]}`);
        be.crossEntropyBackward(dxx, dww, dl, xx, ww, t, ls, N, C, V);
        assertClose(dxx, dx, 1e-6, 1e-5, `${be.name} dx`);
        assertClose(dww, dw, 1e-6, 1e-5, `${be.name} dweight`);
        all.push([l, ls, dxx, dww].map((a) => a.slice()));
      }
      for (let t = 1; t < all.length; t++) if (sameBuild(backends, t)) all[t].forEach((a, i) => assertIdentical(a, all[0][i], `threads ${backends[t].threads} vs 1, output ${i}`));
    });
  }
});

// The full N×V logits would take 4096 × 32000 × 4 = 524 MB; the chunked kernel's scratch is a
// 2048-row × ~1K-column block. Checks the memory growth, and sampled rows (both row blocks) against
// a float64 computation of those rows' logits.
test('N=4096, V=32000: memory grows by far less than N×V floats; sampled rows match float64', async () => {
  const be = await createWasmBackend({ threads: 2 });
  try {
    const N = 4096, C = 8, V = 32000;
    const r = rng(99);
    const s = new Staging(be, 4 * (2 * N * C + 2 * V * C + 4 * N));
    const x = s.f32(randn(N * C, r, 2)), w = s.f32(randn(V * C, r, 0.5));
    const t = s.i32(new Int32Array(N).map(() => Math.floor(r() * V)));
    const l = s.f32(N), ls = s.f32(N), dl = s.f32(new Float32Array(N).fill(1 / N)), dx = s.f32(N * C), dw = s.f32(V * C);
    const before = be.memoryBytes;
    be.crossEntropyForward(l, ls, x, w, t, N, C, V);
    be.crossEntropyBackward(dx, dw, dl, x, w, t, ls, N, C, V);
    const grown = be.memoryBytes - before;
    if (grown > (N * V * 4) / 32) throw new Error(`memory grew by ${grown} bytes (N×V logits are ${N * V * 4})`);
    for (const n of [0, 1234, 2047, 2048, 4095]) {
      let m = -Infinity;
      const logit = new Float64Array(V);
      for (let v = 0; v < V; v++) {
        let d = 0;
        for (let c = 0; c < C; c++) d += x[n * C + c] * w[v * C + c];
        logit[v] = d; m = Math.max(m, d);
      }
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logit[v] - m);
      const lse = m + Math.log(sum);
      assertClose(ls.subarray(n, n + 1), Float32Array.of(lse), 1e-5, 1e-5, `lse row ${n}`);
      assertClose(l.subarray(n, n + 1), Float32Array.of(lse - logit[t[n]]), 1e-4, 1e-5, `loss row ${n}`);
      // dx_n = dloss · (Σ_v softmax_v w_v - w_target)
      const g = new Float64Array(C);
      for (let v = 0; v < V; v++) { const p = Math.exp(logit[v] - lse); for (let c = 0; c < C; c++) g[c] += p * w[v * C + c]; }
      for (let c = 0; c < C; c++) g[c] = (g[c] - w[t[n] * C + c]) / N;
      assertClose(dx.subarray(n * C, n * C + C), Float32Array.from(g), 1e-7, 1e-4, `dx row ${n}`);
    }
  } finally {
    be.dispose();
  }
});
