/**
 * The reference backend: every Backend operation in plain TypeScript loops, written to be
 * obviously correct rather than fast. It is the oracle the WebAssembly kernels are tested
 * against, and (with precision 'f64') the float64 path the gradient checks run the whole model on.
 *
 * Numerics: every sum is accumulated in a JS number (float64) and rounded once when stored, so
 * in 'f32' precision each output is the float32 rounding of a double-precision result. Attention
 * is naive (a full softmax per query row) and the cross-entropy computes each row's full logits —
 * the memory-saving tiling is the fast kernels' job; this file states what they must compute.
 *
 * Precision 'f64': arenas are Float64Arena (reference64.ts), whose f32() views are Float64Arrays
 * typed as Float32Array. Nothing here depends on the element type, so the same kernels run in
 * double precision end to end.
 */
import { BumpArena } from './arena.js';
import type { AdamWParams, Arena, Backend, F32, Weight } from './backend.js';
import { dequantizeRow, quantBytes, roundActivationsQ8_0 } from './quant.js';
import { dequantizeRowK, K_BLOCK_BYTES, QK_K, roundActivationsQ8_K } from './quant-k.js';
import { Float64Arena } from './reference64.js';

export interface ReferenceOptions {
  /** 'f32' (default): float32 storage. 'f64': float64 storage behind the Float32Array type (gradient checks only). */
  precision?: 'f32' | 'f64';
}

type Arr = ArrayLike<number>;

function checkDims(op: string, dims: Record<string, number>): void {
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${op}: ${k} = ${v} is not a non-negative integer`);
  }
}

function need(op: string, what: string, a: Arr | null, n: number, shape: string): void {
  if (a === null) return;
  if (a.length < n) throw new Error(`${op}: ${what} holds ${a.length} elements but shape ${shape} needs ${n}`);
}

class ReferenceBackend implements Backend {
  readonly name: string;
  readonly threads = 1;
  private checkFinite = false;

  constructor(private readonly precision: 'f32' | 'f64') {
    this.name = precision === 'f64' ? 'reference-f64' : 'reference';
  }

  createArena(bytes: number, label = 'arena'): Arena {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`createArena(${label}): invalid size ${bytes}`);
    if (this.precision === 'f64') return new Float64Arena(bytes, label);
    return new BumpArena(new ArrayBuffer(bytes), 0, bytes, label);
  }

  setCheckFinite(on: boolean): void { this.checkFinite = on; }

  dispose(): void { /* no threads, nothing to release */ }

  /** Throws naming the op, the tensor and its shape when the cheap check is on and x holds NaN/Inf. */
  private finite(op: string, what: string, x: Arr | null, n: number, shape: string): void {
    if (!this.checkFinite || x === null) return;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(x[i])) {
        throw new Error(`${op}: ${what} ${shape} holds ${x[i]} at flat index ${i} (non-finite value produced; ` +
          'check the learning rate, the inputs, or the previous op)');
      }
    }
  }

  // ------------------------------------------------------------------ matmul

  matmulForward(out: F32, inp: F32, weight: F32, N: number, C: number, OC: number): void {
    const op = 'matmulForward';
    checkDims(op, { N, C, OC });
    need(op, 'out', out, N * OC, `[${N}, ${OC}]`);
    need(op, 'inp', inp, N * C, `[${N}, ${C}]`);
    need(op, 'weight', weight, OC * C, `[${OC}, ${C}]`);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < OC; o++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += inp[n * C + c] * weight[o * C + c];
        out[n * OC + o] = s;
      }
    }
    this.finite(op, 'out', out, N * OC, `[${N}, ${OC}]`);
  }

  matmulBackward(dinp: F32 | null, dweight: F32 | null, dout: F32, inp: F32, weight: F32, N: number, C: number, OC: number): void {
    const op = 'matmulBackward';
    checkDims(op, { N, C, OC });
    need(op, 'dinp', dinp, N * C, `[${N}, ${C}]`);
    need(op, 'dweight', dweight, OC * C, `[${OC}, ${C}]`);
    need(op, 'dout', dout, N * OC, `[${N}, ${OC}]`);
    need(op, 'inp', inp, N * C, `[${N}, ${C}]`);
    need(op, 'weight', weight, OC * C, `[${OC}, ${C}]`);
    const acc = new Float64Array(C);
    if (dinp) {
      for (let n = 0; n < N; n++) {
        acc.fill(0);
        for (let o = 0; o < OC; o++) {
          const d = dout[n * OC + o];
          for (let c = 0; c < C; c++) acc[c] += d * weight[o * C + c];
        }
        for (let c = 0; c < C; c++) dinp[n * C + c] += acc[c];
      }
      this.finite(op, 'dinp', dinp, N * C, `[${N}, ${C}]`);
    }
    if (dweight) {
      for (let o = 0; o < OC; o++) {
        acc.fill(0);
        for (let n = 0; n < N; n++) {
          const d = dout[n * OC + o];
          for (let c = 0; c < C; c++) acc[c] += d * inp[n * C + c];
        }
        for (let c = 0; c < C; c++) dweight[o * C + c] += acc[c];
      }
      this.finite(op, 'dweight', dweight, OC * C, `[${OC}, ${C}]`);
    }
  }

  /** The reference reads row-major weights only: nothing to rearrange. */
  prepareWeight(weight: Weight): Weight { return weight; }

  matmulWeight(out: F32, inp: F32, weight: Weight, N: number): void {
    const op = `matmulWeight(${weight.type})`;
    if (weight.layout === 'panels8') throw new Error(`${op}: the weight was prepared for the wasm backend (panels of 8 rows); the reference reads row-major weights`);
    const OC = weight.rows;
    const C = weight.cols;
    checkDims(op, { N, C, OC });
    need(op, 'out', out, N * OC, `[${N}, ${OC}]`);
    need(op, 'inp', inp, N * C, `[${N}, ${C}]`);
    const kq = weight.type === 'q4_k' || weight.type === 'q5_k' || weight.type === 'q6_k' ? weight.type : null;
    if (kq && C % QK_K !== 0) throw new Error(`${op}: cols = ${C} must be a multiple of ${QK_K} (the K-quant superblock)`);
    const expected = weight.type === 'f32' ? OC * C : weight.type === 'f16' ? OC * C
      : kq ? OC * (C / QK_K) * K_BLOCK_BYTES[kq] : quantBytes(weight.type as 'q8_0' | 'q4_0', OC, C);
    // f32 weights may be the f64 precision's Float64Array views (typed as Float32Array)
    const kinds = weight.type === 'f32' ? [Float32Array, Float64Array] : weight.type === 'f16' ? [Uint16Array] : [Uint8Array];
    if (!kinds.some((k) => weight.data instanceof k)) {
      throw new Error(`${op}: weight data is a ${weight.data.constructor.name}, type ${weight.type} needs a ${kinds[0].name}`);
    }
    if (weight.data.length < expected) {
      throw new Error(`${op}: weight data holds ${weight.data.length} elements, [${OC}, ${C}] ${weight.type} needs ${expected}`);
    }
    // block-quantized weights meet activations rounded the same way (the Backend contract)
    let x: ArrayLike<number> = inp;
    if (weight.type !== 'f32' && weight.type !== 'f16') {
      const xq = Float64Array.from(inp.subarray(0, N * C));
      if (kq) roundActivationsQ8_K(xq, N, C);
      else roundActivationsQ8_0(xq, N, C);
      x = xq;
    }
    const row = new Float64Array(C);
    for (let o = 0; o < OC; o++) {
      if (kq) dequantizeRowK(kq, weight.data as Uint8Array, o, C, row);
      else dequantizeRow(weight.type as 'f32' | 'f16' | 'q8_0' | 'q4_0', weight.data, o, C, row);
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += x[n * C + c] * row[c];
        out[n * OC + o] = s;
      }
    }
    this.finite(op, 'out', out, N * OC, `[${N}, ${OC}]`);
  }

  // ------------------------------------------------------------------ RMSNorm

  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, N: number, C: number, eps: number): void {
    const op = 'rmsnormForward';
    checkDims(op, { N, C });
    need(op, 'out', out, N * C, `[${N}, ${C}]`);
    need(op, 'rstd', rstd, N, `[${N}]`);
    need(op, 'inp', inp, N * C, `[${N}, ${C}]`);
    need(op, 'weight', weight, C, `[${C}]`);
    for (let n = 0; n < N; n++) {
      let ss = 0;
      for (let c = 0; c < C; c++) ss += inp[n * C + c] * inp[n * C + c];
      const r = 1 / Math.sqrt(ss / C + eps);
      rstd[n] = r;
      // Use the stored (possibly rounded) rstd so forward and backward see the same value.
      const rs = rstd[n];
      for (let c = 0; c < C; c++) out[n * C + c] = inp[n * C + c] * rs * weight[c];
    }
    this.finite(op, 'out', out, N * C, `[${N}, ${C}]`);
  }

  rmsnormBackward(dinp: F32, dweight: F32, dout: F32, inp: F32, weight: F32, rstd: F32, N: number, C: number): void {
    const op = 'rmsnormBackward';
    checkDims(op, { N, C });
    for (const [k, a] of [['dinp', dinp], ['dout', dout], ['inp', inp]] as const) need(op, k, a, N * C, `[${N}, ${C}]`);
    need(op, 'dweight', dweight, C, `[${C}]`);
    need(op, 'weight', weight, C, `[${C}]`);
    need(op, 'rstd', rstd, N, `[${N}]`);
    // y_c = w_c x_c r, r = (mean(x^2) + eps)^-1/2  =>  dr/dx_c = -r^3 x_c / C
    // dx_c = r w_c dy_c - (r^3 / C) x_c sum_j(w_j dy_j x_j)
    const dw = new Float64Array(C);
    for (let n = 0; n < N; n++) {
      const r = rstd[n];
      let dot = 0;
      for (let c = 0; c < C; c++) dot += weight[c] * dout[n * C + c] * inp[n * C + c];
      const k = (r * r * r * dot) / C;
      for (let c = 0; c < C; c++) {
        const x = inp[n * C + c];
        dinp[n * C + c] += r * weight[c] * dout[n * C + c] - k * x;
        dw[c] += dout[n * C + c] * x * r;
      }
    }
    for (let c = 0; c < C; c++) dweight[c] += dw[c];
    this.finite(op, 'dinp', dinp, N * C, `[${N}, ${C}]`);
    this.finite(op, 'dweight', dweight, C, `[${C}]`);
  }

  // ------------------------------------------------------------------ RoPE

  private ropeCheck(op: string, a: F32, b: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void {
    checkDims(op, { B, T, nHeads, headDim, pos0 });
    if (headDim % 2 !== 0) throw new Error(`${op}: headDim ${headDim} must be even (RoPE rotates pairs)`);
    const n = B * T * nHeads * headDim;
    const shape = `[${B}, ${T}, ${nHeads}, ${headDim}]`;
    need(op, 'first tensor', a, n, shape);
    need(op, 'second tensor', b, n, shape);
    const rows = (pos0 + T) * (headDim / 2);
    need(op, 'cos table', cos, rows, `[${pos0 + T}, ${headDim / 2}] (positions up to pos0+T = ${pos0 + T})`);
    need(op, 'sin table', sin, rows, `[${pos0 + T}, ${headDim / 2}] (positions up to pos0+T = ${pos0 + T})`);
  }

  ropeForward(out: F32, inp: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void {
    const op = 'ropeForward';
    this.ropeCheck(op, out, inp, cos, sin, B, T, nHeads, headDim, pos0);
    const half = headDim / 2;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const p = pos0 + t;
        for (let h = 0; h < nHeads; h++) {
          const base = ((b * T + t) * nHeads + h) * headDim;
          for (let i = 0; i < half; i++) {
            const c = cos[p * half + i], s = sin[p * half + i];
            const x0 = inp[base + 2 * i], x1 = inp[base + 2 * i + 1]; // read both first: out may alias inp
            out[base + 2 * i] = x0 * c - x1 * s;
            out[base + 2 * i + 1] = x0 * s + x1 * c;
          }
        }
      }
    }
    this.finite(op, 'out', out, B * T * nHeads * headDim, `[${B}, ${T}, ${nHeads}, ${headDim}]`);
  }

  ropeBackward(dinp: F32, dout: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void {
    const op = 'ropeBackward';
    this.ropeCheck(op, dinp, dout, cos, sin, B, T, nHeads, headDim, pos0);
    const half = headDim / 2;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const p = pos0 + t;
        for (let h = 0; h < nHeads; h++) {
          const base = ((b * T + t) * nHeads + h) * headDim;
          for (let i = 0; i < half; i++) {
            const c = cos[p * half + i], s = sin[p * half + i];
            const d0 = dout[base + 2 * i], d1 = dout[base + 2 * i + 1];
            dinp[base + 2 * i] += d0 * c + d1 * s;
            dinp[base + 2 * i + 1] += -d0 * s + d1 * c;
          }
        }
      }
    }
    this.finite(op, 'dinp', dinp, B * T * nHeads * headDim, `[${B}, ${T}, ${nHeads}, ${headDim}]`);
  }

  // ------------------------------------------------------------------ SwiGLU

  swigluForward(out: F32, a: F32, b: F32, n: number): void {
    const op = 'swigluForward';
    checkDims(op, { n });
    need(op, 'out', out, n, `[${n}]`);
    need(op, 'a', a, n, `[${n}]`);
    need(op, 'b', b, n, `[${n}]`);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      out[i] = (x / (1 + Math.exp(-x))) * b[i];
    }
    this.finite(op, 'out', out, n, `[${n}]`);
  }

  swigluBackward(da: F32, db: F32, dout: F32, a: F32, b: F32, n: number): void {
    const op = 'swigluBackward';
    checkDims(op, { n });
    for (const [k, x] of [['da', da], ['db', db], ['dout', dout], ['a', a], ['b', b]] as const) need(op, k, x, n, `[${n}]`);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const sig = 1 / (1 + Math.exp(-x));
      // silu(x) = x sig(x);  silu'(x) = sig(x) (1 + x (1 - sig(x)))
      da[i] += dout[i] * b[i] * sig * (1 + x * (1 - sig));
      db[i] += dout[i] * x * sig;
    }
    this.finite(op, 'da', da, n, `[${n}]`);
    this.finite(op, 'db', db, n, `[${n}]`);
  }

  // ------------------------------------------------------------------ embedding

  embeddingForward(out: F32, tokens: Int32Array, table: F32, N: number, C: number, V: number): void {
    const op = 'embeddingForward';
    checkDims(op, { N, C, V });
    need(op, 'out', out, N * C, `[${N}, ${C}]`);
    need(op, 'tokens', tokens, N, `[${N}]`);
    need(op, 'table', table, V * C, `[${V}, ${C}]`);
    for (let n = 0; n < N; n++) {
      const id = tokens[n];
      if (!(id >= 0 && id < V)) throw new Error(`${op}: token id ${id} at position ${n} is outside the vocabulary [0, ${V})`);
    }
    for (let n = 0; n < N; n++) {
      const id = tokens[n];
      for (let c = 0; c < C; c++) out[n * C + c] = table[id * C + c];
    }
  }

  embeddingBackward(dtable: F32, dout: F32, tokens: Int32Array, N: number, C: number): void {
    const op = 'embeddingBackward';
    checkDims(op, { N, C });
    need(op, 'dout', dout, N * C, `[${N}, ${C}]`);
    need(op, 'tokens', tokens, N, `[${N}]`);
    const V = C > 0 ? Math.floor(dtable.length / C) : 0;
    for (let n = 0; n < N; n++) {
      const id = tokens[n];
      if (!(id >= 0 && id < V)) throw new Error(`${op}: token id ${id} at position ${n} is outside the table's ${V} rows`);
    }
    for (let n = 0; n < N; n++) {
      const id = tokens[n];
      for (let c = 0; c < C; c++) dtable[id * C + c] += dout[n * C + c];
    }
    this.finite(op, 'dtable', dtable, V * C, `[${V}, ${C}]`);
  }

  // ------------------------------------------------------------------ elementwise

  add(out: F32, a: F32, b: F32, n: number): void {
    const op = 'add';
    checkDims(op, { n });
    need(op, 'out', out, n, `[${n}]`);
    need(op, 'a', a, n, `[${n}]`);
    need(op, 'b', b, n, `[${n}]`);
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
    this.finite(op, 'out', out, n, `[${n}]`);
  }

  accumulate(dst: F32, src: F32, n: number): void {
    const op = 'accumulate';
    checkDims(op, { n });
    need(op, 'dst', dst, n, `[${n}]`);
    need(op, 'src', src, n, `[${n}]`);
    for (let i = 0; i < n; i++) dst[i] += src[i];
    this.finite(op, 'dst', dst, n, `[${n}]`);
  }

  // ------------------------------------------------------------------ attention

  private attnCheck(op: string, B: number, T: number, nHeads: number, nKvHeads: number, headDim: number,
    qLike: [string, F32][], kvLike: [string, F32][], lse: F32): void {
    checkDims(op, { B, T, nHeads, nKvHeads, headDim });
    if (nKvHeads === 0 || nHeads % nKvHeads !== 0) throw new Error(`${op}: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
    for (const [k, a] of qLike) need(op, k, a, B * T * nHeads * headDim, `[${B}, ${T}, ${nHeads}, ${headDim}]`);
    for (const [k, a] of kvLike) need(op, k, a, B * T * nKvHeads * headDim, `[${B}, ${T}, ${nKvHeads}, ${headDim}]`);
    need(op, 'lse', lse, B * nHeads * T, `[${B}, ${nHeads}, ${T}]`);
  }

  attentionForward(out: F32, lse: F32, q: F32, k: F32, v: F32, B: number, T: number, nHeads: number, nKvHeads: number, headDim: number): void {
    const op = 'attentionForward';
    this.attnCheck(op, B, T, nHeads, nKvHeads, headDim, [['out', out], ['q', q]], [['k', k], ['v', v]], lse);
    const hd = headDim;
    const group = nHeads / nKvHeads;
    const scale = 1 / Math.sqrt(hd);
    const s = new Float64Array(T);
    const acc = new Float64Array(hd);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < nHeads; h++) {
        const kvh = Math.floor(h / group);
        for (let t = 0; t < T; t++) {
          const qo = ((b * T + t) * nHeads + h) * hd;
          let m = -Infinity;
          for (let j = 0; j <= t; j++) {
            const ko = ((b * T + j) * nKvHeads + kvh) * hd;
            let dot = 0;
            for (let d = 0; d < hd; d++) dot += q[qo + d] * k[ko + d];
            s[j] = dot * scale;
            if (s[j] > m) m = s[j];
          }
          let sum = 0;
          for (let j = 0; j <= t; j++) sum += Math.exp(s[j] - m);
          const l = m + Math.log(sum);
          lse[(b * nHeads + h) * T + t] = l;
          acc.fill(0);
          for (let j = 0; j <= t; j++) {
            const p = Math.exp(s[j] - l);
            const vo = ((b * T + j) * nKvHeads + kvh) * hd;
            for (let d = 0; d < hd; d++) acc[d] += p * v[vo + d];
          }
          for (let d = 0; d < hd; d++) out[qo + d] = acc[d];
        }
      }
    }
    this.finite(op, 'out', out, B * T * nHeads * hd, `[${B}, ${T}, ${nHeads}, ${hd}]`);
  }

  attentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    B: number, T: number, nHeads: number, nKvHeads: number, headDim: number): void {
    const op = 'attentionBackward';
    this.attnCheck(op, B, T, nHeads, nKvHeads, headDim,
      [['dq', dq], ['dout', dout], ['q', q], ['out', out]], [['dk', dk], ['dv', dv], ['k', k], ['v', v]], lse);
    const hd = headDim;
    const group = nHeads / nKvHeads;
    const scale = 1 / Math.sqrt(hd);
    const p = new Float64Array(T);
    const dp = new Float64Array(T);
    const dqAcc = new Float64Array(hd);
    const dkAcc = new Float64Array(T * hd);
    const dvAcc = new Float64Array(T * hd);
    for (let b = 0; b < B; b++) {
      for (let kvh = 0; kvh < nKvHeads; kvh++) {
        // dk, dv of one kv head gather from every query head of its group: sum in double, add once.
        dkAcc.fill(0);
        dvAcc.fill(0);
        for (let h = kvh * group; h < (kvh + 1) * group; h++) {
          for (let t = 0; t < T; t++) {
            const qo = ((b * T + t) * nHeads + h) * hd;
            const l = lse[(b * nHeads + h) * T + t];
            // P_j = softmax probabilities from the saved lse; dP_j = dout . v_j; D = sum_j P_j dP_j
            let D = 0;
            for (let j = 0; j <= t; j++) {
              const ko = ((b * T + j) * nKvHeads + kvh) * hd;
              let dot = 0, dvdot = 0;
              for (let d = 0; d < hd; d++) { dot += q[qo + d] * k[ko + d]; dvdot += dout[qo + d] * v[ko + d]; }
              p[j] = Math.exp(dot * scale - l);
              dp[j] = dvdot;
              D += p[j] * dp[j];
            }
            dqAcc.fill(0);
            for (let j = 0; j <= t; j++) {
              const ko = ((b * T + j) * nKvHeads + kvh) * hd;
              const ds = p[j] * (dp[j] - D) * scale; // d loss / d (q.k_j)
              for (let d = 0; d < hd; d++) {
                dqAcc[d] += ds * k[ko + d];
                dkAcc[j * hd + d] += ds * q[qo + d];
                dvAcc[j * hd + d] += p[j] * dout[qo + d];
              }
            }
            for (let d = 0; d < hd; d++) dq[qo + d] += dqAcc[d];
          }
        }
        for (let j = 0; j < T; j++) {
          const ko = ((b * T + j) * nKvHeads + kvh) * hd;
          for (let d = 0; d < hd; d++) { dk[ko + d] += dkAcc[j * hd + d]; dv[ko + d] += dvAcc[j * hd + d]; }
        }
      }
    }
    this.finite(op, 'dq', dq, B * T * nHeads * hd, `[${B}, ${T}, ${nHeads}, ${hd}]`);
    this.finite(op, 'dk', dk, B * T * nKvHeads * hd, `[${B}, ${T}, ${nKvHeads}, ${hd}]`);
    this.finite(op, 'dv', dv, B * T * nKvHeads * hd, `[${B}, ${T}, ${nKvHeads}, ${hd}]`);
  }

  attentionCached(out: F32, q: F32, kCache: F32, vCache: F32, T: number, pos0: number, nHeads: number, nKvHeads: number, headDim: number): void {
    const op = 'attentionCached';
    checkDims(op, { T, pos0, nHeads, nKvHeads, headDim });
    if (nKvHeads === 0 || nHeads % nKvHeads !== 0) throw new Error(`${op}: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
    const hd = headDim;
    need(op, 'q', q, T * nHeads * hd, `[${T}, ${nHeads}, ${hd}]`);
    need(op, 'out', out, T * nHeads * hd, `[${T}, ${nHeads}, ${hd}]`);
    const L = pos0 + T;
    need(op, 'kCache', kCache, L * nKvHeads * hd, `[>= ${L}, ${nKvHeads}, ${hd}] (pos0 ${pos0} + T ${T} positions)`);
    need(op, 'vCache', vCache, L * nKvHeads * hd, `[>= ${L}, ${nKvHeads}, ${hd}] (pos0 ${pos0} + T ${T} positions)`);
    const group = nHeads / nKvHeads;
    const scale = 1 / Math.sqrt(hd);
    const s = new Float64Array(L);
    const acc = new Float64Array(hd);
    for (let t = 0; t < T; t++) {
      const last = pos0 + t;
      for (let h = 0; h < nHeads; h++) {
        const kvh = Math.floor(h / group);
        const qo = (t * nHeads + h) * hd;
        let m = -Infinity;
        for (let j = 0; j <= last; j++) {
          const ko = (j * nKvHeads + kvh) * hd;
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[qo + d] * kCache[ko + d];
          s[j] = dot * scale;
          if (s[j] > m) m = s[j];
        }
        let sum = 0;
        for (let j = 0; j <= last; j++) { s[j] = Math.exp(s[j] - m); sum += s[j]; }
        acc.fill(0);
        for (let j = 0; j <= last; j++) {
          const vo = (j * nKvHeads + kvh) * hd;
          const pj = s[j] / sum;
          for (let d = 0; d < hd; d++) acc[d] += pj * vCache[vo + d];
        }
        for (let d = 0; d < hd; d++) out[qo + d] = acc[d];
      }
    }
    this.finite(op, 'out', out, T * nHeads * hd, `[${T}, ${nHeads}, ${hd}]`);
  }

  // ------------------------------------------------------------------ cross-entropy

  private ceCheck(op: string, x: F32, weight: F32, targets: Int32Array, lse: F32, N: number, C: number, V: number): void {
    checkDims(op, { N, C, V });
    need(op, 'x', x, N * C, `[${N}, ${C}]`);
    need(op, 'weight', weight, V * C, `[${V}, ${C}]`);
    need(op, 'targets', targets, N, `[${N}]`);
    need(op, 'lse', lse, N, `[${N}]`);
    for (let n = 0; n < N; n++) {
      const t = targets[n];
      if (t !== -1 && !(t >= 0 && t < V)) {
        throw new Error(`${op}: target id ${t} at row ${n} is outside the vocabulary [0, ${V}) (use -1 to ignore a position)`);
      }
    }
  }

  crossEntropyForward(losses: F32, lse: F32, x: F32, weight: F32, targets: Int32Array, N: number, C: number, V: number): void {
    const op = 'crossEntropyForward';
    this.ceCheck(op, x, weight, targets, lse, N, C, V);
    need(op, 'losses', losses, N, `[${N}]`);
    const logits = new Float64Array(V);
    for (let n = 0; n < N; n++) {
      let m = -Infinity;
      for (let v = 0; v < V; v++) {
        let s = 0;
        for (let c = 0; c < C; c++) s += x[n * C + c] * weight[v * C + c];
        logits[v] = s;
        if (s > m) m = s;
      }
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - m);
      const l = m + Math.log(sum);
      lse[n] = l;
      const t = targets[n];
      losses[n] = t === -1 ? 0 : l - logits[t];
    }
    this.finite(op, 'losses', losses, N, `[${N}]`);
  }

  crossEntropyBackward(dx: F32, dweight: F32, dlosses: F32, x: F32, weight: F32, targets: Int32Array, lse: F32,
    N: number, C: number, V: number): void {
    const op = 'crossEntropyBackward';
    this.ceCheck(op, x, weight, targets, lse, N, C, V);
    need(op, 'dx', dx, N * C, `[${N}, ${C}]`);
    need(op, 'dweight', dweight, V * C, `[${V}, ${C}]`);
    need(op, 'dlosses', dlosses, N, `[${N}]`);
    // dlogit[n, v] = dlosses[n] * (softmax[n, v] - [v == target[n]]), rows with target -1 give nothing.
    // Vocabulary-outer order, so each dweight row is summed in double and added once.
    const dxAcc = new Float64Array(N * C);
    const dwRow = new Float64Array(C);
    for (let v = 0; v < V; v++) {
      dwRow.fill(0);
      for (let n = 0; n < N; n++) {
        const t = targets[n];
        if (t === -1) continue;
        let z = 0;
        for (let c = 0; c < C; c++) z += x[n * C + c] * weight[v * C + c];
        const g = dlosses[n] * (Math.exp(z - lse[n]) - (v === t ? 1 : 0));
        for (let c = 0; c < C; c++) {
          dwRow[c] += g * x[n * C + c];
          dxAcc[n * C + c] += g * weight[v * C + c];
        }
      }
      for (let c = 0; c < C; c++) dweight[v * C + c] += dwRow[c];
    }
    for (let i = 0; i < N * C; i++) dx[i] += dxAcc[i];
    this.finite(op, 'dx', dx, N * C, `[${N}, ${C}]`);
    this.finite(op, 'dweight', dweight, V * C, `[${V}, ${C}]`);
  }

  // ------------------------------------------------------------------ optimizer

  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, p: AdamWParams): void {
    const op = 'adamw';
    checkDims(op, { n });
    for (const [k, a] of [['param', param], ['grad', grad], ['m', m], ['v', v]] as const) need(op, k, a, n, `[${n}]`);
    if (!Number.isInteger(p.step) || p.step < 1) throw new Error(`${op}: step ${p.step} must be a positive integer (1-based)`);
    // torch.optim.AdamW (single-tensor path):
    //   p *= 1 - lr*wd;  m = lerp(m, g, 1-b1);  v = b2 v + (1-b2) g^2
    //   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    const { lr, beta1, beta2, eps, weightDecay, step, gradScale } = p;
    const decay = 1 - lr * weightDecay;
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
    for (let i = 0; i < n; i++) {
      const g = grad[i] * gradScale;
      m[i] = m[i] + (g - m[i]) * (1 - beta1);
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      param[i] = param[i] * decay - stepSize * m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps);
    }
    this.finite(op, 'param', param, n, `[${n}]`);
  }

  logSoftmax(out: F32, inp: F32, rows: number, V: number): void {
    const op = 'logSoftmax';
    checkDims(op, { rows, V });
    need(op, 'out', out, rows * V, `[${rows}, ${V}]`);
    need(op, 'inp', inp, rows * V, `[${rows}, ${V}]`);
    for (let r = 0; r < rows; r++) {
      const o = r * V;
      let mx = -Infinity;
      for (let i = 0; i < V; i++) if (inp[o + i] > mx) mx = inp[o + i];
      let sum = 0;
      for (let i = 0; i < V; i++) sum += Math.exp(inp[o + i] - mx);
      const lse = mx + Math.log(sum);
      if (!Number.isFinite(lse)) throw new Error(`${op}: row ${r} of [${rows}, ${V}] has a non-finite log-sum-exp (the logits hold NaN or Inf — corrupt weights?)`);
      for (let i = 0; i < V; i++) out[o + i] = inp[o + i] - lse;
    }
  }

  sumSquares(x: F32, n: number): number {
    checkDims('sumSquares', { n });
    need('sumSquares', 'x', x, n, `[${n}]`);
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  }
}

/** The plain-TypeScript backend: the oracle for the fast kernels ('f64' only for gradient checks). */
export function createReferenceBackend(opts: ReferenceOptions = {}): Backend {
  const precision = opts.precision ?? 'f32';
  if (precision !== 'f32' && precision !== 'f64') throw new Error(`createReferenceBackend: precision must be 'f32' or 'f64', got '${precision}'`);
  return new ReferenceBackend(precision);
}
