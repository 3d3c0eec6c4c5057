// The three matmul products and the stored-weight matmul (f32, f16, q8_0, q4_0) of the wasm
// backend against the reference, over odd shapes (not multiples of the 4×8 block, the 256 K-block
// or the SIMD width), N = 1 (decode), and at 1, 2 and 3 threads (which must agree bitwise).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { quantize } from '../../src/kernels/quant.js';
import { randomKQuant } from './kquant-helpers.js';
import { assertClose, assertIdentical, makeBackends, sameBuild, randn, rng, Staging, type WasmBackend } from './wasm-helpers.js';

const ref = createReferenceBackend();
let backends: WasmBackend[] = [];
before(async () => { backends = await makeBackends(); });
after(() => { for (const b of backends) b.dispose(); });

// Tolerance: float32 sums over K terms of size ~1 (the reference sums in float64).
const tolFor = (K: number) => 2e-6 * Math.sqrt(K + 1) * 4;

describe('matmul forward/backward', () => {
  const shapes: [number, number, number][] = [
    [1, 7, 5], [3, 45, 29], [4, 8, 8], [5, 1, 9], [37, 45, 29], [130, 300, 70], [64, 257, 17], [9, 520, 33],
  ];
  for (const [N, C, OC] of shapes) {
    test(`N=${N} C=${C} OC=${OC}`, () => {
      const r = rng(N * 1000 + C * 10 + OC);
      const inp = randn(N * C, r), w = randn(OC * C, r), dout = randn(N * OC, r);
      const dinp0 = randn(N * C, r), dw0 = randn(OC * C, r); // accumulate onto non-zero gradients
      const refOut = new Float32Array(N * OC);
      ref.matmulForward(refOut, inp, w, N, C, OC);
      const refDinp = dinp0.slice(), refDw = dw0.slice();
      ref.matmulBackward(refDinp, refDw, dout, inp, w, N, C, OC);
      const results: Float32Array[][] = [];
      for (const be of backends) {
        const s = new Staging(be, 4 * (3 * N * C + 2 * OC * C + 2 * N * OC) + 4096);
        const o = s.f32(N * OC), x = s.f32(inp), ww = s.f32(w), d = s.f32(dout), di = s.f32(dinp0), dw = s.f32(dw0);
        be.matmulForward(o, x, ww, N, C, OC);
        be.matmulBackward(di, dw, d, x, ww, N, C, OC);
        assertClose(o, refOut, tolFor(C), 1e-5, `${be.name} out`);
        assertClose(di, refDinp, tolFor(OC), 1e-5, `${be.name} dinp`);
        assertClose(dw, refDw, tolFor(N), 1e-5, `${be.name} dweight`);
        // null gradients are skipped
        const di2 = s.f32(dinp0);
        be.matmulBackward(di2, null, d, x, ww, N, C, OC);
        assertIdentical(di2, di, `${be.name} dinp alone`);
        results.push([o.slice(), di.slice(), dw.slice()]);
      }
      for (let t = 1; t < results.length; t++) {
        if (sameBuild(backends, t)) for (let k = 0; k < 3; k++) assertIdentical(results[t][k], results[0][k], `threads ${backends[t].threads} vs 1, output ${k}`);
      }
    });
  }
});

describe('matmulWeight on stored weights', () => {
  const types = ['f32', 'f16', 'q8_0', 'q4_0'] as const;
  for (const type of types) {
    for (const [N, C, OC] of [[1, 64, 13], [2, 96, 40], [3, 288, 7], [5, 64, 13], [8, 64, 5], [17, 320, 41], [40, 96, 9], [130, 800, 37]] as const) {
      test(`${type} N=${N} C=${C} OC=${OC}`, () => {
        const r = rng(C * OC + N);
        const wf = randn(OC * C, r), inp = randn(N * C, r);
        const data = quantize(type, wf, OC, C);
        const expected = new Float32Array(N * OC);
        ref.matmulWeight(expected, inp, { type, rows: OC, cols: C, data }, N);
        // q8_0/q4_0: both backends round the activations per 32-block as llama.cpp does (the
        // matvec path for N <= 7, the integer gemm above), so only float rounding order differs.
        const results: Float32Array[] = [];
        for (const be of backends) {
          const s = new Staging(be, 4 * (N * OC + N * C) + 4 * OC * C + 4096);
          const o = s.f32(N * OC), x = s.f32(inp);
          const d = data instanceof Float32Array ? s.f32(data) : data instanceof Uint16Array ? s.u16(data) : s.u8(data);
          be.matmulWeight(o, x, { type, rows: OC, cols: C, data: d }, N);
          for (let i = 0; i < N * OC; i++) {
            const tol = tolFor(C) + 1e-5 * Math.abs(expected[i]);
            if (!(Math.abs(o[i] - expected[i]) <= tol)) {
              throw new Error(`${be.name} ${type}: out[${i}] = ${o[i]}, expected ${expected[i]} within ${tol}`);
            }
          }
          results.push(o.slice());
        }
        for (let t = 1; t < results.length; t++) if (sameBuild(backends, t)) assertIdentical(results[t], results[0], `${type} threads ${backends[t].threads} vs 1`);
      });
    }
  }
});

test('f16 decode handles subnormal halves exactly and infinities like the reference', () => {
  const C = 44, OC = 3; // 44: five 8-wide SIMD steps and a scalar tail of 4
  const data = new Uint16Array(OC * C);
  for (let i = 0; i < data.length; i++) data[i] = 0x3c00 + (i % 7); // 1.0 .. 1.006
  data[5] = 0x0001;            // smallest subnormal, 2^-24
  data[6] = 0x83ff;            // largest negative subnormal
  data[C + 9] = 0x7c00;        // +Inf in row 1
  data[2 * C + 42] = 0xfc00;   // -Inf in row 2, in the scalar tail
  const inp = new Float32Array(C).map((_, i) => 0.5 + i / 64);
  const expected = new Float32Array(OC);
  ref.matmulWeight(expected, inp, { type: 'f16', rows: OC, cols: C, data }, 1);
  for (const be of backends) {
    const s = new Staging(be, 4 * (OC + C) + 2 * OC * C);
    const o = s.f32(OC), x = s.f32(inp), d = s.u16(data);
    be.matmulWeight(o, x, { type: 'f16', rows: OC, cols: C, data: d }, 1);
    assertClose([o[0]], [expected[0]], 1e-5, 1e-6, `${be.name} finite row`);
    if (o[1] !== Infinity || o[2] !== -Infinity) throw new Error(`${be.name}: rows with infinities gave ${o[1]}, ${o[2]}`);
  }
});

describe('f32 weights prepared in panels of 8 rows (decode as one memory stream, prefill without packing)', () => {
  for (const [C, OC] of [[64, 8], [45, 24], [288, 40], [7, 16]] as const) {
    test(`C=${C} OC=${OC}`, () => {
      const r = rng(C * 31 + OC);
      const wf = randn(OC * C, r);
      const Ns = [1, 2, 3, 8, 33, 70];
      const inp = randn(70 * C, r);
      for (const be of backends) {
        const s = new Staging(be, 4 * (2 * OC * C + 2 * 70 * (C + OC)));
        const rowsW = { type: 'f32' as const, rows: OC, cols: C, data: s.f32(wf) };
        const panels = be.prepareWeight({ type: 'f32', rows: OC, cols: C, data: s.f32(wf) });
        assert.equal(panels.layout, 'panels8');
        const x = s.f32(inp);
        const single: Float32Array[] = [];
        for (let n = 0; n < 70; n++) {
          const o = s.f32(OC);
          be.matmulWeight(o, x.subarray(n * C, (n + 1) * C), panels, 1);
          single.push(o.slice());
        }
        for (const N of Ns) {
          const want = new Float32Array(N * OC), got = s.f32(N * OC), viaRows = s.f32(N * OC);
          ref.matmulWeight(want, inp.subarray(0, N * C), { type: 'f32', rows: OC, cols: C, data: wf }, N);
          be.matmulWeight(got, x.subarray(0, N * C), panels, N);
          assertClose(got, want, tolFor(C), 1e-5, `${be.name} N=${N}`);
          if (N <= 32) {
            // batched decode: every row bitwise equal to decoding it alone
            for (let n = 0; n < N; n++) assertIdentical(got.subarray(n * OC, (n + 1) * OC), single[n], `${be.name} N=${N} row ${n}`);
          } else {
            // prefill: the gemm reads the panels in place, the same arithmetic as packing row-major weights
            be.matmulWeight(viaRows, x.subarray(0, N * C), rowsW, N);
            assertIdentical(got, viaRows, `${be.name} N=${N} panels vs rows`);
          }
        }
        assert.equal(be.prepareWeight(panels), panels, 'preparing twice changes nothing');
        const odd = { type: 'f32' as const, rows: OC + 1, cols: C, data: s.f32((OC + 1) * C) };
        assert.equal(be.prepareWeight(odd), odd, 'rows not a multiple of 8 stay row-major');
      }
      assert.throws(() => ref.matmulWeight(new Float32Array(OC), inp.subarray(0, C), { type: 'f32', rows: OC, cols: C, data: wf, layout: 'panels8' }, 1),
        /prepared for the wasm backend/);
    });
  }
});

describe('K-quant weights: integer kernels with activations rounded to Q8_K, against the reference', () => {
  for (const type of ['q4_k', 'q5_k', 'q6_k'] as const) for (const [N, C, OC] of [[1, 256, 13], [3, 512, 8], [7, 768, 21], [8, 256, 9], [40, 512, 30], [130, 1024, 17]] as const) {
    test(`${type} N=${N} C=${C} OC=${OC}`, () => {
      const r = rng(C * 7 + OC + N);
      const data = randomKQuant(type, OC, C, C + OC + N, 0.08);
      const inp = randn(N * C, r);
      inp[5] = 0; inp.fill(0, C, Math.min(N * C, 2 * C)); // an all-zero row of activations (d = 0) where N > 1
      const expected = new Float32Array(N * OC);
      ref.matmulWeight(expected, inp, { type, rows: OC, cols: C, data }, N);
      const results: Float32Array[] = [];
      for (const be of backends) {
        const s = new Staging(be, 4 * (N * OC + N * C) + data.length + 4096);
        const o = s.f32(N * OC);
        be.matmulWeight(o, s.f32(inp), { type, rows: OC, cols: C, data: s.u8(data) }, N);
        assertClose(o, expected, tolFor(C), 1e-5, `${be.name} ${type}`);
        results.push(o.slice());
      }
      for (let t = 1; t < results.length; t++) if (sameBuild(backends, t)) assertIdentical(results[t], results[0], `${type} threads ${backends[t].threads} vs 1`);
    });
  }
  test('bad shapes name the superblock', () => {
    const be = backends[0];
    const s = new Staging(be, 1 << 16);
    assert.throws(() => be.matmulWeight(s.f32(4), s.f32(128), { type: 'q4_k', rows: 4, cols: 128, data: s.u8(new Uint8Array(4 * 144)) }, 1),
      /cols = 128 must be a multiple of 256/);
    assert.throws(() => be.matmulWeight(s.f32(4), s.f32(256), { type: 'q4_k', rows: 4, cols: 256, data: s.u8(new Uint8Array(100)) }, 1),
      /weight data/);
  });
});

test('quantized gemm: rows beyond one packing region are done in slices (K = 8192: 224 rows per slice)', () => {
  const N = 230, C = 8192, OC = 8;
  const r = rng(99);
  const inp = randn(N * C, r);
  for (const type of ['q8_0', 'q4_k'] as const) {
    const data = type === 'q4_k' ? randomKQuant('q4_k', OC, C, 5, 0.08) : quantize('q8_0', randn(OC * C, r), OC, C) as Uint8Array;
    const expected = new Float32Array(N * OC);
    ref.matmulWeight(expected, inp, { type, rows: OC, cols: C, data }, N);
    const be = backends[backends.length - 1];
    const s = new Staging(be, 4 * (N * OC + N * C) + data.length + 4096);
    const o = s.f32(N * OC);
    be.matmulWeight(o, s.f32(inp), { type, rows: OC, cols: C, data: s.u8(data) }, N);
    assertClose(o, expected, tolFor(C), 1e-5, `${type} sliced`);
  }
});
