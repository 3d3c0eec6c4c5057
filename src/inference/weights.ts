/**
 * A checkpoint's weights placed in the backend's memory for inference, kept in their stored type
 * (f32, f16, q8_0, q4_0, q4_k, q5_k, q6_k) for matmulWeight, f32 matrices rearranged by the
 * backend's prepareWeight; bf16 is widened to f32 (no kernel reads bf16) and 1-D
 * norms are f32. Layers are placed in groups of at most ~1 GiB, each group in one arena with the
 * activations of one prefill chunk and the RoPE tables shared by its layers, so a model larger
 * than one 4 GiB WebAssembly memory spans several memories: the small residual stream is copied
 * into the next group's arena as the forward reaches it. */
import { headDim, kvDim, type LlamaConfig } from '../model/config.js';
import { ropeTables, type Arena, type Backend, type F32, type Weight, type WeightType } from '../kernels/backend.js';
import { arenaBytes } from '../kernels/arena.js';
import { dequantizeRow } from '../kernels/quant.js';
import { dequantizeRowK } from '../kernels/quant-k.js';
import type { Checkpoint, TensorEntry } from '../formats/index.js';
import { asF32, asU16, decodeToF32 } from '../formats/codec.js';
import { tensorBytes } from '../formats/dtype.js';

/** Activations of one layer for up to `chunk` rows (tokens) at a time (shared by the layers of a group). */
export interface LayerScratch {
  x: F32;     // [chunk, dim] residual stream
  xb: F32;    // [chunk, dim] normed input
  rstd: F32;  // [chunk]
  q: F32;     // [chunk, dim]
  k: F32;     // [chunk, kvDim]
  v: F32;     // [chunk, kvDim]
  att: F32;   // [chunk, dim] attention output (before wo)
  proj: F32;  // [chunk, dim] wo / w2 output
  h1: F32;    // [chunk, hidden] x W1^T
  h3: F32;    // [chunk, hidden] x W3^T
  hs: F32;    // [chunk, hidden] silu(h1) * h3
  qkv: F32;   // [chunk, dim + 2 kvDim] output of the fused q/k/v projection
  h13: F32;   // [chunk, 2 hidden] output of the fused w1/w3 projection
}

/**
 * One layer's weights. When wq, wk, wv share a storage type they are stored as one matrix wqkv
 * (rows stacked: one matmul, one pass over the input, one kernel dispatch instead of three), and
 * likewise w1/w3 as w13; otherwise the separate matrices are kept.
 */
export interface LayerWeights {
  arena: Arena;
  attnNorm: F32; wo: Weight; ffnNorm: F32; w2: Weight;
  qkv: { fused: Weight } | { wq: Weight; wk: Weight; wv: Weight };
  gateUp: { fused: Weight } | { w1: Weight; w3: Weight };
  cos: F32; sin: F32; // [positions, headDim/2]
  s: LayerScratch;
}

export interface HeadWeights {
  arena: Arena;
  norm: F32;
  output: Weight;
  x: F32; xb: F32; rstd: F32; // [chunk, dim], [chunk]
  logits: F32;                // [chunk, vocab]
}

/** The token embedding stays outside the backend's memory: only looked up, a few rows at a time. */
export interface EmbeddingTable {
  /** the stored type (a K-quant stays one: rows are decoded as they are looked up) */
  type: WeightType;
  data: Float32Array | Uint16Array | Uint8Array;
  rows: number;
  cols: number;
}

export interface ModelWeights {
  config: LlamaConfig;
  chunk: number;
  embedding: EmbeddingTable;
  layers: LayerWeights[];
  head: HeadWeights;
  /** summary like "q8_0 (norms f32)" */
  typeSummary: string;
  bytes: number;
}

/** Bytes of layers placed in one arena (with their shared activations and RoPE tables). */
const GROUP_BYTES = 1 << 30;

/**
 * Rows per prefill chunk: 128 (the integer and float gemms run at full speed from there), bounded
 * so a group's activations stay within 64 MiB (128 rows up to the 7B shape, 83 for 65B).
 */
export function prefillChunk(c: LlamaConfig, requested?: number): number {
  // the LayerScratch buffers for one row (see scratch())
  const rowBytes = 4 * (7 * c.dim + 4 * kvDim(c) + 5 * c.hiddenDim + 1);
  const fit = Math.floor((64 << 20) / rowBytes);
  return Math.max(8, Math.min(requested ?? 128, fit, c.maxSeqLen));
}

/** The type a tensor is kept in for the kernels: its own, but bf16 (no kernel reads it) widened to f32. */
const weightType = (e: TensorEntry): WeightType => (e.dtype === 'bf16' ? 'f32' : e.dtype);

/** A tensor's bytes in weightType(e), into dst. */
function readAsWeight(e: TensorEntry, dst: Uint8Array): void {
  if (e.dtype === 'bf16') dst.set(new Uint8Array(decodeToF32('bf16', e.read(), e.shape).buffer));
  else e.read(dst); // straight from the file into the backend's memory: no intermediate copy
}

function weightBytes(e: TensorEntry): number {
  return tensorBytes(weightType(e), e.shape);
}

/** Reads a 2-D tensor into the arena in a type matmulWeight reads. */
function loadWeight(arena: Arena, e: TensorEntry): Weight {
  const [rows, cols] = e.shape;
  const type = weightType(e);
  let data: Float32Array | Uint16Array | Uint8Array;
  if (type === 'f32') data = arena.f32(e.name, [rows, cols]);
  else if (type === 'f16') data = arena.u16(e.name, [rows, cols]);
  else data = arena.u8(e.name, weightBytes(e));
  readAsWeight(e, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { type, rows, cols, data };
}

/** Several [rows_i, cols] tensors of one stored type as one [sum rows_i, cols] weight (rows stacked). */
function loadStacked(arena: Arena, parts: TensorEntry[], name: string): Weight {
  const cols = parts[0].shape[1];
  const rows = parts.reduce((n, e) => n + e.shape[0], 0);
  const type = weightType(parts[0]);
  const bytes = parts.reduce((n, e) => n + weightBytes(e), 0);
  let data: Float32Array | Uint16Array | Uint8Array;
  if (type === 'f32') data = arena.f32(name, [rows, cols]);
  else if (type === 'f16') data = arena.u16(name, [rows, cols]);
  else data = arena.u8(name, bytes);
  const all = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  for (const e of parts) {
    const n = weightBytes(e);
    readAsWeight(e, all.subarray(off, off + n));
    off += n;
  }
  return { type, rows, cols, data };
}

const sameType = (es: TensorEntry[]) => es.every((e) => weightType(e) === weightType(es[0]));

function loadNorm(arena: Arena, e: TensorEntry): F32 {
  const dst = arena.f32(e.name, e.shape);
  dst.set(decodeToF32(e.dtype, e.read(), e.shape));
  return dst;
}

function scratch(arena: Arena, c: LlamaConfig, chunk: number, tag: string): LayerScratch {
  const f = (n: string, shape: number[]) => arena.f32(`${tag}.${n}`, shape);
  return {
    x: f('x', [chunk, c.dim]), xb: f('xb', [chunk, c.dim]), rstd: f('rstd', [chunk]),
    q: f('q', [chunk, c.dim]), k: f('k', [chunk, kvDim(c)]), v: f('v', [chunk, kvDim(c)]),
    att: f('att', [chunk, c.dim]), proj: f('proj', [chunk, c.dim]),
    h1: f('h1', [chunk, c.hiddenDim]), h3: f('h3', [chunk, c.hiddenDim]), hs: f('hs', [chunk, c.hiddenDim]),
    qkv: f('qkv', [chunk, c.dim + 2 * kvDim(c)]), h13: f('h13', [chunk, 2 * c.hiddenDim]),
  };
}

export interface LoadWeightsOptions {
  chunk?: number;
  /** positions the RoPE tables cover (the context length; default the model's maximum) */
  positions?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** The weights in the backend's memory; on a failure (a corrupt tensor, out of memory) what was placed is released. */
export function loadWeights(ckpt: Checkpoint, backend: Backend, opts: LoadWeightsOptions = {}): ModelWeights {
  const arenas: Arena[] = [];
  const newArena = (bytes: number, label: string) => { const a = backend.createArena(bytes, label); arenas.push(a); return a; };
  try {
    return placeWeights(ckpt, newArena, (w) => backend.prepareWeight(w), opts);
  } catch (e) {
    for (const a of arenas.reverse()) a.release();
    throw e;
  }
}

function placeWeights(ckpt: Checkpoint, newArena: (bytes: number, label: string) => Arena, prepare: (w: Weight) => Weight,
  opts: LoadWeightsOptions): ModelWeights {
  const c = ckpt.config;
  const chunk = prefillChunk(c, opts.chunk);
  const t = (name: string) => ckpt.tensors.get(name)!;
  const hd = headDim(c);
  const positions = opts.positions ?? c.maxSeqLen;
  const { cos, sin } = ropeTables(hd, positions, c.ropeTheta);
  const f32 = (numel: number) => ({ numel, bytesPerElement: 4 });
  const raw = (bytes: number) => ({ numel: bytes, bytesPerElement: 1 });
  const total = c.nLayers + 2;
  let totalBytes = 0;

  // embedding: in JS memory, stored type (bf16 widened)
  const emb = t('tok_embeddings.weight');
  const embType = emb.dtype === 'bf16' ? 'f32' : emb.dtype;
  const embBytes = emb.dtype === 'bf16' ? new Uint8Array(decodeToF32('bf16', emb.read(), emb.shape).buffer) : emb.read();
  const embedding: EmbeddingTable = {
    type: embType, rows: emb.shape[0], cols: emb.shape[1],
    data: embType === 'f32' ? asF32(embBytes) : embType === 'f16' ? asU16(embBytes) : embBytes,
  };
  totalBytes += embBytes.length;
  opts.onProgress?.(1, total, 'tok_embeddings');

  const layers: LayerWeights[] = [];
  const names = ['attention.wq', 'attention.wk', 'attention.wv', 'attention.wo', 'feed_forward.w1', 'feed_forward.w2', 'feed_forward.w3'];
  const layerSizes = (l: number) => [
    ...names.map((n) => raw(weightBytes(t(`layers.${l}.${n}.weight`)))), f32(c.dim), f32(c.dim),
  ];
  const sharedSizes = [
    f32(cos.length), f32(sin.length),
    f32(chunk * c.dim), f32(chunk * c.dim), f32(chunk), f32(chunk * c.dim), f32(chunk * kvDim(c)), f32(chunk * kvDim(c)),
    f32(chunk * c.dim), f32(chunk * c.dim), f32(chunk * c.hiddenDim), f32(chunk * c.hiddenDim), f32(chunk * c.hiddenDim),
    f32(chunk * (c.dim + 2 * kvDim(c))), f32(chunk * 2 * c.hiddenDim),
  ];
  for (let l0 = 0; l0 < c.nLayers;) {
    // as many layers as fit GROUP_BYTES (at least one)
    let sizes = [...sharedSizes, ...layerSizes(l0)];
    let l1 = l0 + 1;
    while (l1 < c.nLayers && arenaBytes([...sizes, ...layerSizes(l1)]) <= GROUP_BYTES) sizes = [...sizes, ...layerSizes(l1++)];
    const bytes = arenaBytes(sizes);
    totalBytes += bytes;
    const arena = newArena(bytes, `layers ${l0}-${l1 - 1}`);
    const lc = arena.f32(`layers.${l0}-${l1 - 1}.rope.cos`, [positions, hd / 2]); lc.set(cos);
    const ls = arena.f32(`layers.${l0}-${l1 - 1}.rope.sin`, [positions, hd / 2]); ls.set(sin);
    const s = scratch(arena, c, chunk, `layers.${l0}-${l1 - 1}.act`);
    for (let l = l0; l < l1; l++) {
      const p = `layers.${l}.`;
      const [eq, ek, ev, eo, e1, e2, e3] = names.map((n) => t(`${p}${n}.weight`));
      const one = (e: TensorEntry) => prepare(loadWeight(arena, e));
      const qkv = sameType([eq, ek, ev]) ? { fused: prepare(loadStacked(arena, [eq, ek, ev], `${p}attention.wqkv`)) }
        : { wq: one(eq), wk: one(ek), wv: one(ev) };
      const wo = one(eo);
      const gateUp = sameType([e1, e3]) ? { fused: prepare(loadStacked(arena, [e1, e3], `${p}feed_forward.w13`)) }
        : { w1: one(e1), w3: one(e3) };
      const w2 = one(e2);
      const attnNorm = loadNorm(arena, t(`${p}attention_norm.weight`));
      const ffnNorm = loadNorm(arena, t(`${p}ffn_norm.weight`));
      layers.push({ arena, attnNorm, qkv, wo, ffnNorm, gateUp, w2, cos: lc, sin: ls, s });
      opts.onProgress?.(l + 2, total, `layer ${l}`);
    }
    l0 = l1;
  }

  const out = t('output.weight');
  const headBytes = arenaBytes([raw(weightBytes(out)), f32(c.dim), f32(chunk * c.dim), f32(chunk * c.dim), f32(chunk), f32(chunk * c.vocabSize)]);
  totalBytes += headBytes;
  const harena = newArena(headBytes, 'head');
  const head: HeadWeights = {
    arena: harena,
    output: prepare(loadWeight(harena, out)),
    norm: loadNorm(harena, t('norm.weight')),
    x: harena.f32('head.x', [chunk, c.dim]), xb: harena.f32('head.xb', [chunk, c.dim]), rstd: harena.f32('head.rstd', [chunk]),
    logits: harena.f32('head.logits', [chunk, c.vocabSize]),
  };
  opts.onProgress?.(total, total, 'output');
  const types = new Set([embType, ...layers.flatMap((L) => [L.wo.type, L.w2.type]), head.output.type]);
  return { config: c, chunk, embedding, layers, head, typeSummary: [...types].join('+'), bytes: totalBytes };
}

/** out[i, :] = embedding row tokens[i] (dequantized), for i < n. */
export function embedRows(e: EmbeddingTable, tokens: readonly number[], out: F32): void {
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (!Number.isInteger(id) || id < 0 || id >= e.rows) {
      throw new Error(`token id ${id} at position ${i} is outside the vocabulary 0..${e.rows - 1}`);
    }
    const row = out.subarray(i * e.cols, (i + 1) * e.cols);
    if (e.type === 'q4_k' || e.type === 'q5_k' || e.type === 'q6_k') dequantizeRowK(e.type, e.data as Uint8Array, id, e.cols, row);
    else dequantizeRow(e.type, e.data, id, e.cols, row);
  }
}
