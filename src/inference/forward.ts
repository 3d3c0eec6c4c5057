/**
 * The LLaMA forward for inference, as Meta's model.py reads, over a chunk of T new tokens at
 * positions pos0..pos0+T-1 of one sequence whose keys/values are cached:
 *   h = tok_embeddings[tokens]
 *   per layer:  xb = RMSNorm(h) * attention_norm;  q,k,v = xb Wq^T, xb Wk^T, xb Wv^T;  RoPE(q, k);
 *               cache k, v;  att = softmax(q K^T / sqrt(hd)) V over positions <= own;  h += att Wo^T
 *               xb = RMSNorm(h) * ffn_norm;  h += (silu(xb W1^T) * xb W3^T) W2^T
 *   logits = (RMSNorm(h) * norm) Wout^T  ->  log-softmax rows
 * The KV cache lives in arenas of its own (one per group of layers, each within one memory), with
 * a q/att scratch beside it, since attention's arrays must share a memory.
 */
import { kvDim, headDim, type LlamaConfig } from '../model/config.js';
import type { Arena, Backend, F32 } from '../kernels/backend.js';
import { arenaBytes } from '../kernels/arena.js';
import { embedRows, type LayerWeights, type ModelWeights } from './weights.js';

interface KvGroup { arena: Arena; q: F32; att: F32 }
interface KvLayer { group: KvGroup; k: F32; v: F32 } // k, v: [capacity, kvDim]

/** Keys and values of one sequence for every layer, `capacity` positions each. */
export class KvCache {
  readonly layers: KvLayer[] = [];

  constructor(readonly backend: Backend, readonly config: LlamaConfig, readonly capacity: number, readonly chunk: number) {
    const c = config;
    const perLayer = arenaBytes([{ numel: capacity * kvDim(c), bytesPerElement: 4 }, { numel: capacity * kvDim(c), bytesPerElement: 4 }]);
    const scratch = arenaBytes([{ numel: chunk * c.dim, bytesPerElement: 4 }, { numel: chunk * c.dim, bytesPerElement: 4 }]);
    // groups of layers of at most ~1 GiB, so each fits one WebAssembly memory beside other arenas
    const perGroup = Math.max(1, Math.min(c.nLayers, Math.floor((1 << 30) / perLayer)));
    for (let l0 = 0; l0 < c.nLayers; l0 += perGroup) {
      const n = Math.min(perGroup, c.nLayers - l0);
      const arena = backend.createArena(n * perLayer + scratch, `kv cache layers ${l0}-${l0 + n - 1}`);
      const group: KvGroup = { arena, q: arena.f32('kv.q', [chunk, c.dim]), att: arena.f32('kv.att', [chunk, c.dim]) };
      for (let l = l0; l < l0 + n; l++) {
        this.layers.push({ group, k: arena.f32(`kv.${l}.k`, [capacity, kvDim(c)]), v: arena.f32(`kv.${l}.v`, [capacity, kvDim(c)]) });
      }
    }
  }

  /** Gives the cache's memory back to the backend. */
  release(): void {
    for (const g of new Set(this.layers.map((L) => L.group))) g.arena.release();
  }

  /** Copies the first `length` positions into another cache of the same model. */
  copyInto(other: KvCache, length: number): void {
    const n = length * kvDim(this.config);
    this.layers.forEach((L, i) => {
      other.layers[i].k.set(L.k.subarray(0, n));
      other.layers[i].v.set(L.v.subarray(0, n));
    });
  }
}

/**
 * q, k, v [T, dim / kvDim] of the normed input s.xb: one fused matmul whose [T, dim + 2 kvDim]
 * rows are split (views when T = 1, copies otherwise), or three matmuls when not fused.
 */
function projectQkv(backend: Backend, L: LayerWeights, c: LlamaConfig, T: number): { q: F32; k: F32; v: F32 } {
  const s = L.s;
  const D = c.dim, KV = kvDim(c), W = D + 2 * KV;
  if (!('fused' in L.qkv)) {
    backend.matmulWeight(s.q, s.xb, L.qkv.wq, T);
    backend.matmulWeight(s.k, s.xb, L.qkv.wk, T);
    backend.matmulWeight(s.v, s.xb, L.qkv.wv, T);
    return { q: s.q, k: s.k, v: s.v };
  }
  backend.matmulWeight(s.qkv, s.xb, L.qkv.fused, T);
  if (T === 1) return { q: s.qkv.subarray(0, D), k: s.qkv.subarray(D, D + KV), v: s.qkv.subarray(D + KV, W) };
  for (let t = 0; t < T; t++) {
    const row = s.qkv.subarray(t * W, (t + 1) * W);
    s.q.set(row.subarray(0, D), t * D);
    s.k.set(row.subarray(D, D + KV), t * KV);
    s.v.set(row.subarray(D + KV), t * KV);
  }
  return { q: s.q, k: s.k, v: s.v };
}

/** s.hs = silu(xb W1^T) * (xb W3^T), through one fused [2 hidden] matmul when available. */
function gatedFfn(backend: Backend, L: LayerWeights, c: LlamaConfig, T: number): void {
  const s = L.s;
  const H = c.hiddenDim;
  if (!('fused' in L.gateUp)) {
    backend.matmulWeight(s.h1, s.xb, L.gateUp.w1, T);
    backend.matmulWeight(s.h3, s.xb, L.gateUp.w3, T);
    backend.swigluForward(s.hs, s.h1, s.h3, T * H);
    return;
  }
  backend.matmulWeight(s.h13, s.xb, L.gateUp.fused, T);
  if (T === 1) {
    backend.swigluForward(s.hs, s.h13.subarray(0, H), s.h13.subarray(H, 2 * H), H);
    return;
  }
  for (let t = 0; t < T; t++) {
    s.h1.set(s.h13.subarray(2 * t * H, (2 * t + 1) * H), t * H);
    s.h3.set(s.h13.subarray((2 * t + 1) * H, (2 * t + 2) * H), t * H);
  }
  backend.swigluForward(s.hs, s.h1, s.h3, T * H);
}

type Qkv = { q: F32; k: F32; v: F32 };

/**
 * The layer stack over R = tokens.length rows: embedding, then per layer the norms, projections,
 * residual adds and feed-forward. `attend(l, L, qkv)` is the one step where a chunk of one
 * sequence and a decode batch of several differ: RoPE, caching and attention of layer l's q, k, v,
 * leaving the attention output in L.s.att [R, dim]. Returns the final residual stream [R, dim].
 */
function forwardLayers(
  backend: Backend, w: ModelWeights, tokens: readonly number[], attend: (l: number, L: LayerWeights, qkv: Qkv) => void,
): F32 {
  const c = w.config;
  const R = tokens.length, D = c.dim;
  // the residual stream enters layer 0's arena
  let h = w.layers[0].s.x;
  embedRows(w.embedding, tokens, h);
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l];
    const s = L.s;
    if (s.x !== h) s.x.set(h.subarray(0, R * D)); // copy into this layer's memory
    h = s.x;
    // attention block
    backend.rmsnormForward(s.xb, s.rstd, s.x, L.attnNorm, R, D, c.normEps);
    attend(l, L, projectQkv(backend, L, c, R));
    backend.matmulWeight(s.proj, s.att, L.wo, R);
    backend.add(s.x, s.x, s.proj, R * D);
    // feed-forward block
    backend.rmsnormForward(s.xb, s.rstd, s.x, L.ffnNorm, R, D, c.normEps);
    gatedFfn(backend, L, c, R);
    backend.matmulWeight(s.proj, s.hs, L.w2, R);
    backend.add(s.x, s.x, s.proj, R * D);
  }
  return h;
}

/** Final norm, output projection and log-softmax of residual rows first..first+n-1 of h, into out[n * vocab]. */
function outputRows(backend: Backend, w: ModelWeights, h: F32, first: number, n: number, out: Float32Array): void {
  const c = w.config, D = c.dim;
  const hw = w.head;
  hw.x.set(h.subarray(first * D, (first + n) * D));
  backend.rmsnormForward(hw.xb, hw.rstd, hw.x, hw.norm, n, D, c.normEps);
  backend.matmulWeight(hw.logits, hw.xb, hw.output, n);
  backend.logSoftmax(hw.logits, hw.logits, n, c.vocabSize);
  out.set(hw.logits.subarray(0, n * c.vocabSize));
}

/**
 * Runs T = tokens.length (<= chunk) new tokens at pos0 through the model, filling the cache at
 * pos0..pos0+T-1. Writes log-softmax rows for the last `nOut` tokens into out[nOut * vocab].
 */
export function forwardChunk(
  backend: Backend, w: ModelWeights, cache: KvCache, tokens: readonly number[], pos0: number,
  nOut: number, out: Float32Array | null,
): void {
  const c = w.config;
  const T = tokens.length;
  if (T > w.chunk) throw new Error(`internal: chunk of ${T} tokens exceeds ${w.chunk}`);
  const D = c.dim, KV = kvDim(c), hd = headDim(c);
  const h = forwardLayers(backend, w, tokens, (l, L, { q, k, v }) => {
    backend.ropeForward(q, q, L.cos, L.sin, 1, T, c.nHeads, hd, pos0);
    backend.ropeForward(k, k, L.cos, L.sin, 1, T, c.nKvHeads, hd, pos0);
    const kv = cache.layers[l];
    kv.k.set(k.subarray(0, T * KV), pos0 * KV);
    kv.v.set(v.subarray(0, T * KV), pos0 * KV);
    kv.group.q.set(q.subarray(0, T * D));
    backend.attentionCached(kv.group.att, kv.group.q, kv.k, kv.v, T, pos0, c.nHeads, c.nKvHeads, hd);
    L.s.att.set(kv.group.att.subarray(0, T * D));
  });
  if (nOut <= 0 || !out) return;
  // final norm and output projection on the rows that need a distribution
  outputRows(backend, w, h, T - nOut, nOut, out);
}

/**
 * One decode step for several sequences at once (the server's batching): row b is token
 * tokens[b] of sequence b at position positions[b]. The matmuls read every weight once for all
 * rows; RoPE and attention run per row against that row's own cache. B <= chunk.
 */
export function forwardDecodeBatch(
  backend: Backend, w: ModelWeights, caches: readonly KvCache[], positions: readonly number[], tokens: readonly number[],
  out: Float32Array,
): void {
  const c = w.config;
  const B = tokens.length;
  if (B > w.chunk) throw new Error(`internal: decode batch of ${B} exceeds ${w.chunk}`);
  const D = c.dim, KV = kvDim(c), hd = headDim(c);
  const h = forwardLayers(backend, w, tokens, (l, L, qkv) => {
    for (let b = 0; b < B; b++) {
      const pos = positions[b];
      const q = qkv.q.subarray(b * D, (b + 1) * D);
      const k = qkv.k.subarray(b * KV, (b + 1) * KV);
      backend.ropeForward(q, q, L.cos, L.sin, 1, 1, c.nHeads, hd, pos);
      backend.ropeForward(k, k, L.cos, L.sin, 1, 1, c.nKvHeads, hd, pos);
      const kv = caches[b].layers[l];
      kv.k.set(k, pos * KV);
      kv.v.set(qkv.v.subarray(b * KV, (b + 1) * KV), pos * KV);
      kv.group.q.set(q);
      backend.attentionCached(kv.group.att, kv.group.q, kv.k, kv.v, 1, pos, c.nHeads, c.nKvHeads, hd);
      L.s.att.set(kv.group.att.subarray(0, D), b * D);
    }
  });
  outputRows(backend, w, h, 0, B, out);
}
