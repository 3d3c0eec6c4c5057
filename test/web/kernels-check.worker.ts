/**
 * Runs in a browser Web Worker (bundled by browser-kernels.test.ts with the page's substitutions):
 * the WebAssembly backend on Web Worker threads — every call threaded (serialBelow 0), memories
 * capped at 8 MiB so arenas spill into a second memory — against the reference kernels, in the
 * same browser. Posts the largest differences and what ran.
 */
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { quantizeQ8_0 } from '../../src/kernels/quant.js';
import { poolStats } from '../../src/kernels/pool.js';

const scope = self as unknown as { postMessage(m: unknown): void };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 * 2 - 1; };
}

/** max |a - b| / (1 + |b|) */
function diff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return Number.isNaN(m) ? Infinity : m;
}

async function main(): Promise<Record<string, unknown>> {
  const be = await createWasmBackend({ threads: 3, heapBytesLimit: 8 << 20, serialBelow: 0 });
  const ref = createReferenceBackend();
  const r = rng(11);
  const fill = (a: Float32Array) => { for (let i = 0; i < a.length; i++) a[i] = r(); return a; };
  const out: Record<string, number> = {};
  const a0 = be.createArena(3 << 20, 'memory 0');
  const a1 = be.createArena(3 << 20, 'memory 1'); // does not fit beside a0 under the 8 MiB cap
  for (const [name, a] of [['m0', a0], ['m1', a1]] as const) {
    for (const N of [2, 20]) {                     // matrix-vector and gemm paths
      const C = 96, OC = 40;
      const x = fill(a.f32(`x${N}`, [N, C])), w = fill(a.f32(`w${N}`, [OC, C])), y = a.f32(`y${N}`, [N, OC]);
      be.matmulForward(y, x, w, N, C, OC);
      const e = new Float32Array(N * OC);
      ref.matmulForward(e, x, w, N, C, OC);
      out[`matmul_${name}_N${N}`] = diff(y, e);
    }
    const N = 6, C = 64;
    const x = fill(a.f32('rx', [N, C])), g = fill(a.f32('rg', [C])), y = a.f32('ry', [N, C]), rs = a.f32('rs', [N]);
    be.rmsnormForward(y, rs, x, g, N, C, 1e-5);
    const e = new Float32Array(N * C), es = new Float32Array(N);
    ref.rmsnormForward(e, es, x, g, N, C, 1e-5);
    out[`rmsnorm_${name}`] = diff(y, e);
  }
  // q8_0 weights: int8 matrix-vector (N 4) and the gemm (N 40) against the reference on the same blocks
  for (const N of [4, 40]) {
    const C = 128, OC = 48;
    const wf = new Float32Array(OC * C);
    fill(wf);
    const q = quantizeQ8_0(wf, OC, C);
    const wq = a1.u8(`q${N}`, q.length);
    wq.set(q);
    const x = fill(a1.f32(`qx${N}`, [N, C])), y = a1.f32(`qy${N}`, [N, OC]);
    be.matmulWeight(y, x, { type: 'q8_0', rows: OC, cols: C, data: wq }, N);
    const e = new Float32Array(N * OC);
    ref.matmulWeight(e, x, { type: 'q8_0', rows: OC, cols: C, data: q }, N);
    // both backends round the activations per 32-block as llama.cpp does: float rounding only
    out[`q8_0_N${N}`] = diff(y, e);
  }
  // causal attention with grouped KV heads
  {
    const T = 16, H = 4, KV = 2, D = 16;
    const q = fill(a1.f32('aq', [T, H * D])), k = fill(a1.f32('ak', [T, KV * D])), v = fill(a1.f32('av', [T, KV * D]));
    const y = a1.f32('ay', [T, H * D]), lse = a1.f32('al', [H, T]);
    be.attentionForward(y, lse, q, k, v, 1, T, H, KV, D);
    const e = new Float32Array(T * H * D), el = new Float32Array(H * T);
    ref.attentionForward(e, el, q, k, v, 1, T, H, KV, D);
    out.attention = diff(y, e);
  }
  const info = { diffs: out, backend: be.name, threads: be.threads, memoryBytes: be.memoryBytes, parallelCalls: poolStats.parallelCalls };
  be.dispose();
  return info;
}

main().then((r) => scope.postMessage({ ok: true, ...r }), (e: Error) => scope.postMessage({ ok: false, error: `${e.message}\n${e.stack}` }));
