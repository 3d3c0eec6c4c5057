// Row-wise and element-wise kernels of the wasm backend against the reference, odd sizes included,
// and identical across 1, 2 and 3 threads.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ropeTables } from '../../src/kernels/backend.js';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { assertClose, assertIdentical, makeBackends, sameBuild, randn, rng, Staging, type WasmBackend } from './wasm-helpers.js';

const ref = createReferenceBackend();
let backends: WasmBackend[] = [];
before(async () => { backends = await makeBackends(); });
after(() => { for (const b of backends) b.dispose(); });

/** Runs `body` on every backend and checks its outputs agree bitwise across thread counts. */
function acrossThreads(body: (be: WasmBackend) => Float32Array[]): void {
  const all = backends.map((be) => body(be).map((a) => a.slice()));
  for (let t = 1; t < all.length; t++) {
    if (sameBuild(backends, t)) all[t].forEach((a, k) => assertIdentical(a, all[0][k], `threads ${backends[t].threads} vs 1, output ${k}`));
  }
}

describe('rmsnorm', () => {
  for (const [N, C] of [[1, 1], [3, 7], [5, 64], [33, 288], [2, 1001]] as const) {
    test(`N=${N} C=${C}`, () => {
      const r = rng(N * 7 + C);
      const inp = randn(N * C, r, 3), w = randn(C, r), dout = randn(N * C, r), dinp0 = randn(N * C, r), dw0 = randn(C, r);
      const out = new Float32Array(N * C), rstd = new Float32Array(N);
      ref.rmsnormForward(out, rstd, inp, w, N, C, 1e-5);
      const dinp = dinp0.slice(), dw = dw0.slice();
      ref.rmsnormBackward(dinp, dw, dout, inp, w, rstd, N, C);
      acrossThreads((be) => {
        const s = new Staging(be, 4 * (6 * N * C + 4 * C + N));
        const o = s.f32(N * C), rs = s.f32(N), x = s.f32(inp), ww = s.f32(w), d = s.f32(dout), di = s.f32(dinp0), dww = s.f32(dw0);
        be.rmsnormForward(o, rs, x, ww, N, C, 1e-5);
        be.rmsnormBackward(di, dww, d, x, ww, rs, N, C);
        assertClose(o, out, 1e-5, 1e-5, `${be.name} out`);
        assertClose(rs, rstd, 0, 1e-5, `${be.name} rstd`);
        assertClose(di, dinp, 1e-5, 1e-4, `${be.name} dinp`);
        assertClose(dww, dw, 1e-4 * Math.sqrt(N), 1e-4, `${be.name} dweight`);
        return [o, rs, di, dww];
      });
    });
  }
});

describe('rope', () => {
  for (const [B, T, H, hd, pos0] of [[1, 1, 1, 2, 0], [2, 5, 3, 6, 7], [1, 9, 4, 48, 0], [3, 4, 2, 10, 100]] as const) {
    test(`B=${B} T=${T} H=${H} hd=${hd} pos0=${pos0}`, () => {
      const r = rng(B + T * 3 + H * 5 + hd);
      const n = B * T * H * hd;
      const { cos, sin } = ropeTables(hd, pos0 + T + 3, 10000);
      const inp = randn(n, r), dout = randn(n, r), dinp0 = randn(n, r);
      const out = new Float32Array(n);
      ref.ropeForward(out, inp, cos, sin, B, T, H, hd, pos0);
      const dinp = dinp0.slice();
      ref.ropeBackward(dinp, dout, cos, sin, B, T, H, hd, pos0);
      acrossThreads((be) => {
        const s = new Staging(be, 4 * (5 * n + 2 * cos.length));
        const o = s.f32(n), x = s.f32(inp), c = s.f32(cos), sn = s.f32(sin), d = s.f32(dout), di = s.f32(dinp0);
        be.ropeForward(o, x, c, sn, B, T, H, hd, pos0);
        assertClose(o, out, 1e-6, 1e-6, `${be.name} out`);
        be.ropeForward(x, x, c, sn, B, T, H, hd, pos0); // in place
        assertIdentical(x, o, `${be.name} in-place`);
        be.ropeBackward(di, d, c, sn, B, T, H, hd, pos0);
        assertClose(di, dinp, 1e-6, 1e-6, `${be.name} dinp`);
        return [o, di];
      });
    });
  }
});

describe('swiglu, add, accumulate', () => {
  for (const n of [1, 3, 17, 100, 1027]) {
    test(`n=${n}`, () => {
      const r = rng(n);
      const a = randn(n, r, 12), b = randn(n, r, 2), dout = randn(n, r), da0 = randn(n, r), db0 = randn(n, r);
      const out = new Float32Array(n), da = da0.slice(), db = db0.slice(), sum = new Float32Array(n), acc = da0.slice();
      ref.swigluForward(out, a, b, n);
      ref.swigluBackward(da, db, dout, a, b, n);
      ref.add(sum, a, b, n);
      ref.accumulate(acc, b, n);
      acrossThreads((be) => {
        const s = new Staging(be, 4 * 10 * n);
        const o = s.f32(n), aa = s.f32(a), bb = s.f32(b), d = s.f32(dout), dda = s.f32(da0), ddb = s.f32(db0), sm = s.f32(n), ac = s.f32(da0);
        be.swigluForward(o, aa, bb, n);
        be.swigluBackward(dda, ddb, d, aa, bb, n);
        be.add(sm, aa, bb, n);
        be.accumulate(ac, bb, n);
        assertClose(o, out, 1e-6, 2e-6, `${be.name} swiglu out`);
        assertClose(dda, da, 1e-6, 2e-6, `${be.name} swiglu da`);
        assertClose(ddb, db, 1e-6, 2e-6, `${be.name} swiglu db`);
        assertIdentical(sm, sum, `${be.name} add`);
        assertIdentical(ac, acc, `${be.name} accumulate`);
        be.add(aa, aa, bb, n); // out aliasing a
        assertIdentical(aa, sum, `${be.name} add in place`);
        return [o, dda, ddb];
      });
    });
  }
});

describe('embedding', () => {
  for (const [N, C, V] of [[1, 1, 1], [7, 5, 3], [64, 288, 50], [9, 13, 1000]] as const) {
    test(`N=${N} C=${C} V=${V} (duplicate ids)`, () => {
      const r = rng(N + C + V);
      const table = randn(V * C, r), dout = randn(N * C, r), dt0 = randn(V * C, r);
      const tokens = new Int32Array(N).map(() => Math.floor(r() * Math.min(V, 4))); // many repeats
      const out = new Float32Array(N * C), dt = dt0.slice();
      ref.embeddingForward(out, tokens, table, N, C, V);
      ref.embeddingBackward(dt, dout, tokens, N, C);
      acrossThreads((be) => {
        const s = new Staging(be, 4 * (3 * V * C + 2 * N * C + N));
        const o = s.f32(N * C), tk = s.i32(tokens), tb = s.f32(table), d = s.f32(dout), dtt = s.f32(dt0);
        be.embeddingForward(o, tk, tb, N, C, V);
        be.embeddingBackward(dtt, d, tk, N, C);
        assertIdentical(o, out, `${be.name} forward`);
        assertClose(dtt, dt, 1e-6, 1e-6, `${be.name} backward`);
        return [o, dtt];
      });
    });
  }
});

describe('adamw and sumSquares', () => {
  for (const n of [1, 5, 333, 70001]) {
    test(`n=${n}`, () => {
      const r = rng(n + 11);
      const p0 = randn(n, r), g = randn(n, r, 0.1), m0 = randn(n, r, 0.01), v0 = new Float32Array(n).map(() => r() * 1e-3);
      const prm = { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 7, gradScale: 0.5 };
      const p = p0.slice(), m = m0.slice(), v = v0.slice();
      ref.adamw(p, g, m, v, n, prm);
      const ss = ref.sumSquares(g, n);
      const sums: number[] = [];
      acrossThreads((be) => {
        const s = new Staging(be, 4 * 5 * n);
        const pp = s.f32(p0), gg = s.f32(g), mm = s.f32(m0), vv = s.f32(v0);
        be.adamw(pp, gg, mm, vv, n, prm);
        assertClose(pp, p, 1e-7, 1e-5, `${be.name} param`);
        assertClose(mm, m, 1e-9, 1e-5, `${be.name} m`);
        assertClose(vv, v, 1e-12, 1e-5, `${be.name} v`);
        const got = be.sumSquares(gg, n);
        assert.ok(Math.abs(got - ss) <= 1e-12 * ss + 1e-300, `${be.name} sumSquares ${got} vs ${ss}`);
        sums.push(got);
        return [pp, mm, vv];
      });
      sums.forEach((x, t) => { if (sameBuild(backends, t)) assert.equal(x, sums[0], 'sumSquares identical across thread counts'); });
    });
  }
});
