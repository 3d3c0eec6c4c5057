/**
 * Meta's released checkpoints: params.json + consolidated.NN.pth, one file per model-parallel
 * rank, each a torch.save zip (data.pkl + data/<key> storages). Shards are merged as fairscale
 * split them: column-parallel weights (wq, wk, wv, w1, w3, output) on dim 0, row-parallel ones
 * (wo, w2) and LLaMA-1/2's ParallelEmbedding (tok_embeddings) on dim 1, norms replicated. The
 * split dimension is recognised from the shard shapes, so Llama-3's vocab-parallel embedding
 * (dim 0) merges too.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeConfig, paramSpecs, swigluHiddenDim, type LlamaConfig } from '../model/config.js';
import { validateTensors, type Checkpoint, type TensorEntry } from './checkpoint.js';
import { RandomAccessFile, writeAtomically } from './file-io.js';
import { readZipEntries, ZipWriter, type ZipEntry } from './zip.js';
import { pickleStateDict, unpickle, type TensorRef, type TensorToPickle } from './pickle.js';
import { tensorBytes, type DType } from './dtype.js';
import { convertBytes } from './codec.js';
import { writeJson } from './hf.js';

const STORAGE_DTYPE: Record<string, DType> = { FloatStorage: 'f32', HalfStorage: 'f16', BFloat16Storage: 'bf16' };
const DTYPE_STORAGE: Partial<Record<DType, TensorToPickle['storageType']>> = { f32: 'FloatStorage', f16: 'HalfStorage', bf16: 'BFloat16Storage' };
const ELEM_BYTES: Record<string, number> = { f32: 4, f16: 2, bf16: 2 };
const IGNORED = new Set(['rope.freqs']);

interface ShardTensor { dtype: DType; shape: number[]; read(dst?: Uint8Array): Uint8Array; source: string; byteLength: number }

/** Opens one consolidated.NN.pth and lists its tensors (lazily readable). */
export function openPth(path: string): { file: RandomAccessFile; tensors: Map<string, ShardTensor> } {
  const file = new RandomAccessFile(path);
  try {
    const entries = readZipEntries(file);
    const pkl = [...entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
    if (!pkl) throw new Error(`${path}: no data.pkl in the zip — not a torch.save checkpoint (legacy non-zip .pth files are not supported)`);
    const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
    const pe = entries.get(pkl)!;
    const root = unpickle(file.read(pe.dataOffset, pe.size, 'data.pkl'), `${path} data.pkl`);
    if (!(root instanceof Map)) throw new Error(`${path}: data.pkl does not hold a dict of tensors`);
    const tensors = new Map<string, ShardTensor>();
    for (const [name, v] of root as Map<unknown, unknown>) {
      const t = v as TensorRef;
      if (typeof name !== 'string' || t?.kind !== 'tensor') throw new Error(`${path}: entry '${String(name)}' of data.pkl is not a tensor`);
      if (IGNORED.has(name)) continue;
      const dtype = STORAGE_DTYPE[t.storage.storageType];
      if (!dtype) throw new Error(`${path}: tensor '${name}' is a ${t.storage.storageType}; llama-ts reads Float, Half and BFloat16 storages`);
      const entryName = `${prefix}data/${t.storage.key}`;
      const se = entries.get(entryName);
      if (!se) throw new Error(`${path}: tensor '${name}' needs storage '${entryName}', which is not in the zip`);
      tensors.set(name, shardTensor(file, name, t, dtype, se));
    }
    return { file, tensors };
  } catch (e) {
    file.close();
    throw e;
  }
}

function shardTensor(file: RandomAccessFile, name: string, t: TensorRef, dtype: DType, se: ZipEntry): ShardTensor {
  const eb = ELEM_BYTES[dtype];
  const shape = t.shape.map(Number);
  const stride = t.stride.map(Number);
  const numel = shape.reduce((a, b) => a * b, 1);
  const byteLength = numel * eb;
  // the furthest element the view reaches must lie inside the storage
  let last = t.storageOffset;
  shape.forEach((d, i) => { if (d > 0) last += (d - 1) * stride[i]; });
  if (numel > 0 && (last + 1) * eb > se.size) {
    throw new Error(`${file.path}: tensor '${name}' [${shape.join(', ')}] reaches element ${last} of its storage, which has ${se.size / eb}`);
  }
  let contiguous = true;
  for (let i = shape.length - 1, s = 1; i >= 0; i--) { if (shape[i] !== 1 && stride[i] !== s) contiguous = false; s *= shape[i]; }
  const source = `${file.path} tensor '${name}' (storage at byte ${se.dataOffset})`;
  const read = (dst?: Uint8Array): Uint8Array => {
    const out = dst ?? new Uint8Array(byteLength);
    if (contiguous) return file.readInto(out, se.dataOffset + t.storageOffset * eb, `tensor '${name}'`);
    // strided view (rare in checkpoints): read the storage span, gather element by element
    const span = file.read(se.dataOffset, se.size, `storage of tensor '${name}'`);
    const idx = new Array(shape.length).fill(0);
    for (let n = 0; n < numel; n++) {
      let off = t.storageOffset;
      for (let i = 0; i < shape.length; i++) off += idx[i] * stride[i];
      out.set(span.subarray(off * eb, off * eb + eb), n * eb);
      for (let i = shape.length - 1; i >= 0; i--) { if (++idx[i] < shape[i]) break; idx[i] = 0; }
    }
    return out;
  };
  return { dtype, shape, read, source, byteLength };
}

interface ParamsJson {
  dim?: number; n_layers?: number; n_heads?: number; n_kv_heads?: number | null; vocab_size?: number;
  multiple_of?: number; ffn_dim_multiplier?: number | null; norm_eps?: number; rope_theta?: number; max_seq_len?: number; hidden_dim?: number;
}

export function isMetaDir(dir: string): boolean {
  return existsSync(join(dir, 'params.json'));
}

/** consolidated.00.pth ... consolidated.NN.pth, checked to be complete. */
function shardPaths(dir: string): string[] {
  const names = readdirSync(dir).filter((f) => /^consolidated\.\d+\.pth$/.test(f)).sort();
  if (names.length === 0) throw new Error(`${dir}: no consolidated.NN.pth files next to params.json`);
  names.forEach((n, i) => {
    const k = Number(n.split('.')[1]);
    if (k !== i) throw new Error(`${dir}: model-parallel shard consolidated.${String(i).padStart(2, '0')}.pth is missing (found ${names.join(', ')})`);
  });
  return names.map((n) => join(dir, n));
}

export function openMetaCheckpoint(dir: string): Checkpoint {
  const pp = join(dir, 'params.json');
  let params: ParamsJson;
  try { params = JSON.parse(readFileSync(pp, 'utf8')); } catch (e) { throw new Error(`${pp}: ${(e as Error).message}`); }
  const paths = shardPaths(dir);
  const shards: ReturnType<typeof openPth>[] = [];
  try {
    for (const p of paths) shards.push(openPth(p));
    if ((params as { use_scaled_rope?: boolean }).use_scaled_rope) {
      throw new Error(`${pp}: use_scaled_rope (Llama 3.1's RoPE frequency scaling) is not supported; only plain RoPE is`);
    }
    for (const k of ['dim', 'n_layers', 'n_heads'] as const) {
      if (typeof params[k] !== 'number') throw new Error(`${pp}: field '${k}' is missing or not a number`);
    }
    const first = shards[0].tensors;
    const outW = first.get('output.weight');
    if (!outW) throw new Error(`${paths[0]}: tensor 'output.weight' is missing`);
    // vocab_size is -1 in LLaMA-1's params.json: the output projection (split on dim 0) tells it
    const vocabSize = params.vocab_size && params.vocab_size > 0 ? params.vocab_size : outW.shape[0] * shards.length;
    const config: LlamaConfig = makeConfig({
      dim: params.dim!, nLayers: params.n_layers!, nHeads: params.n_heads!, nKvHeads: params.n_kv_heads ?? params.n_heads,
      vocabSize, multipleOf: params.multiple_of ?? 256, ffnDimMultiplier: params.ffn_dim_multiplier ?? 1,
      // the SwiGLU width follows from multiple_of as in Meta's model.py (hidden_dim: written by llama-ts when none fits);
      // validateTensors then checks w1/w2/w3 against it
      hiddenDim: params.hidden_dim,
      normEps: params.norm_eps ?? 1e-5, ropeTheta: params.rope_theta ?? 10000, maxSeqLen: params.max_seq_len ?? 2048,
    });
    const tensors = new Map<string, TensorEntry>();
    for (const spec of paramSpecs(config)) {
      const parts = shards.map((s, i) => {
        const t = s.tensors.get(spec.name);
        if (!t) throw new Error(`${paths[i]}: missing tensor '${spec.name}'`);
        return t;
      });
      tensors.set(spec.name, mergeShards(spec.name, spec.shape, parts));
    }
    for (const [i, s] of shards.entries()) {
      for (const n of s.tensors.keys()) if (!tensors.has(n)) throw new Error(`${paths[i]}: unexpected tensor '${n}' for a LLaMA model with ${config.nLayers} layers`);
    }
    validateTensors(config, tensors, dir);
    const tok = [join(dir, 'tokenizer.model'), join(dirname(dir), 'tokenizer.model')].find((p) => existsSync(p));
    return {
      format: 'meta', path: dir, config, tensors, tokenizer: tok ? { modelFile: tok } : {},
      close: () => shards.forEach((s) => s.file.close()),
    };
  } catch (e) {
    shards.forEach((s) => s.file.close());
    throw e;
  }
}

function mergeShards(name: string, full: number[], parts: ShardTensor[]): TensorEntry {
  const dtype = parts[0].dtype;
  const n = parts.length;
  const srcs = parts.map((p) => p.source).join(', ');
  if (parts.some((p) => p.dtype !== dtype)) throw new Error(`tensor '${name}' has different dtypes across shards (${srcs})`);
  const entry = (read: (dst?: Uint8Array) => Uint8Array, shape: number[]): TensorEntry =>
    ({ name, shape, dtype, byteLength: tensorBytes(dtype, shape), source: n === 1 ? parts[0].source : `${n} shards: ${srcs}`, read });
  if (n === 1 || full.length === 1) return entry(parts[0].read, parts[0].shape);
  const [r, c] = parts[0].shape;
  if (parts.some((p) => p.shape.length !== 2 || p.shape[0] !== r || p.shape[1] !== c)) {
    throw new Error(`tensor '${name}' has different shapes across shards: ${parts.map((p) => `[${p.shape.join(', ')}]`).join(' ')}`);
  }
  const eb = ELEM_BYTES[dtype];
  if (r * n === full[0] && c === full[1]) {
    // split on dim 0: the shards' rows follow each other
    return entry((dst) => {
      const out = dst ?? new Uint8Array(r * n * c * eb);
      parts.forEach((p, i) => p.read(out.subarray(i * r * c * eb, (i + 1) * r * c * eb)));
      return out;
    }, [r * n, c]);
  }
  if (r === full[0] && c * n === full[1]) {
    // split on dim 1: each full row is the concatenation of the shards' rows
    return entry((dst) => {
      const out = dst ?? new Uint8Array(r * c * n * eb);
      parts.forEach((p, i) => {
        const part = p.read();
        for (let row = 0; row < r; row++) out.set(part.subarray(row * c * eb, (row + 1) * c * eb), (row * n + i) * c * eb);
      });
      return out;
    }, [r, c * n]);
  }
  throw new Error(`tensor '${name}': ${n} shards of [${r}, ${c}] do not make the expected [${full.join(', ')}] along either dimension (${srcs})`);
}

/** The dimension Meta's model-parallel layers split a tensor on (LLaMA-1/2 layout); -1 = replicated. */
export function metaSplitDim(name: string): number {
  if (/(norm)\.weight$/.test(name)) return -1;
  if (/(wo|w2)\.weight$/.test(name) || name === 'tok_embeddings.weight') return 1;
  return 0;
}

export interface MetaSaveOptions {
  /** f32 | f16 | bf16; default: keep the source type when it is one of those, else f32 */
  type?: DType;
  /** model-parallel shards to write (Meta's: 1 for 7B, 2 for 13B, 4 for 33B, 8 for 65B) */
  shards?: number;
  tokenizerModel?: Uint8Array;
  onTensor?: (i: number, n: number, name: string) => void;
  /** write zip64 records even when not needed (tests the >4 GiB layout on small files) */
  forceZip64?: boolean;
}

/** Writes params.json and consolidated.NN.pth files that torch.load reads. */
export function saveMetaCheckpoint(ckpt: Checkpoint, dir: string, opts: MetaSaveOptions = {}): void {
  const c = ckpt.config;
  const nShards = opts.shards ?? 1;
  mkdirSync(dir, { recursive: true });
  const specs = paramSpecs(c);
  for (let s = 0; s < nShards; s++) {
    const name = join(dir, `consolidated.${String(s).padStart(2, '0')}.pth`);
    writeAtomically(name, (w) => {
      const zip = new ZipWriter(w, 64, opts.forceZip64);
      const dtypes = specs.map((spec) => {
        const t = ckpt.tensors.get(spec.name)!;
        const want = opts.type ?? t.dtype;
        return want === 'f32' || want === 'f16' || want === 'bf16' ? want : opts.type ? bad(want) : 'f32';
      });
      const items: TensorToPickle[] = specs.map((spec, i) => ({
        name: spec.name, storageType: DTYPE_STORAGE[dtypes[i]]!, key: String(i), shape: shardShape(spec.name, spec.shape, nShards),
      }));
      // data.pkl first (as torch writes it), then the storages one at a time, then the format version
      zip.add('consolidated/data.pkl', pickleStateDict(items));
      items.forEach((it, i) => {
        const t = ckpt.tensors.get(it.name)!;
        const all = convertBytes(t.dtype, dtypes[i], t.read(), t.shape);
        zip.add(`consolidated/data/${it.key}`, shardSlice(it.name, all, t.shape, ELEM_BYTES[dtypes[i]], s, nShards));
        opts.onTensor?.(s * items.length + i, nShards * items.length, it.name);
      });
      zip.add('consolidated/version', new TextEncoder().encode('3\n'));
      zip.finish();
    });
  }
  const m = [256, 128, 64, 32, 16, 8, 4, 2, 1].find((k) => swigluHiddenDim(c.dim, k) === c.hiddenDim);
  writeJson(join(dir, 'params.json'), {
    dim: c.dim, n_layers: c.nLayers, n_heads: c.nHeads, n_kv_heads: c.nKvHeads, vocab_size: c.vocabSize,
    // Meta's model.py derives the SwiGLU width from multiple_of; hidden_dim is read by llama-ts when none fits
    multiple_of: m ?? 256, ffn_dim_multiplier: null, ...(m ? {} : { hidden_dim: c.hiddenDim }), norm_eps: c.normEps, rope_theta: c.ropeTheta,
    max_seq_len: c.maxSeqLen,
  });
  if (opts.tokenizerModel) writeAtomically(join(dir, 'tokenizer.model'), (w) => w.write(opts.tokenizerModel!));
  else if (ckpt.tokenizer.modelFile) copyFileSync(ckpt.tokenizer.modelFile, join(dir, 'tokenizer.model'));
}

const bad = (t: string): never => { throw new Error(`Meta checkpoints hold f32, f16 or bf16, not ${t}`); };

function shardShape(name: string, shape: readonly number[], n: number): number[] {
  const dim = metaSplitDim(name);
  if (n === 1 || dim < 0) return [...shape];
  if (shape[dim] % n !== 0) throw new Error(`cannot split '${name}' [${shape.join(', ')}] into ${n} shards on dim ${dim}`);
  return shape.map((d, i) => (i === dim ? d / n : d));
}

function shardSlice(name: string, all: Uint8Array, shape: readonly number[], eb: number, s: number, n: number): Uint8Array {
  const dim = metaSplitDim(name);
  if (n === 1 || dim < 0) return all;
  const [r, c] = shape;
  if (dim === 0) {
    const rr = r / n;
    return all.subarray(s * rr * c * eb, (s + 1) * rr * c * eb);
  }
  const cc = c / n;
  const out = new Uint8Array(r * cc * eb);
  for (let row = 0; row < r; row++) out.set(all.subarray((row * c + s * cc) * eb, (row * c + (s + 1) * cc) * eb), row * cc * eb);
  return out;
}
