/**
 * A LLaMA parameter set: every tensor of paramSpecs(config) (Meta's names and shapes) carved, in
 * that order, out of ONE arena of a Backend — llm.c's single parameter buffer with named views.
 * The same layout holds gradients (createGrads); AdamW moments are the optimizer's.
 *
 * Initialisation (the paper does not state one; we follow GPT-2 and Karpathy's llama2.c, which
 * our small presets come from): every matrix, the token embedding included, ~ N(0, 0.02^2);
 * RMSNorm gains = 1. Optionally (default on, as llama2.c and GPT-2 do) the two projections that
 * write into the residual stream get std 0.02 / sqrt(2 * nLayers), so the residual's variance
 * does not grow with depth: with 2 such writes per layer, each of variance ~ sigma^2, the sum
 * stays ~ 0.02^2. In LLaMA those projections are attention.wo and feed_forward.w2 (GPT-2's
 * c_proj; llama2.c scales w3 instead of w2, which we take to be a slip: w2 is the one writing
 * into the residual).
 */
import type { Arena, Backend } from '../kernels/backend.js';
import { arenaBytes } from '../kernels/arena.js';
import { Rng } from '../util/rng.js';
import { type LlamaConfig, type ParamSpec, numel, paramSpecs, validateConfig } from './config.js';

/** The tensors of one transformer block (views into the set's arena). */
export interface LayerParams {
  attentionNorm: Float32Array; // [dim]
  wq: Float32Array;            // [nHeads*headDim, dim]
  wk: Float32Array;            // [nKvHeads*headDim, dim]
  wv: Float32Array;            // [nKvHeads*headDim, dim]
  wo: Float32Array;            // [dim, nHeads*headDim]
  ffnNorm: Float32Array;       // [dim]
  w1: Float32Array;            // [hiddenDim, dim]  gate
  w2: Float32Array;            // [dim, hiddenDim]  down
  w3: Float32Array;            // [hiddenDim, dim]  up
}

export interface ParamSet {
  readonly config: LlamaConfig;
  readonly backend: Backend;
  readonly arena: Arena;
  readonly specs: readonly ParamSpec[];
  /** Meta name -> view, in paramSpecs order. */
  readonly tensors: Map<string, Float32Array>;
  readonly tokEmbeddings: Float32Array; // [vocabSize, dim]
  readonly layers: readonly LayerParams[];
  readonly norm: Float32Array;          // [dim]
  readonly output: Float32Array;        // [vocabSize, dim]
  /** The tensor of this Meta name; throws listing close names when it does not exist. */
  get(name: string): Float32Array;
}

/** Bytes of the arena holding one parameter set of this config in float32 (alignment included). */
export function paramBytes(config: LlamaConfig): number {
  return arenaBytes(paramSpecs(config).map((s) => ({ numel: numel(s.shape), bytesPerElement: 4 })));
}

/** A zeroed parameter set in one new arena of `backend`. */
export function createParams(backend: Backend, config: LlamaConfig, label = 'params'): ParamSet {
  validateConfig(config);
  const specs = paramSpecs(config);
  const arena = backend.createArena(paramBytes(config), label);
  const tensors = new Map<string, Float32Array>();
  for (const s of specs) tensors.set(s.name, arena.f32(s.name, s.shape));
  const get = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t) {
      const stem = name.split('.').slice(-2).join('.');
      const near = specs.filter((s) => s.name.endsWith(stem)).slice(0, 3).map((s) => s.name);
      throw new Error(`${label}: no tensor named '${name}' in this ${config.nLayers}-layer model` +
        (near.length ? ` (did you mean ${near.join(', ')}?)` : ''));
    }
    return t;
  };
  const layers: LayerParams[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const p = `layers.${l}.`;
    layers.push({
      attentionNorm: get(p + 'attention_norm.weight'),
      wq: get(p + 'attention.wq.weight'),
      wk: get(p + 'attention.wk.weight'),
      wv: get(p + 'attention.wv.weight'),
      wo: get(p + 'attention.wo.weight'),
      ffnNorm: get(p + 'ffn_norm.weight'),
      w1: get(p + 'feed_forward.w1.weight'),
      w2: get(p + 'feed_forward.w2.weight'),
      w3: get(p + 'feed_forward.w3.weight'),
    });
  }
  return {
    config, backend, arena, specs, tensors, get, layers,
    tokEmbeddings: get('tok_embeddings.weight'),
    norm: get('norm.weight'),
    output: get('output.weight'),
  };
}

/** A zeroed gradient set with the parameters' layout (backward accumulates into it). */
export function createGrads(backend: Backend, config: LlamaConfig): ParamSet {
  return createParams(backend, config, 'grads');
}

/** Sets every tensor of the set to 0 (gradients before a new accumulation). */
export function zeroParams(set: ParamSet): void {
  for (const t of set.tensors.values()) t.fill(0);
}

export interface InitOptions {
  /** Standard deviation of the matrices (0.02, GPT-2 / llama2.c). */
  std?: number;
  /** Scale wo and w2 by 1/sqrt(2 nLayers) (default true; see the header comment). */
  scaledResidualInit?: boolean;
}

/**
 * Fills the set deterministically from `seed`: tensors in paramSpecs order, each from one stream,
 * so the same seed gives the same model on every backend and thread count.
 */
export function initParams(params: ParamSet, seed: number, opts: InitOptions = {}): void {
  const std = opts.std ?? 0.02;
  const scaled = opts.scaledResidualInit ?? true;
  if (!(std > 0)) throw new Error(`initParams: std must be > 0, got ${std}`);
  const rng = new Rng(seed);
  const residualStd = std / Math.sqrt(2 * params.config.nLayers);
  for (const s of params.specs) {
    const t = params.tensors.get(s.name)!;
    if (s.name.endsWith('norm.weight')) { t.fill(1); continue; }
    const isResidualProj = s.name.endsWith('attention.wo.weight') || s.name.endsWith('feed_forward.w2.weight');
    // Round through float32 so the float64 reference path starts from the very same weights.
    const sd = scaled && isResidualProj ? residualStd : std;
    for (let i = 0; i < t.length; i++) t[i] = Math.fround(sd * rng.normal());
  }
}

/** Copies every tensor of `src` into `dst` (same config; e.g. float32 weights into a float64 set). */
export function copyParams(dst: ParamSet, src: ParamSet): void {
  for (const s of dst.specs) {
    const a = src.tensors.get(s.name);
    if (!a || a.length !== dst.tensors.get(s.name)!.length) {
      throw new Error(`copyParams: tensor '${s.name}' is missing or of another size in the source (configs differ?)`);
    }
    dst.tensors.get(s.name)!.set(a);
  }
}
