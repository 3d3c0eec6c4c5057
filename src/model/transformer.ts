/**
 * LLaMA's training forward pass and its hand-written backward (no autograd graph, as the paper's
 * own implementation), written only against the Backend's paired kernels. It follows Meta's
 * model.py; the intermediates carry llama.cpp's names so they can be dumped and compared:
 *
 *   x_0 = tok_embeddings[tokens]                                   [N, dim]      (N = B*T)
 *   for each layer l, with x = x_l:
 *     attn_norm = RMSNorm(x) * attention_norm                      [N, dim]
 *     q, k, v   = attn_norm Wq^T, attn_norm Wk^T, attn_norm Wv^T   [N, nHeads*hd], [N, nKvHeads*hd] x2
 *     q_rope, k_rope = RoPE(q), RoPE(k)       (in place: the stored q/k are the rotated ones)
 *     attn_out  = causal_softmax(q_rope k_rope^T / sqrt(hd)) v     [N, nHeads*hd]  (+ lse [B, nHeads, T])
 *     attn_proj = attn_out Wo^T                                    [N, dim]
 *     h         = x + attn_proj                                    [N, dim]
 *     ffn_norm  = RMSNorm(h) * ffn_norm                            [N, dim]
 *     gate, up  = ffn_norm W1^T, ffn_norm W3^T                     [N, hidden] x2
 *     swiglu    = silu(gate) * up                                  [N, hidden]
 *     ffn_out   = swiglu W2^T                                      [N, dim]
 *     x_{l+1}   = h + ffn_out
 *   final_norm = RMSNorm(x_L) * norm;  loss = mean over targets != -1 of CE(final_norm Wout^T, target)
 *   (the output projection is fused into the chunked cross-entropy: no N x vocab logits)
 *
 * Activation checkpointing (the paper's §2.4 "selective" recompute and the two extremes):
 *   'none'      keep every intermediate the backward reads;
 *   'selective' keep the outputs of the linear layers (q_rope, k_rope, v, attn_out + lse, h,
 *               gate, up) and recompute the cheap ones (attn_norm, ffn_norm, swiglu) per layer
 *               during the backward;
 *   'full'      keep only each layer's input x_l and recompute the whole layer in the backward.
 * All modes run the same kernels on the same values, so their gradients are bitwise identical.
 * (RoPE is applied in place on the q/k projections, so 'recomputing RoPE' costs no memory either
 * way; attn_proj and ffn_out are only read by the residual add and are never kept.)
 *
 * Every buffer is a named view of ONE activation arena whose size activationBytes() reports.
 */
import { arenaBytes } from '../kernels/arena.js';
import { type Arena, type Backend, type F32, ropeTables } from '../kernels/backend.js';
import { type LlamaConfig, headDim, numel } from './config.js';
import type { ParamSet } from './params.js';

export type CheckpointMode = 'none' | 'selective' | 'full';

/** The buffers one layer's forward writes. Depending on the mode a field is the layer's own saved
 * tensor or a scratch tensor shared by all layers (then the backward recomputes it). */
interface LayerBuffers {
  x: F32;          // [N, dim]  the layer's input residual x_l (always saved)
  attnNorm: F32;   // [N, dim]
  attnRstd: F32;   // [N]
  q: F32;          // [N, nHeads*hd]   after RoPE
  k: F32;          // [N, nKvHeads*hd] after RoPE
  v: F32;          // [N, nKvHeads*hd]
  attnOut: F32;    // [N, nHeads*hd]
  attnLse: F32;    // [B, nHeads, T]
  h: F32;          // [N, dim]
  ffnNorm: F32;    // [N, dim]
  ffnRstd: F32;    // [N]
  gate: F32;       // [N, hidden]  W1 output
  up: F32;         // [N, hidden]  W3 output
  swiglu: F32;     // [N, hidden]
}

type LayerField = Exclude<keyof LayerBuffers, 'x'>;

/** Which per-layer intermediates each mode keeps (the rest live in one shared scratch). */
const SAVED: Record<CheckpointMode, ReadonlySet<LayerField>> = {
  none: new Set<LayerField>(['attnNorm', 'attnRstd', 'q', 'k', 'v', 'attnOut', 'attnLse', 'h', 'ffnNorm', 'ffnRstd', 'gate', 'up', 'swiglu']),
  selective: new Set<LayerField>(['attnRstd', 'q', 'k', 'v', 'attnOut', 'attnLse', 'h', 'ffnRstd', 'gate', 'up']),
  full: new Set<LayerField>(),
};

export interface Activations {
  readonly config: LlamaConfig;
  readonly backend: Backend;
  readonly arena: Arena;
  readonly B: number;
  readonly T: number;
  readonly mode: CheckpointMode;
  readonly tokens: Int32Array;   // [N] copied in (the backend's heap)
  readonly targets: Int32Array;  // [N]
  readonly ropeCos: F32;         // [T, hd/2]
  readonly ropeSin: F32;         // [T, hd/2]
  /** layers[l] are layer l's buffers; layers[nLayers].x is x_L, the input of the final norm. */
  readonly layers: readonly LayerBuffers[];
  readonly xFinal: F32;          // [N, dim]  = layers[nLayers].x
  readonly finalNorm: F32;       // [N, dim]
  readonly finalRstd: F32;       // [N]
  readonly losses: F32;          // [N] per-position loss (0 where target = -1)
  readonly ceLse: F32;           // [N] log-sum-exp of each row's logits
  /** scratch: attn_proj then ffn_out [N, dim] */
  readonly proj: F32;
  readonly grad: {
    dx: F32;       // [N, dim]  gradient of the residual stream
    dNorm: F32;    // [N, dim]  gradient of attn_norm / ffn_norm / final_norm
    dSwiglu: F32;  // [N, hidden]
    dGate: F32;    // [N, hidden]
    dUp: F32;      // [N, hidden]
    dAttnOut: F32; // [N, nHeads*hd]
    dqRope: F32;   // [N, nHeads*hd]
    dq: F32;       // [N, nHeads*hd]
    dkRope: F32;   // [N, nKvHeads*hd]
    dk: F32;       // [N, nKvHeads*hd]
    dv: F32;       // [N, nKvHeads*hd]
    dlosses: F32;  // [N]
  };
  /** Positions with a target (!= -1) in the last forward. */
  numTargets: number;
}

interface Spec { name: string; shape: number[]; kind: 'f32' | 'i32' }

function layerShapes(c: LlamaConfig, B: number, T: number): Record<LayerField, number[]> {
  const N = B * T, hd = headDim(c);
  return {
    attnNorm: [N, c.dim], attnRstd: [N],
    q: [N, c.nHeads * hd], k: [N, c.nKvHeads * hd], v: [N, c.nKvHeads * hd],
    attnOut: [N, c.nHeads * hd], attnLse: [B, c.nHeads, T],
    h: [N, c.dim], ffnNorm: [N, c.dim], ffnRstd: [N],
    gate: [N, c.hiddenDim], up: [N, c.hiddenDim], swiglu: [N, c.hiddenDim],
  };
}

/** llama.cpp-style names of the intermediates, for dumps and messages. */
const GGML_NAME: Record<LayerField, string> = {
  attnNorm: 'attn_norm', attnRstd: 'attn_norm_rstd', q: 'q_rope', k: 'k_rope', v: 'v', attnOut: 'attn_out',
  attnLse: 'attn_lse', h: 'h', ffnNorm: 'ffn_norm', ffnRstd: 'ffn_norm_rstd', gate: 'gate', up: 'up', swiglu: 'swiglu',
};

/** Every tensor of the activation arena, in allocation order (this list IS the memory report). */
export function activationSpecs(c: LlamaConfig, B: number, T: number, mode: CheckpointMode): Spec[] {
  checkBatch(c, B, T);
  if (!(mode in SAVED)) throw new Error(`activation checkpointing mode must be 'none', 'selective' or 'full', got '${mode}'`);
  const N = B * T, hd = headDim(c);
  const shapes = layerShapes(c, B, T);
  const f = (name: string, shape: number[]): Spec => ({ name, shape, kind: 'f32' });
  const specs: Spec[] = [
    { name: 'tokens', shape: [N], kind: 'i32' },
    { name: 'targets', shape: [N], kind: 'i32' },
    f('rope_cos', [T, hd / 2]), f('rope_sin', [T, hd / 2]),
  ];
  for (let l = 0; l <= c.nLayers; l++) {
    specs.push(f(`layers.${l}.x`, [N, c.dim]));
    if (l === c.nLayers) break;
    for (const k of Object.keys(shapes) as LayerField[]) if (SAVED[mode].has(k)) specs.push(f(`layers.${l}.${GGML_NAME[k]}`, shapes[k]));
  }
  // One layer's worth of scratch for what the mode does not keep. attn_norm and ffn_norm share
  // one buffer: each is consumed before the other is (re)computed.
  for (const k of Object.keys(shapes) as LayerField[]) {
    if (SAVED[mode].has(k) || k === 'ffnNorm') continue;
    specs.push(f(`scratch.${k === 'attnNorm' ? 'norm' : GGML_NAME[k]}`, shapes[k]));
  }
  specs.push(
    f('final_norm', [N, c.dim]), f('final_norm_rstd', [N]), f('losses', [N]), f('ce_lse', [N]),
    f('scratch.proj', [N, c.dim]),
    f('grad.dx', [N, c.dim]), f('grad.d_norm', [N, c.dim]),
    f('grad.d_swiglu', [N, c.hiddenDim]), f('grad.d_gate', [N, c.hiddenDim]), f('grad.d_up', [N, c.hiddenDim]),
    f('grad.d_attn_out', [N, c.nHeads * hd]), f('grad.d_q_rope', [N, c.nHeads * hd]), f('grad.d_q', [N, c.nHeads * hd]),
    f('grad.d_k_rope', [N, c.nKvHeads * hd]), f('grad.d_k', [N, c.nKvHeads * hd]), f('grad.d_v', [N, c.nKvHeads * hd]),
    f('grad.d_losses', [N]),
  );
  return specs;
}

/** Bytes of the activation arena for a batch of B sequences of T tokens in this mode (float32). */
export function activationBytes(c: LlamaConfig, B: number, T: number, mode: CheckpointMode): number {
  return arenaBytes(activationSpecs(c, B, T, mode).map((s) => ({ numel: numel(s.shape), bytesPerElement: 4 })));
}

/** Activation memory of every mode with the part kept across the step vs one layer's scratch. */
export function activationReport(c: LlamaConfig, B: number, T: number): Record<CheckpointMode, { bytes: number; savedPerLayer: number }> {
  const out = {} as Record<CheckpointMode, { bytes: number; savedPerLayer: number }>;
  for (const mode of ['none', 'selective', 'full'] as CheckpointMode[]) {
    const perLayer = activationSpecs(c, B, T, mode).filter((s) => s.name.startsWith('layers.0.'));
    out[mode] = {
      bytes: activationBytes(c, B, T, mode),
      savedPerLayer: arenaBytes(perLayer.map((s) => ({ numel: numel(s.shape), bytesPerElement: 4 }))),
    };
  }
  return out;
}

function checkBatch(c: LlamaConfig, B: number, T: number): void {
  if (!Number.isInteger(B) || B < 1) throw new Error(`batch size B must be a positive integer, got ${B}`);
  if (!Number.isInteger(T) || T < 1) throw new Error(`sequence length T must be a positive integer, got ${T}`);
  if (T > c.maxSeqLen) throw new Error(`sequence length T = ${T} exceeds the model's context maxSeqLen = ${c.maxSeqLen}`);
}

/** Allocates the activation arena for batches of B x T tokens (exactly activationBytes() bytes). */
export function createActivations(backend: Backend, c: LlamaConfig, B: number, T: number, mode: CheckpointMode = 'none'): Activations {
  const specs = activationSpecs(c, B, T, mode);
  const arena = backend.createArena(activationBytes(c, B, T, mode), `activations(${mode}, B=${B}, T=${T})`);
  const views = new Map<string, F32 | Int32Array>();
  for (const s of specs) views.set(s.name, s.kind === 'i32' ? arena.i32(s.name, s.shape) : arena.f32(s.name, s.shape));
  const v = (name: string) => views.get(name) as F32;

  const hd = headDim(c);
  const tables = ropeTables(hd, T, c.ropeTheta);
  const ropeCos = v('rope_cos'), ropeSin = v('rope_sin');
  ropeCos.set(tables.cos);
  ropeSin.set(tables.sin);

  const shapes = layerShapes(c, B, T);
  const layers: LayerBuffers[] = [];
  for (let l = 0; l <= c.nLayers; l++) {
    const buf = { x: v(`layers.${l}.x`) } as LayerBuffers;
    if (l < c.nLayers) {
      for (const k of Object.keys(shapes) as LayerField[]) {
        buf[k] = SAVED[mode].has(k) ? v(`layers.${l}.${GGML_NAME[k]}`)
          : v(`scratch.${k === 'attnNorm' || k === 'ffnNorm' ? 'norm' : GGML_NAME[k]}`);
      }
    }
    layers.push(buf);
  }
  return {
    config: c, backend, arena, B, T, mode,
    tokens: views.get('tokens') as Int32Array,
    targets: views.get('targets') as Int32Array,
    ropeCos, ropeSin, layers,
    xFinal: layers[c.nLayers].x,
    finalNorm: v('final_norm'), finalRstd: v('final_norm_rstd'), losses: v('losses'), ceLse: v('ce_lse'),
    proj: v('scratch.proj'),
    grad: {
      dx: v('grad.dx'), dNorm: v('grad.d_norm'),
      dSwiglu: v('grad.d_swiglu'), dGate: v('grad.d_gate'), dUp: v('grad.d_up'),
      dAttnOut: v('grad.d_attn_out'), dqRope: v('grad.d_q_rope'), dq: v('grad.d_q'),
      dkRope: v('grad.d_k_rope'), dk: v('grad.d_k'), dv: v('grad.d_v'),
      dlosses: v('grad.d_losses'),
    },
    numTargets: 0,
  };
}

function checkCompatible(op: string, params: ParamSet, acts: Activations, tokens: Int32Array, targets: Int32Array | null): void {
  if (params.backend !== acts.backend) throw new Error(`${op}: parameters and activations belong to different backends (${params.backend.name} vs ${acts.backend.name})`);
  const a = params.config, b = acts.config;
  for (const k of Object.keys(a) as (keyof LlamaConfig)[]) {
    if (a[k] !== b[k]) throw new Error(`${op}: parameters are for ${k} = ${a[k]} but activations were created for ${k} = ${b[k]}`);
  }
  const N = acts.B * acts.T;
  if (tokens.length !== N) throw new Error(`${op}: ${tokens.length} tokens given, activations hold B*T = ${acts.B}*${acts.T} = ${N}`);
  if (targets && targets.length !== N) throw new Error(`${op}: ${targets.length} targets given, need B*T = ${N}`);
}

/** One layer's forward from buf.x. With `toSwiglu` it stops after the SwiGLU product (the backward's
 * recompute needs nothing further); otherwise it writes x_{l+1} into `next`. */
function layerForward(params: ParamSet, acts: Activations, l: number, buf: LayerBuffers, next: F32 | null): void {
  const be = acts.backend, c = acts.config, p = params.layers[l];
  const { B, T } = acts;
  const N = B * T, C = c.dim, hd = headDim(c), qDim = c.nHeads * hd, kvDim = c.nKvHeads * hd;
  be.rmsnormForward(buf.attnNorm, buf.attnRstd, buf.x, p.attentionNorm, N, C, c.normEps);
  be.matmulForward(buf.q, buf.attnNorm, p.wq, N, C, qDim);
  be.matmulForward(buf.k, buf.attnNorm, p.wk, N, C, kvDim);
  be.matmulForward(buf.v, buf.attnNorm, p.wv, N, C, kvDim);
  be.ropeForward(buf.q, buf.q, acts.ropeCos, acts.ropeSin, B, T, c.nHeads, hd, 0);
  be.ropeForward(buf.k, buf.k, acts.ropeCos, acts.ropeSin, B, T, c.nKvHeads, hd, 0);
  be.attentionForward(buf.attnOut, buf.attnLse, buf.q, buf.k, buf.v, B, T, c.nHeads, c.nKvHeads, hd);
  be.matmulForward(acts.proj, buf.attnOut, p.wo, N, qDim, C);   // attn_proj
  be.add(buf.h, buf.x, acts.proj, N * C);
  be.rmsnormForward(buf.ffnNorm, buf.ffnRstd, buf.h, p.ffnNorm, N, C, c.normEps);
  be.matmulForward(buf.gate, buf.ffnNorm, p.w1, N, C, c.hiddenDim);
  be.matmulForward(buf.up, buf.ffnNorm, p.w3, N, C, c.hiddenDim);
  be.swigluForward(buf.swiglu, buf.gate, buf.up, N * c.hiddenDim);
  if (next === null) return;
  be.matmulForward(acts.proj, buf.swiglu, p.w2, N, c.hiddenDim, C); // ffn_out
  be.add(next, buf.h, acts.proj, N * C);
}

/**
 * The forward pass over tokens [B*T] (row b*T + t). With targets it returns the mean cross-entropy
 * over positions whose target is not -1 (0 when there are none) and keeps what backward needs;
 * with targets = null it stops at final_norm (acts.finalNorm, the hidden states) and returns NaN.
 */
export function forward(params: ParamSet, acts: Activations, tokens: Int32Array, targets: Int32Array | null): number {
  checkCompatible('forward', params, acts, tokens, targets);
  const be = acts.backend, c = acts.config;
  const N = acts.B * acts.T, C = c.dim;
  acts.tokens.set(tokens);
  be.embeddingForward(acts.layers[0].x, acts.tokens, params.tokEmbeddings, N, C, c.vocabSize);
  for (let l = 0; l < c.nLayers; l++) layerForward(params, acts, l, acts.layers[l], acts.layers[l + 1].x);
  be.rmsnormForward(acts.finalNorm, acts.finalRstd, acts.xFinal, params.norm, N, C, c.normEps);
  if (targets === null) { acts.numTargets = 0; return NaN; }
  acts.targets.set(targets);
  be.crossEntropyForward(acts.losses, acts.ceLse, acts.finalNorm, params.output, acts.targets, N, C, c.vocabSize);
  let count = 0, sum = 0;
  for (let n = 0; n < N; n++) {
    if (acts.targets[n] === -1) continue;
    count++;
    sum += acts.losses[n];
  }
  acts.numTargets = count;
  return count === 0 ? 0 : sum / count;
}

/**
 * The backward pass of the mean loss of the last forward(params, acts, tokens, targets): ACCUMULATES
 * (+=) dLoss/dparam into grads (zero them first for a fresh gradient; accumulation over
 * micro-batches sums the per-micro-batch mean losses' gradients). tokens and targets must be the
 * ones the forward saw.
 */
export function backward(params: ParamSet, grads: ParamSet, acts: Activations, tokens: Int32Array, targets: Int32Array): void {
  checkCompatible('backward', params, acts, tokens, targets);
  if (grads.backend !== params.backend || JSON.stringify(grads.config) !== JSON.stringify(params.config)) {
    throw new Error('backward: the gradient set has another config or backend than the parameters');
  }
  const N = acts.B * acts.T;
  for (let n = 0; n < N; n++) {
    if (acts.tokens[n] !== tokens[n] || acts.targets[n] !== targets[n]) {
      throw new Error(`backward: tokens/targets differ from the last forward's at position ${n}; run forward on this batch first`);
    }
  }
  const be = acts.backend, c = acts.config, g = acts.grad;
  const { B, T } = acts;
  const C = c.dim, hd = headDim(c), qDim = c.nHeads * hd, kvDim = c.nKvHeads * hd, Hf = c.hiddenDim;
  if (acts.numTargets === 0) return; // a fully masked batch has loss 0 and no gradient

  // loss = (1/count) sum_n losses[n]
  const inv = 1 / acts.numTargets;
  for (let n = 0; n < N; n++) g.dlosses[n] = acts.targets[n] === -1 ? 0 : inv;
  g.dNorm.fill(0);
  be.crossEntropyBackward(g.dNorm, grads.output, g.dlosses, acts.finalNorm, params.output, acts.targets, acts.ceLse, N, C, c.vocabSize);
  g.dx.fill(0);
  be.rmsnormBackward(g.dx, grads.norm, g.dNorm, acts.xFinal, params.norm, acts.finalRstd, N, C);

  for (let l = c.nLayers - 1; l >= 0; l--) {
    const buf = acts.layers[l], p = params.layers[l], dp = grads.layers[l];
    const keeps = SAVED[acts.mode];
    // ---- recompute what this mode did not keep
    if (acts.mode === 'full') {
      layerForward(params, acts, l, buf, null); // leaves ffn_norm in the shared norm scratch
    } else if (acts.mode === 'selective') {
      be.swigluForward(buf.swiglu, buf.gate, buf.up, N * Hf);
      be.rmsnormForward(buf.ffnNorm, buf.ffnRstd, buf.h, p.ffnNorm, N, C, c.normEps);
    }

    // ---- feed-forward: x_{l+1} = h + W2 (silu(W1 n) * W3 n), n = ffn_norm(h); g.dx holds dL/dx_{l+1}
    g.dSwiglu.fill(0);
    be.matmulBackward(g.dSwiglu, dp.w2, g.dx, buf.swiglu, p.w2, N, Hf, C);
    g.dGate.fill(0);
    g.dUp.fill(0);
    be.swigluBackward(g.dGate, g.dUp, g.dSwiglu, buf.gate, buf.up, N * Hf);
    g.dNorm.fill(0);
    be.matmulBackward(g.dNorm, dp.w1, g.dGate, buf.ffnNorm, p.w1, N, C, Hf);
    be.matmulBackward(g.dNorm, dp.w3, g.dUp, buf.ffnNorm, p.w3, N, C, Hf);
    be.rmsnormBackward(g.dx, dp.ffnNorm, g.dNorm, buf.h, p.ffnNorm, buf.ffnRstd, N, C); // g.dx is now dL/dh

    // ---- attention: h = x + Wo attn(RoPE(Wq a), RoPE(Wk a), Wv a), a = attn_norm(x)
    g.dAttnOut.fill(0);
    be.matmulBackward(g.dAttnOut, dp.wo, g.dx, buf.attnOut, p.wo, N, qDim, C);
    g.dqRope.fill(0);
    g.dkRope.fill(0);
    g.dv.fill(0);
    be.attentionBackward(g.dqRope, g.dkRope, g.dv, g.dAttnOut, buf.q, buf.k, buf.v, buf.attnOut, buf.attnLse,
      B, T, c.nHeads, c.nKvHeads, hd);
    g.dq.fill(0);
    g.dk.fill(0);
    be.ropeBackward(g.dq, g.dqRope, acts.ropeCos, acts.ropeSin, B, T, c.nHeads, hd, 0);
    be.ropeBackward(g.dk, g.dkRope, acts.ropeCos, acts.ropeSin, B, T, c.nKvHeads, hd, 0);
    // attn_norm shares its scratch with ffn_norm when not kept: recompute it now
    if (!keeps.has('attnNorm')) be.rmsnormForward(buf.attnNorm, buf.attnRstd, buf.x, p.attentionNorm, N, C, c.normEps);
    g.dNorm.fill(0);
    be.matmulBackward(g.dNorm, dp.wq, g.dq, buf.attnNorm, p.wq, N, C, qDim);
    be.matmulBackward(g.dNorm, dp.wk, g.dk, buf.attnNorm, p.wk, N, C, kvDim);
    be.matmulBackward(g.dNorm, dp.wv, g.dv, buf.attnNorm, p.wv, N, C, kvDim);
    be.rmsnormBackward(g.dx, dp.attentionNorm, g.dNorm, buf.x, p.attentionNorm, buf.attnRstd, N, C); // g.dx is now dL/dx_l
  }
  be.embeddingBackward(grads.tokEmbeddings, g.dx, acts.tokens, N, C);
}
