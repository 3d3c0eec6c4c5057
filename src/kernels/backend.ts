/**
 * The compute engine's contract: LLaMA's operations as paired forward/backward kernels (llm.c
 * style), not a general tensor library. Two implementations satisfy it:
 *   - reference.ts: plain TypeScript, simple and obviously correct — the oracle;
 *   - wasm.ts: WebAssembly 128-bit SIMD (relaxed-SIMD FMA where available) on a worker pool.
 *
 * Conventions (every implementation and every caller relies on them):
 *   - Tensors are Float32Array views, row-major, shapes given as explicit dims (a shape comment on
 *     every argument). Weights are [out, in] as in Meta's checkpoints: y = x W^T.
 *   - Memory comes from the backend (`createArena`): the WebAssembly backend can only read arrays
 *     that live in one of its memories. All arrays of one call must come from the same heap.
 *   - Backward kernels ACCUMULATE (+=) into every gradient they write (dinp, dweight, ...);
 *     the caller zeroes gradients. Forward kernels overwrite their outputs.
 *   - Activations layout: tokens are rows, N = B*T rows; within a row, heads are contiguous
 *     ([B, T, nHeads, headDim]).
 *   - RoPE uses Meta's interleaved pairs (x[2i], x[2i+1]) and precomputed tables
 *     cos/sin [maxSeqLen, headDim/2] (see ropeTables).
 *   - Attention is causal, scale 1/sqrt(headDim), grouped-query: query head h reads kv head
 *     floor(h / (nHeads / nKvHeads)).
 *   - Token targets of -1 are ignored by the cross-entropy (loss 0, no gradient): instruction
 *     finetuning masks prompts that way.
 */

export type F32 = Float32Array;

/** Weight storage for inference matmuls; quantized layouts are GGUF's (block of 32 along `in`). */
export type WeightType = 'f32' | 'f16' | 'q8_0' | 'q4_0' | 'q4_k' | 'q5_k' | 'q6_k';

export interface Weight {
  type: WeightType;
  rows: number; // out features
  cols: number; // in features (a multiple of 32 for q8_0/q4_0, of 256 for the K-quants)
  /** f32: Float32Array rows*cols; f16: Uint16Array rows*cols; q8_0/q4_0/q4_k/q5_k/q6_k: Uint8Array of GGUF blocks. */
  data: Float32Array | Uint16Array | Uint8Array;
  /**
   * 'rows' (the default): row-major. 'panels8' (f32 only, rows a multiple of 8): panels of 8 rows,
   * data[(r / 8) * cols * 8 + c * 8 + r % 8], made by the wasm backend's prepareWeight.
   */
  layout?: 'rows' | 'panels8';
}

export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number; // decoupled: p -= lr * weightDecay * p (0 for tensors that do not decay)
  step: number;        // 1-based, for bias correction
  gradScale: number;   // multiplies the gradient first (global-norm clipping factor, 1 if none)
}

export interface Arena {
  readonly bytes: number;
  /** The next `numel` floats of the arena, zeroed; `name` and `shape` are kept for debugging/dumps. */
  f32(name: string, shape: readonly number[]): Float32Array;
  i32(name: string, shape: readonly number[]): Int32Array;
  u8(name: string, bytes: number): Uint8Array;
  u16(name: string, shape: readonly number[]): Uint16Array;
  /** The named views carved so far, in order. */
  readonly views: ReadonlyArray<{ name: string; shape: readonly number[]; view: ArrayBufferView }>;
  /**
   * Gives the region back to the backend for later arenas (a loaded model's weights and caches,
   * when it is disposed). Its views must not be used afterwards; carving more throws.
   */
  release(): void;
}

export interface Backend {
  readonly name: string;
  /** Threads the kernels use (1 for the reference). */
  readonly threads: number;

  /** A zeroed region of `bytes` the kernels can read and write, carved into named views. */
  createArena(bytes: number, label?: string): Arena;

  // ---- matmul: the three products of forward and backward ----
  /** out[N,OC] = inp[N,C] · weight[OC,C]^T */
  matmulForward(out: F32, inp: F32, weight: F32, N: number, C: number, OC: number): void;
  /** dinp[N,C] += dout[N,OC] · weight[OC,C];  dweight[OC,C] += dout[N,OC]^T · inp[N,C]. Either may be null. */
  matmulBackward(dinp: F32 | null, dweight: F32 | null, dout: F32, inp: F32, weight: F32, N: number, C: number, OC: number): void;
  /**
   * Inference matmul on stored weights of any WeightType: out[N,OC] = inp[N,C] · W^T (N=1 is
   * decode's matrix-vector). For q8_0/q4_0 the activations are first rounded per 32-block to
   * Q8_0 (quant.ts roundActivationsQ8_0), for the K-quants per 256-block to Q8_K (quant-k.ts
   * roundActivationsQ8_K), as llama.cpp does, so the products are integer dot products; every
   * implementation and every N gives the same values up to float rounding.
   */
  matmulWeight(out: F32, inp: F32, weight: Weight, N: number): void;
  /**
   * Rearranges a row-major inference weight, in place, into the layout this backend's matmulWeight
   * reads fastest, and returns the weight to use from then on (the same one when nothing changes).
   * Values and results are unchanged but for float summation order.
   */
  prepareWeight(weight: Weight): Weight;

  // ---- RMSNorm: out = inp / sqrt(mean(inp^2) + eps) * weight ----
  /** out[N,C], rstd[N] (saved for backward), inp[N,C], weight[C] */
  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, N: number, C: number, eps: number): void;
  /** dinp[N,C] +=, dweight[C] += */
  rmsnormBackward(dinp: F32, dweight: F32, dout: F32, inp: F32, weight: F32, rstd: F32, N: number, C: number): void;

  // ---- RoPE on interleaved pairs; row (b, t) has position pos0 + t; out may alias inp ----
  /** out,inp [B,T,nHeads,headDim]; cos,sin [maxSeqLen, headDim/2] */
  ropeForward(out: F32, inp: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void;
  /** dinp += R^T · dout (rotation by the negative angle) */
  ropeBackward(dinp: F32, dout: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void;

  // ---- SwiGLU: out = silu(a) * b, where a = x W1^T and b = x W3^T ----
  swigluForward(out: F32, a: F32, b: F32, n: number): void;
  /** da += dout * b * silu'(a);  db += dout * silu(a) */
  swigluBackward(da: F32, db: F32, dout: F32, a: F32, b: F32, n: number): void;

  // ---- token embedding ----
  /** out[N,C] = table[tokens[n], :]; throws on ids outside [0, V) */
  embeddingForward(out: F32, tokens: Int32Array, table: F32, N: number, C: number, V: number): void;
  /** dtable[tokens[n], :] += dout[n, :] */
  embeddingBackward(dtable: F32, dout: F32, tokens: Int32Array, N: number, C: number): void;

  // ---- elementwise helpers for the residual stream ----
  /** out[i] = a[i] + b[i] (out may alias a or b) */
  add(out: F32, a: F32, b: F32, n: number): void;
  /** dst[i] += src[i] */
  accumulate(dst: F32, src: F32, n: number): void;

  // ---- causal attention, tiled with an online softmax (never stores T×T) ----
  /** out[B,T,nHeads,hd]; lse[B,nHeads,T] (log-sum-exp of scaled scores, saved); q[B,T,nHeads,hd]; k,v[B,T,nKvHeads,hd] */
  attentionForward(out: F32, lse: F32, q: F32, k: F32, v: F32, B: number, T: number, nHeads: number, nKvHeads: number, headDim: number): void;
  /** dq, dk, dv += (recomputes scores tile by tile from q, k and lse) */
  attentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    B: number, T: number, nHeads: number, nKvHeads: number, headDim: number): void;
  /**
   * Inference attention of T new query rows over a KV cache of one sequence:
   * q,out [T,nHeads,hd]; kCache,vCache [maxSeqLen,nKvHeads,hd] already holding positions 0..pos0+T-1.
   * Row t attends to positions 0..pos0+t.
   */
  attentionCached(out: F32, q: F32, kCache: F32, vCache: F32, T: number, pos0: number, nHeads: number, nKvHeads: number, headDim: number): void;

  // ---- cross-entropy fused with the output projection (logits never materialised N×V) ----
  /** losses[N] = lse - logit[target] (0 where target = -1); lse[N] saved; x[N,C]; weight[V,C]; targets[N] */
  crossEntropyForward(losses: F32, lse: F32, x: F32, weight: F32, targets: Int32Array, N: number, C: number, V: number): void;
  /** dx[N,C] +=, dweight[V,C] += ; dlosses[N] is dL/dloss_n (e.g. 1/numTargets) */
  crossEntropyBackward(dx: F32, dweight: F32, dlosses: F32, x: F32, weight: F32, targets: Int32Array, lse: F32,
    N: number, C: number, V: number): void;

  // ---- inference ----
  /** out[r, :] = inp[r, :] - logsumexp(inp[r, :]) for rows [rows, V]; out may alias inp. Throws on non-finite rows. */
  logSoftmax(out: F32, inp: F32, rows: number, V: number): void;

  // ---- optimizer ----
  /** One decoupled AdamW step on n parameters (PyTorch's torch.optim.AdamW semantics). */
  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, p: AdamWParams): void;
  /** sum of squares of x[0..n) accumulated in float64 (global-norm clipping sums these) */
  sumSquares(x: F32, n: number): number;

  /** Optional cheap check: throws naming `op` and shapes if x holds NaN/Inf (enabled by setCheckFinite). */
  setCheckFinite(on: boolean): void;

  /** Stops worker threads so the process can exit. */
  dispose(): void;
}

/** RoPE tables as Meta's precompute_freqs_cis: freq_i = theta^(-2i/hd), angle = pos * freq_i. */
export function ropeTables(headDim: number, maxSeqLen: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(maxSeqLen * half);
  const sin = new Float32Array(maxSeqLen * half);
  for (let i = 0; i < half; i++) {
    const freq = Math.fround(1 / Math.pow(theta, (2 * i) / headDim));
    for (let p = 0; p < maxSeqLen; p++) {
      const angle = Math.fround(p * freq);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
