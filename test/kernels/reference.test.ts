// The reference forward kernels against independent formulations (explicit masked softmax
// matrices, log-softmax of explicit logits, dequantized weights), plus arenas, precision and the
// bad-input errors. Gradients are in reference-grad.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import type { WeightType } from '../../src/kernels/backend.js';
import { dequantize, f16ToF32, f32ToF16, quantize, roundActivationsQ8_0 } from '../../src/kernels/quant.js';
import { Rng } from '../../src/util/rng.js';
import { maxAbsDiff, randn32, randn64, zeros64 } from './reference-helpers.js';

const ref = createReferenceBackend();
const ref64 = createReferenceBackend({ precision: 'f64' });

test('matmulForward on a hand-computed product', () => {
  // inp [2,3], weight [2,3]: out = inp W^T
  const out = new Float32Array(4);
  ref.matmulForward(out, Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([1, 0, -1, 2, 1, 0]), 2, 3, 2);
  assert.deepEqual(Array.from(out), [1 - 3, 2 + 2, 4 - 6, 8 + 5]);
});

/** Attention the textbook way: the whole masked score matrix, softmax, then P V. */
function naiveAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, T: number, H: number, KVH: number, hd: number) {
  const out = new Float64Array(B * T * H * hd);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h * KVH / H);
    const S: number[][] = [];
    for (let i = 0; i < T; i++) {
      S.push([]);
      for (let j = 0; j < T; j++) {
        let d = 0;
        for (let e = 0; e < hd; e++) d += q[((b * T + i) * H + h) * hd + e] * k[((b * T + j) * KVH + kvh) * hd + e];
        S[i].push(j <= i ? d / Math.sqrt(hd) : -Infinity);
      }
      const m = Math.max(...S[i]);
      const z = S[i].reduce((s, x) => s + Math.exp(x - m), 0);
      lse[(b * H + h) * T + i] = m + Math.log(z);
      for (let j = 0; j < T; j++) {
        const p = Math.exp(S[i][j] - m) / z;
        for (let e = 0; e < hd; e++) out[((b * T + i) * H + h) * hd + e] += p * v[((b * T + j) * KVH + kvh) * hd + e];
      }
    }
  }
  return { out, lse };
}

test('attentionForward = explicit masked softmax(QK^T/sqrt(d)) V, incl. GQA and T = 1', () => {
  const rng = new Rng(11);
  for (const [B, T, H, KVH, hd] of [[1, 1, 2, 1, 4], [2, 7, 4, 2, 6], [1, 9, 3, 3, 5]]) {
    const q = randn64(rng, B * T * H * hd), k = randn64(rng, B * T * KVH * hd), v = randn64(rng, B * T * KVH * hd);
    const out = zeros64(B * T * H * hd), lse = zeros64(B * H * T);
    ref64.attentionForward(out, lse, q, k, v, B, T, H, KVH, hd);
    const want = naiveAttention(q, k, v, B, T, H, KVH, hd);
    assert.ok(maxAbsDiff(out, want.out) < 1e-12);
    assert.ok(maxAbsDiff(lse, want.lse) < 1e-12);
  }
});

test('attentionCached over a KV cache = the rows of full causal attention', () => {
  const rng = new Rng(12);
  const T = 7, H = 4, KVH = 2, hd = 4, maxSeq = 10;
  const q = randn64(rng, T * H * hd), k = randn64(rng, T * KVH * hd), v = randn64(rng, T * KVH * hd);
  const full = zeros64(T * H * hd), lse = zeros64(H * T);
  ref64.attentionForward(full, lse, q, k, v, 1, T, H, KVH, hd);
  const kc = zeros64(maxSeq * KVH * hd), vc = zeros64(maxSeq * KVH * hd);
  kc.set(k); vc.set(v);
  for (const pos0 of [0, 3, 6]) {
    const n = T - pos0;
    const out = zeros64(n * H * hd);
    ref64.attentionCached(out, q.subarray(pos0 * H * hd), kc, vc, n, pos0, H, KVH, hd);
    assert.ok(maxAbsDiff(out, full.subarray(pos0 * H * hd)) < 1e-12, `pos0 ${pos0}`);
  }
  assert.throws(() => ref64.attentionCached(zeros64(H * hd), q, kc, vc, 1, maxSeq, H, KVH, hd), /attentionCached: kCache holds/);
});

test('crossEntropyForward = -log softmax of explicit logits; -1 targets give 0', () => {
  const rng = new Rng(13);
  const N = 5, C = 4, V = 9;
  const x = randn64(rng, N * C), w = randn64(rng, V * C);
  const targets = Int32Array.from([3, -1, 0, 8, 3]);
  const losses = zeros64(N), lse = zeros64(N), logits = zeros64(N * V);
  ref64.crossEntropyForward(losses, lse, x, w, targets, N, C, V);
  ref64.matmulForward(logits, x, w, N, C, V);
  for (let n = 0; n < N; n++) {
    const row = Array.from(logits.subarray(n * V, (n + 1) * V));
    const z = Math.log(row.reduce((s, l) => s + Math.exp(l), 0));
    assert.ok(Math.abs(lse[n] - z) < 1e-12);
    const want = targets[n] === -1 ? 0 : z - row[targets[n]];
    assert.ok(Math.abs(losses[n] - want) < 1e-12);
  }
});

test('roundActivationsQ8_0: d = f16(max/127), q = nearest-even(x * 127/max), per 32-block', () => {
  const x = new Float64Array(64);
  x[0] = 127; x[1] = 2.5; x[2] = 3.5; x[3] = -2.5; x[4] = -127; x[5] = 0.49;  // block 0: d = 1 exactly
  x[32 + 0] = 1e-3; x[32 + 1] = 0.5e-3;                                         // block 1: d = f16(1e-3/127)
  roundActivationsQ8_0(x, 2, 32);
  assert.deepEqual(Array.from(x.subarray(0, 6)), [127, 2, 4, -2, -127, 0]);   // ties go to even
  const d = f16ToF32(f32ToF16(Math.fround(1e-3 / 127)));
  assert.equal(x[32], 127 * d);
  assert.equal(x[33], 64 * d);  // 63.5 -> 64 (even)
  assert.ok(x.subarray(34).every((v) => v === 0));
  assert.throws(() => roundActivationsQ8_0(new Float64Array(40), 1, 40), /multiple of 32/);
});

test('matmulWeight: every weight type equals matmulForward on the dequantized weight; f32 is exact', () => {
  const rng = new Rng(14);
  const N = 3, C = 64, OC = 5;
  const w = randn32(rng, OC * C), x = randn32(rng, N * C);
  const want = new Float32Array(N * OC);
  ref.matmulForward(want, x, w, N, C, OC);
  for (const type of ['f32', 'f16', 'q8_0', 'q4_0'] as const) {
    const data = quantize(type, w, OC, C);
    const out = new Float32Array(N * OC), viaDeq = new Float32Array(N * OC);
    ref.matmulWeight(out, x, { type, rows: OC, cols: C, data }, N);
    // block-quantized weights meet activations rounded to Q8_0 per 32-block (llama.cpp's rule)
    const xr = Float32Array.from(x);
    if (type === 'q8_0' || type === 'q4_0') roundActivationsQ8_0(xr, N, C);
    ref.matmulForward(viaDeq, xr, dequantize(type, data, OC, C), N, C, OC);
    assert.deepEqual(out, viaDeq, type);
    const tol = { f32: 0, f16: 0.02, q8_0: 0.2, q4_0: 1.5 }[type]; // q8_0: 8-bit weights and 8-bit activations
    assert.ok(maxAbsDiff(out, want) <= tol, `${type}: quantization error ${maxAbsDiff(out, want)} > ${tol}`);
  }
  assert.throws(() => ref.matmulWeight(new Float32Array(N * OC), x, { type: 'q8_0', rows: OC, cols: C, data: new Uint8Array(10) }, N),
    /matmulWeight\(q8_0\): weight data holds 10 elements, \[5, 64\] q8_0 needs 340/);
  assert.throws(() => ref.matmulWeight(new Float32Array(N * OC), x, { type: 'f16', rows: OC, cols: C, data: w }, N),
    /needs a Uint16Array/);
});

test("adamw follows torch.optim.AdamW's update rule (two steps, decay, grad scale)", () => {
  const p = Float32Array.from([0.5, -1, 2]), g = Float32Array.from([0.1, -0.2, 0.3]);
  const m = new Float32Array(3), v = new Float32Array(3);
  const hp = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradScale: 0.5 };
  // Expected, written out independently in float64.
  const P = [0.5, -1, 2], M = [0, 0, 0], Vv = [0, 0, 0];
  for (const step of [1, 2]) {
    ref.adamw(p, g, m, v, 3, { ...hp, step });
    for (let i = 0; i < 3; i++) {
      const gi = Math.fround(g[i]) * 0.5;
      P[i] -= hp.lr * hp.weightDecay * P[i];
      M[i] = 0.9 * M[i] + 0.1 * gi;
      Vv[i] = 0.95 * Vv[i] + 0.05 * gi * gi;
      const mh = M[i] / (1 - 0.9 ** step), vh = Vv[i] / (1 - 0.95 ** step);
      P[i] -= hp.lr * mh / (Math.sqrt(vh) + hp.eps);
      assert.ok(Math.abs(p[i] - P[i]) < 1e-6, `step ${step} param ${i}: ${p[i]} vs ${P[i]}`);
    }
  }
  assert.throws(() => ref.adamw(p, g, m, v, 3, { ...hp, step: 0 }), /adamw: step 0/);
});

test('sumSquares accumulates in float64', () => {
  const x = new Float32Array(1 << 16).fill(0.1);
  const want = (1 << 16) * Math.fround(0.1) ** 2;
  assert.ok(Math.abs(ref.sumSquares(x, x.length) - want) < 1e-9 * want);
});

test("precision 'f32' rounds the float64 results once", () => {
  const rng = new Rng(15);
  const N = 4, C = 16, OC = 8;
  const x64 = randn64(rng, N * C), w64 = randn64(rng, OC * C);
  const x32 = Float32Array.from(x64), w32 = Float32Array.from(w64);
  const o64 = zeros64(N * OC), o32 = new Float32Array(N * OC), oFrom32 = zeros64(N * OC);
  ref64.matmulForward(o64, x64, w64, N, C, OC);
  ref64.matmulForward(oFrom32, x32, w32, N, C, OC);
  ref.matmulForward(o32, x32, w32, N, C, OC);
  for (let i = 0; i < N * OC; i++) assert.equal(o32[i], Math.fround(oFrom32[i]));
  assert.ok(maxAbsDiff(o32, o64) < 1e-4);
});

test('arenas: f32 hands out zeroed Float32Arrays, f64 hands out Float64Arrays within the same budget', () => {
  const a = ref.createArena(1024, 'test');
  const t = a.f32('t', [3, 5]);
  assert.ok(t instanceof Float32Array);
  assert.equal(t.length, 15);
  const b = ref64.createArena(128, 'test64');
  const u = b.f32('u', [32]); // 128 bytes in float32 terms
  assert.ok((u as unknown) instanceof Float64Array);
  assert.equal(b.views.length, 1);
  assert.throws(() => b.f32('more', [1]), /out of space allocating 'more'/);
  assert.throws(() => a.f32('bad', [2, -1]), /invalid shape/);
});

test('bad input: short arrays, token/target ids out of range, non-finite values', () => {
  assert.throws(() => ref.matmulForward(new Float32Array(5), new Float32Array(6), new Float32Array(6), 2, 3, 3),
    /matmulForward: out holds 5 elements but shape \[2, 3\] needs 6/);
  const table = new Float32Array(4 * 2);
  assert.throws(() => ref.embeddingForward(new Float32Array(4), Int32Array.from([1, 4]), table, 2, 2, 4),
    /embeddingForward: token id 4 at position 1 is outside the vocabulary \[0, 4\)/);
  assert.throws(() => ref.crossEntropyForward(new Float32Array(1), new Float32Array(1), new Float32Array(2), table, Int32Array.from([7]), 1, 2, 4),
    /crossEntropyForward: target id 7 at row 0/);
  assert.throws(() => ref.attentionForward(new Float32Array(8), new Float32Array(2), new Float32Array(8), new Float32Array(8), new Float32Array(8), 1, 2, 3, 2, 2),
    /nHeads 3 is not a multiple of nKvHeads 2/);
  const be = createReferenceBackend();
  be.setCheckFinite(true);
  assert.throws(() => be.matmulForward(new Float32Array(1), Float32Array.from([Infinity]), Float32Array.from([0]), 1, 1, 1),
    /matmulForward: out \[1, 1\] holds NaN/);
  be.setCheckFinite(false);
  be.matmulForward(new Float32Array(1), Float32Array.from([Infinity]), Float32Array.from([0]), 1, 1, 1);
  assert.throws(() => createReferenceBackend({ precision: 'f16' as 'f32' }), /precision must be/);
});
