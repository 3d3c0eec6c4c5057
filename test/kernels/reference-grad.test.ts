// Every reference backward against central finite differences of its forward, in float64, over
// randomized shapes (odd sizes, T = 1, grouped-query attention). The scalar loss is a random
// linear functional of the forward's output, so the analytic gradient is the backward fed with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { ropeTables } from '../../src/kernels/backend.js';
import { Rng } from '../../src/util/rng.js';
import { checkGrad, dotWith, randn64, zeros64 } from './reference-helpers.js';

const be = createReferenceBackend({ precision: 'f64' });

test('matmul backward = finite differences', () => {
  const rng = new Rng(1);
  for (const [N, C, OC] of [[1, 1, 1], [3, 5, 7], [4, 9, 2], [1, 17, 3]]) {
    const inp = randn64(rng, N * C), w = randn64(rng, OC * C), r = randn64(rng, N * OC);
    const out = zeros64(N * OC);
    const loss = () => { be.matmulForward(out, inp, w, N, C, OC); return dotWith(r, out); };
    const dinp = zeros64(N * C), dw = zeros64(OC * C);
    be.matmulBackward(dinp, dw, r, inp, w, N, C, OC);
    checkGrad(`matmul ${N}x${C}x${OC} dinp`, inp, dinp, loss);
    checkGrad(`matmul ${N}x${C}x${OC} dweight`, w, dw, loss);
    // Accumulation: a second backward adds the same amount again; a null dinp is allowed.
    const dw2 = zeros64(OC * C);
    be.matmulBackward(null, dw2, r, inp, w, N, C, OC);
    be.matmulBackward(null, dw2, r, inp, w, N, C, OC);
    for (let i = 0; i < OC * C; i++) assert.ok(Math.abs(dw2[i] - 2 * dw[i]) < 1e-12);
  }
});

test('rmsnorm backward = finite differences', () => {
  const rng = new Rng(2);
  for (const [N, C] of [[1, 1], [3, 7], [2, 16], [5, 3]]) {
    const inp = randn64(rng, N * C), w = randn64(rng, C), r = randn64(rng, N * C);
    const out = zeros64(N * C), rstd = zeros64(N);
    const loss = () => { be.rmsnormForward(out, rstd, inp, w, N, C, 1e-5); return dotWith(r, out); };
    loss();
    const dinp = zeros64(N * C), dw = zeros64(C);
    be.rmsnormBackward(dinp, dw, r, inp, w, rstd, N, C);
    // rsqrt(mean(x^2) + eps) curves sharply when a row is near 0 (C = 1): a smaller step keeps
    // the O(h^2) truncation error below the tolerance.
    checkGrad(`rmsnorm ${N}x${C} dinp`, inp, dinp, loss, { h: 1e-7 });
    checkGrad(`rmsnorm ${N}x${C} dweight`, w, dw, loss, { h: 1e-7 });
  }
});

test('rope backward = finite differences, and rope is a rotation (norm-preserving)', () => {
  const rng = new Rng(3);
  for (const [B, T, H, hd, pos0] of [[1, 1, 1, 2, 0], [2, 3, 3, 6, 0], [1, 4, 2, 8, 5]]) {
    const { cos, sin } = ropeTables(hd, pos0 + T + 3, 10000);
    const n = B * T * H * hd;
    const inp = randn64(rng, n), r = randn64(rng, n), out = zeros64(n);
    const loss = () => { be.ropeForward(out, inp, cos, sin, B, T, H, hd, pos0); return dotWith(r, out); };
    loss();
    let n0 = 0, n1 = 0;
    for (let i = 0; i < n; i++) { n0 += inp[i] * inp[i]; n1 += out[i] * out[i]; }
    assert.ok(Math.abs(n0 - n1) < 1e-6 * n0, 'rotation preserves the norm');
    const dinp = zeros64(n);
    be.ropeBackward(dinp, r, cos, sin, B, T, H, hd, pos0);
    checkGrad(`rope ${B}x${T}x${H}x${hd}@${pos0}`, inp, dinp, loss);
    // out may alias inp
    loss(); // out again at the unperturbed input
    const copy = Float64Array.from(inp as unknown as Float64Array) as unknown as Float32Array;
    be.ropeForward(copy, copy, cos, sin, B, T, H, hd, pos0);
    for (let i = 0; i < n; i++) assert.equal(copy[i], out[i]);
  }
});

test('swiglu backward = finite differences', () => {
  const rng = new Rng(4);
  for (const n of [1, 7, 33]) {
    const a = randn64(rng, n, 3), b = randn64(rng, n), r = randn64(rng, n), out = zeros64(n);
    const loss = () => { be.swigluForward(out, a, b, n); return dotWith(r, out); };
    const da = zeros64(n), db = zeros64(n);
    be.swigluBackward(da, db, r, a, b, n);
    checkGrad(`swiglu ${n} da`, a, da, loss);
    checkGrad(`swiglu ${n} db`, b, db, loss);
  }
});

test('embedding backward = finite differences (repeated tokens accumulate)', () => {
  const rng = new Rng(5);
  const N = 6, C = 5, V = 4;
  const tokens = Int32Array.from([0, 3, 3, 1, 0, 3]);
  const table = randn64(rng, V * C), r = randn64(rng, N * C), out = zeros64(N * C);
  const loss = () => { be.embeddingForward(out, tokens, table, N, C, V); return dotWith(r, out); };
  const dt = zeros64(V * C);
  be.embeddingBackward(dt, r, tokens, N, C);
  checkGrad('embedding dtable', table, dt, loss);
  for (let c = 0; c < C; c++) assert.equal(dt[2 * C + c], 0, 'an unused token gets no gradient');
});

test('attention backward = finite differences (causal, GQA, T = 1)', () => {
  const rng = new Rng(6);
  for (const [B, T, H, KVH, hd] of [[1, 1, 1, 1, 2], [2, 3, 4, 2, 4], [1, 5, 3, 1, 6], [1, 4, 2, 2, 3]]) {
    const nq = B * T * H * hd, nkv = B * T * KVH * hd;
    const q = randn64(rng, nq), k = randn64(rng, nkv), v = randn64(rng, nkv), r = randn64(rng, nq);
    const out = zeros64(nq), lse = zeros64(B * H * T);
    const loss = () => { be.attentionForward(out, lse, q, k, v, B, T, H, KVH, hd); return dotWith(r, out); };
    loss();
    const dq = zeros64(nq), dk = zeros64(nkv), dv = zeros64(nkv);
    be.attentionBackward(dq, dk, dv, r, q, k, v, out, lse, B, T, H, KVH, hd);
    const shape = `${B}x${T}x${H}/${KVH}x${hd}`;
    checkGrad(`attention ${shape} dq`, q, dq, loss);
    checkGrad(`attention ${shape} dk`, k, dk, loss);
    checkGrad(`attention ${shape} dv`, v, dv, loss);
  }
});

test('cross-entropy backward = finite differences (ignored targets get no gradient)', () => {
  const rng = new Rng(7);
  for (const [N, C, V] of [[1, 1, 2], [4, 3, 7], [5, 6, 11]]) {
    const x = randn64(rng, N * C), w = randn64(rng, V * C);
    const targets = Int32Array.from({ length: N }, (_, i) => (i === 1 ? -1 : rng.intBelow(V)));
    const dl = randn64(rng, N);
    const losses = zeros64(N), lse = zeros64(N);
    const loss = () => { be.crossEntropyForward(losses, lse, x, w, targets, N, C, V); return dotWith(dl, losses); };
    loss();
    const dx = zeros64(N * C), dw = zeros64(V * C);
    be.crossEntropyBackward(dx, dw, dl, x, w, targets, lse, N, C, V);
    checkGrad(`cross-entropy ${N}x${C}x${V} dx`, x, dx, loss);
    checkGrad(`cross-entropy ${N}x${C}x${V} dweight`, w, dw, loss);
    if (N > 1) {
      assert.equal(losses[1], 0);
      for (let c = 0; c < C; c++) assert.equal(dx[1 * C + c], 0);
    }
  }
});
