// Tiled causal attention (forward, backward, KV-cached) of the wasm backend against the
// reference's naive softmax attention, with grouped-query heads, odd head sizes, T = 1 and T
// beyond one 64-key tile; identical across thread counts; and a T = 4096 run whose memory stays
// far below what one T×T float matrix (64 MiB) would take.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { assertClose, assertIdentical, makeBackends, sameBuild, randn, rng, Staging, type WasmBackend } from './wasm-helpers.js';

const ref = createReferenceBackend();
let backends: WasmBackend[] = [];
before(async () => { backends = await makeBackends(); });
after(() => { for (const b of backends) b.dispose(); });

describe('attention forward/backward', () => {
  const cases: [number, number, number, number, number][] = [
    // B, T, nHeads, nKvHeads, headDim
    [1, 1, 1, 1, 4], [2, 5, 4, 2, 6], [1, 70, 2, 2, 8], [2, 130, 4, 1, 16], [1, 33, 3, 3, 5],
  ];
  for (const [B, T, H, KV, hd] of cases) {
    test(`B=${B} T=${T} H=${H} KV=${KV} hd=${hd}`, () => {
      const r = rng(B * 100 + T + H * 7 + hd);
      const nq = B * T * H * hd, nkv = B * T * KV * hd;
      const q = randn(nq, r, 2), k = randn(nkv, r, 2), v = randn(nkv, r), dout = randn(nq, r);
      const dq0 = randn(nq, r), dk0 = randn(nkv, r), dv0 = randn(nkv, r);
      const out = new Float32Array(nq), lse = new Float32Array(B * H * T);
      ref.attentionForward(out, lse, q, k, v, B, T, H, KV, hd);
      const dq = dq0.slice(), dk = dk0.slice(), dv = dv0.slice();
      ref.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, T, H, KV, hd);
      const all: Float32Array[][] = [];
      for (const be of backends) {
        const s = new Staging(be, 4 * (6 * nq + 6 * nkv + B * H * T));
        const o = s.f32(nq), l = s.f32(B * H * T), qq = s.f32(q), kk = s.f32(k), vv = s.f32(v), d = s.f32(dout);
        const dqq = s.f32(dq0), dkk = s.f32(dk0), dvv = s.f32(dv0);
        be.attentionForward(o, l, qq, kk, vv, B, T, H, KV, hd);
        assertClose(o, out, 2e-6, 1e-5, `${be.name} out`);
        assertClose(l, lse, 2e-6, 1e-5, `${be.name} lse`);
        // backward from the reference's out/lse, so only the backward's own error is measured
        o.set(out); l.set(lse);
        be.attentionBackward(dqq, dkk, dvv, d, qq, kk, vv, o, l, B, T, H, KV, hd);
        assertClose(dqq, dq, 2e-5, 1e-4, `${be.name} dq`);
        assertClose(dkk, dk, 2e-5, 1e-4, `${be.name} dk`);
        assertClose(dvv, dv, 2e-5, 1e-4, `${be.name} dv`);
        all.push([o, dqq, dkk, dvv].map((a) => a.slice()));
      }
      for (let t = 1; t < all.length; t++) if (sameBuild(backends, t)) all[t].forEach((a, i) => assertIdentical(a, all[0][i], `threads ${backends[t].threads} vs 1, output ${i}`));
    });
  }
});

describe('attentionCached', () => {
  for (const [T, pos0, H, KV, hd, maxSeq] of [[1, 0, 2, 1, 8, 4], [1, 100, 4, 2, 6, 128], [3, 5, 2, 2, 7, 16], [6, 0, 3, 1, 16, 6], [7, 62, 2, 1, 8, 80], [5, 3, 2, 1, 8, 16], [9, 70, 4, 2, 64, 96]] as const) {
    test(`T=${T} pos0=${pos0} H=${H} KV=${KV} hd=${hd}`, () => {
      const r = rng(T * 31 + pos0 + hd);
      const q = randn(T * H * hd, r, 2), kc = randn(maxSeq * KV * hd, r, 2), vc = randn(maxSeq * KV * hd, r);
      const out = new Float32Array(T * H * hd);
      ref.attentionCached(out, q, kc, vc, T, pos0, H, KV, hd);
      const all: Float32Array[] = [];
      for (const be of backends) {
        const s = new Staging(be, 4 * (2 * T * H * hd + 2 * kc.length));
        const o = s.f32(out.length), qq = s.f32(q), k = s.f32(kc), v = s.f32(vc);
        be.attentionCached(o, qq, k, v, T, pos0, H, KV, hd);
        assertClose(o, out, 2e-6, 1e-5, `${be.name} out`);
        all.push(o.slice());
      }
      for (let t = 1; t < all.length; t++) if (sameBuild(backends, t)) assertIdentical(all[t], all[0], `threads ${backends[t].threads} vs 1`);
    });
  }
});

test('attention at T=4096 (1 head, hd 64) stays far below one T×T float matrix (64 MiB)', async () => {
  const T = 4096, hd = 64;
  const be = await createWasmBackend({ threads: 2 });
  try {
    const arena = be.createArena(4 * (8 * T * hd + T) + 4096, 'attention-4096');
    const before = be.memoryBytes;
    const r = rng(4096);
    const q = arena.f32('q', [T, hd]), k = arena.f32('k', [T, hd]), v = arena.f32('v', [T, hd]);
    q.set(randn(T * hd, r)); k.set(randn(T * hd, r)); v.set(randn(T * hd, r));
    const out = arena.f32('out', [T, hd]), lse = arena.f32('lse', [T]), dout = arena.f32('dout', [T, hd]);
    dout.set(randn(T * hd, r));
    const dq = arena.f32('dq', [T, hd]), dk = arena.f32('dk', [T, hd]), dv = arena.f32('dv', [T, hd]);
    const rss0 = process.memoryUsage().rss;
    be.attentionForward(out, lse, q, k, v, 1, T, 1, 1, hd);
    be.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, 1, T, 1, 1, hd);
    const rssGrowth = process.memoryUsage().rss - rss0;
    // The kernels never allocate: the WebAssembly memory did not grow at all, and the whole of it
    // (arrays 8 MiB + per-thread scratch) is smaller than the 64 MiB a T×T matrix would need.
    assert.equal(be.memoryBytes, before, 'WebAssembly memory grew during attention');
    assert.ok(be.memoryBytes < 64 * 2 ** 20, `WebAssembly memory is ${be.memoryBytes} bytes`);
    assert.ok(rssGrowth < 32 * 2 ** 20, `resident memory grew by ${rssGrowth} bytes`);
    // spot-check the last row (it sees all 4096 keys) against a float64 softmax
    const i = T - 1, qi = q.subarray(i * hd, (i + 1) * hd);
    const s = new Float64Array(T);
    let m = -Infinity;
    for (let j = 0; j < T; j++) {
      let d = 0;
      for (let c = 0; c < hd; c++) d += qi[c] * k[j * hd + c];
      s[j] = d / Math.sqrt(hd);
      m = Math.max(m, s[j]);
    }
    let z = 0;
    for (let j = 0; j < T; j++) z += Math.exp(s[j] - m);
    const expected = new Float64Array(hd);
    for (let j = 0; j < T; j++) { const p = Math.exp(s[j] - m) / z; for (let c = 0; c < hd; c++) expected[c] += p * v[j * hd + c]; }
    assertClose(out.subarray(i * hd), expected, 1e-5, 1e-4, 'row 4095');
    assert.ok(Math.abs(lse[i] - (m + Math.log(z))) < 1e-4, `lse ${lse[i]} vs ${m + Math.log(z)}`);
    for (const g of [dq, dk, dv]) assert.ok(g.every(Number.isFinite), 'finite gradients');
  } finally {
    be.dispose();
  }
});
