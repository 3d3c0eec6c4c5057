/**
 * Hugging Face transformers' LLaMA directory: config.json, one or more *.safetensors shards (with
 * model.safetensors.index.json when sharded) — or the older PyTorch pickles pytorch_model*.bin
 * (with pytorch_model.bin.index.json), read without Python — and tokenizer.model. HF stores q/k
 * rows permuted for its rotate-half RoPE; they are converted to Meta's interleaved layout on read
 * and back on write (which always writes safetensors).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfig, paramSpecs, type LlamaConfig } from '../model/config.js';
import { hfToMetaPerm, metaToHfPerm, permutedRows, validateTensors, type Checkpoint, type TensorEntry } from './checkpoint.js';
import { openSafetensors, writeSafetensors, type SafetensorsFile, type SafetensorsToWrite } from './safetensors.js';
import { rowBytes, tensorBytes, type DType } from './dtype.js';
import { convertBytes } from './codec.js';
import { writeAtomically } from './file-io.js';
import { openPth } from './meta.js';

export function metaToHfName(meta: string): string {
  if (meta === 'tok_embeddings.weight') return 'model.embed_tokens.weight';
  if (meta === 'norm.weight') return 'model.norm.weight';
  if (meta === 'output.weight') return 'lm_head.weight';
  const m = /^layers\.(\d+)\.(.+)$/.exec(meta);
  const local: Record<string, string> = {
    'attention_norm.weight': 'input_layernorm.weight', 'attention.wq.weight': 'self_attn.q_proj.weight',
    'attention.wk.weight': 'self_attn.k_proj.weight', 'attention.wv.weight': 'self_attn.v_proj.weight',
    'attention.wo.weight': 'self_attn.o_proj.weight', 'ffn_norm.weight': 'post_attention_layernorm.weight',
    'feed_forward.w1.weight': 'mlp.gate_proj.weight', 'feed_forward.w2.weight': 'mlp.down_proj.weight',
    'feed_forward.w3.weight': 'mlp.up_proj.weight',
  };
  if (m && local[m[2]]) return `model.layers.${m[1]}.${local[m[2]]}`;
  throw new Error(`no HF name for tensor '${meta}'`);
}

/** HF buffers that are not weights (older transformers saved RoPE's inv_freq). */
const IGNORED = /\.rotary_emb\.inv_freq$/;

interface HfConfigJson {
  model_type?: string; architectures?: string[];
  hidden_size?: number; num_hidden_layers?: number; num_attention_heads?: number; num_key_value_heads?: number;
  intermediate_size?: number; vocab_size?: number; rms_norm_eps?: number; rope_theta?: number;
  max_position_embeddings?: number; tie_word_embeddings?: boolean; rope_scaling?: unknown;
  bos_token_id?: number; eos_token_id?: number | number[]; torch_dtype?: string; head_dim?: number;
  attention_bias?: boolean; mlp_bias?: boolean;
}

function readConfig(dir: string): { json: HfConfigJson; config: LlamaConfig } {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) throw new Error(`${dir}: no config.json — not a Hugging Face model directory`);
  let json: HfConfigJson;
  try { json = JSON.parse(readFileSync(p, 'utf8')); } catch (e) { throw new Error(`${p}: invalid JSON: ${(e as Error).message}`); }
  const isLlama = json.model_type === 'llama' || (json.architectures ?? []).includes('LlamaForCausalLM');
  if (!isLlama) throw new Error(`${p}: model_type '${json.model_type}' (architectures ${JSON.stringify(json.architectures)}) is not LLaMA`);
  if (json.rope_scaling) throw new Error(`${p}: rope_scaling ${JSON.stringify(json.rope_scaling)} is not supported (plain RoPE only)`);
  if (json.attention_bias || json.mlp_bias) throw new Error(`${p}: attention_bias/mlp_bias are not part of LLaMA and are not supported`);
  const need = (k: keyof HfConfigJson) => {
    const v = json[k];
    if (typeof v !== 'number') throw new Error(`${p}: field '${k}' is missing or not a number`);
    return v;
  };
  const nHeads = need('num_attention_heads');
  if (json.head_dim !== undefined && json.head_dim !== need('hidden_size') / nHeads) {
    throw new Error(`${p}: head_dim ${json.head_dim} != hidden_size / num_attention_heads; not supported`);
  }
  const config = makeConfig({
    dim: need('hidden_size'), nLayers: need('num_hidden_layers'), nHeads,
    nKvHeads: json.num_key_value_heads ?? nHeads, vocabSize: need('vocab_size'), hiddenDim: need('intermediate_size'),
    normEps: json.rms_norm_eps ?? 1e-6, ropeTheta: json.rope_theta ?? 10000, maxSeqLen: json.max_position_embeddings ?? 2048,
  });
  return { json, config };
}

type ShardKind = 'safetensors' | 'bin';

/**
 * The shard files: from the index when there is one, else every *.safetensors in the directory,
 * else the PyTorch pickles (pytorch_model*.bin).
 */
function shardFiles(dir: string): { files: string[]; weightMap: Map<string, string> | null; kind: ShardKind; index: string } {
  for (const [indexName, kind] of [['model.safetensors.index.json', 'safetensors'], ['pytorch_model.bin.index.json', 'bin']] as const) {
    const indexPath = join(dir, indexName);
    if (!existsSync(indexPath)) continue;
    let index: { weight_map?: Record<string, string> };
    try { index = JSON.parse(readFileSync(indexPath, 'utf8')); } catch (e) { throw new Error(`${indexPath}: invalid JSON: ${(e as Error).message}`); }
    if (!index.weight_map) throw new Error(`${indexPath}: no weight_map`);
    const weightMap = new Map(Object.entries(index.weight_map));
    const files = [...new Set(weightMap.values())].sort();
    for (const f of files) {
      if (!existsSync(join(dir, f))) throw new Error(`${dir}: shard '${f}' named in ${indexName} is missing`);
    }
    return { files, weightMap, kind, index: indexName };
  }
  const names = readdirSync(dir);
  const safetensors = names.filter((f) => f.endsWith('.safetensors')).sort();
  if (safetensors.length) return { files: safetensors, weightMap: null, kind: 'safetensors', index: '' };
  const bins = names.filter((f) => /^pytorch_model.*\.bin$/.test(f)).sort();
  if (bins.length) return { files: bins, weightMap: null, kind: 'bin', index: '' };
  throw new Error(`${dir}: no *.safetensors or pytorch_model*.bin files`);
}

/** One shard's tensors, by HF name, lazily readable. */
interface ShardEntry { shape: readonly number[]; dtype: DType; byteLength: number; source: string; read(dst?: Uint8Array): Uint8Array }

function openShard(path: string, kind: ShardKind): { entries: Map<string, ShardEntry>; close(): void } {
  if (kind === 'bin') {
    const pth = openPth(path);
    return { entries: new Map([...pth.tensors].map(([n, t]) => [n, t])), close: () => pth.file.close() };
  }
  const sf: SafetensorsFile = openSafetensors(path);
  const entries = new Map<string, ShardEntry>();
  for (const t of sf.tensors.values()) {
    entries.set(t.name, {
      shape: t.shape, dtype: t.dtype, byteLength: t.byteLength, source: `${sf.path} tensor '${t.name}' at byte ${t.fileOffset}`,
      read: (dst) => sf.file.readInto(dst ?? new Uint8Array(t.byteLength), t.fileOffset, `tensor '${t.name}'`),
    });
  }
  return { entries, close: () => sf.file.close() };
}

export function isHfDir(dir: string): boolean {
  return existsSync(join(dir, 'config.json'));
}

export function openHfCheckpoint(dir: string): Checkpoint {
  const { json, config } = readConfig(dir);
  const { files, weightMap, kind, index } = shardFiles(dir);
  const opened: { close(): void }[] = [];
  try {
    const hfToMeta = new Map(paramSpecs(config).map((s) => [metaToHfName(s.name), s.name]));
    const hd = config.dim / config.nHeads;
    const tensors = new Map<string, TensorEntry>();
    for (const f of files) {
      const path = join(dir, f);
      const shard = openShard(path, kind);
      opened.push(shard);
      for (const [name, t] of shard.entries) {
        if (IGNORED.test(name)) continue;
        if (weightMap && weightMap.get(name) !== f) {
          throw new Error(`${path}: tensor '${name}' is not listed for this shard in ${index}`);
        }
        const meta = hfToMeta.get(name);
        if (!meta) throw new Error(`${path}: unexpected tensor '${name}' for a LLaMA model with ${config.nLayers} layers`);
        if (tensors.has(meta)) throw new Error(`${dir}: tensor '${name}' appears in more than one shard`);
        let entry: TensorEntry = { name: meta, shape: t.shape, dtype: t.dtype, byteLength: t.byteLength, source: t.source, read: t.read };
        const heads = meta.endsWith('attention.wq.weight') ? config.nHeads : meta.endsWith('attention.wk.weight') ? config.nKvHeads : 0;
        if (heads && t.shape.length === 2 && t.shape[0] === heads * hd) {
          entry = permutedRows(entry, hfToMetaPerm(heads, hd), rowBytes(t.dtype, t.shape[1]));
        }
        tensors.set(meta, entry);
      }
    }
    if (weightMap) {
      for (const [name, f] of weightMap) {
        if (!IGNORED.test(name) && hfToMeta.has(name) && !tensors.has(hfToMeta.get(name)!)) {
          throw new Error(`${dir}: tensor '${name}' is listed in the index for '${f}' but that shard does not hold it`);
        }
      }
    }
    if (!tensors.has('output.weight') && json.tie_word_embeddings && tensors.has('tok_embeddings.weight')) {
      tensors.set('output.weight', { ...tensors.get('tok_embeddings.weight')!, name: 'output.weight' });
    }
    validateTensors(config, tensors, dir);
    const tok = join(dir, 'tokenizer.model');
    const eos = Array.isArray(json.eos_token_id) ? json.eos_token_id[0] : json.eos_token_id;
    return {
      format: 'hf', path: dir, config, tensors,
      tokenizer: existsSync(tok) ? { modelFile: tok } : {},
      specialIds: { bos: json.bos_token_id, eos },
      close: () => opened.forEach((s) => s.close()),
    };
  } catch (e) {
    opened.forEach((s) => s.close());
    throw e;
  }
}

export interface HfSaveOptions {
  /** f32 | f16 | bf16; default: keep the source type when it is one of those, else f32 */
  type?: DType;
  /** start a new shard when one would exceed this many bytes (default 2 GB, like transformers' 5GB-ish default scaled down) */
  maxShardBytes?: number;
  /** a tokenizer.model to place next to the weights */
  tokenizerModel?: Uint8Array;
  onTensor?: (i: number, n: number, name: string) => void;
}

const hfType = (t: DType, want?: DType): DType => {
  const ty = want ?? t;
  if (ty === 'f32' || ty === 'f16' || ty === 'bf16') return ty;
  if (want) throw new Error(`HF safetensors holds f32, f16 or bf16, not ${want}`);
  return 'f32';
};

export function saveHfCheckpoint(ckpt: Checkpoint, dir: string, opts: HfSaveOptions = {}): void {
  const c = ckpt.config;
  mkdirSync(dir, { recursive: true });
  const maxShard = opts.maxShardBytes ?? 2e9;
  const hd = c.dim / c.nHeads;
  const items: SafetensorsToWrite[] = paramSpecs(c).map((s) => {
    const t = ckpt.tensors.get(s.name)!;
    const dtype = hfType(t.dtype, opts.type);
    const heads = s.name.endsWith('attention.wq.weight') ? c.nHeads : s.name.endsWith('attention.wk.weight') ? c.nKvHeads : 0;
    const src = heads ? permutedRows(t, metaToHfPerm(heads, hd), rowBytes(t.dtype, t.shape[1])) : t;
    return { name: metaToHfName(s.name), dtype, shape: t.shape, data: () => convertBytes(t.dtype, dtype, src.read(), t.shape) };
  });
  // greedy sharding in parameter order
  const shards: SafetensorsToWrite[][] = [[]];
  let size = 0;
  for (const it of items) {
    const n = tensorBytes(it.dtype, it.shape);
    if (size + n > maxShard && shards[shards.length - 1].length) { shards.push([]); size = 0; }
    shards[shards.length - 1].push(it);
    size += n;
  }
  const names = shards.length === 1 ? ['model.safetensors']
    : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
  let done = 0;
  shards.forEach((sh, i) => {
    writeSafetensors(join(dir, names[i]), sh, { format: 'pt' });
    for (const it of sh) opts.onTensor?.(done++, items.length, it.name);
  });
  if (shards.length > 1) {
    const weight_map: Record<string, string> = {};
    let total = 0;
    shards.forEach((sh, i) => sh.forEach((it) => { weight_map[it.name] = names[i]; total += tensorBytes(it.dtype, it.shape); }));
    writeJson(join(dir, 'model.safetensors.index.json'), { metadata: { total_size: total }, weight_map });
  }
  const dtype = items[0]?.dtype ?? 'f32'; // the embedding's type names the checkpoint's dtype
  writeJson(join(dir, 'config.json'), {
    architectures: ['LlamaForCausalLM'], model_type: 'llama',
    hidden_size: c.dim, intermediate_size: c.hiddenDim, num_attention_heads: c.nHeads, num_hidden_layers: c.nLayers,
    num_key_value_heads: c.nKvHeads, vocab_size: c.vocabSize, rms_norm_eps: c.normEps, rope_theta: c.ropeTheta,
    max_position_embeddings: c.maxSeqLen, tie_word_embeddings: false, hidden_act: 'silu', rope_scaling: null,
    bos_token_id: ckpt.specialIds?.bos ?? 1, eos_token_id: ckpt.specialIds?.eos ?? 2,
    torch_dtype: dtype === 'f32' ? 'float32' : dtype === 'f16' ? 'float16' : 'bfloat16',
  });
  if (opts.tokenizerModel) writeAtomically(join(dir, 'tokenizer.model'), (w) => w.write(opts.tokenizerModel!));
  else if (ckpt.tokenizer.modelFile) copyFileSync(ckpt.tokenizer.modelFile, join(dir, 'tokenizer.model'));
}

export function writeJson(path: string, value: unknown): void {
  writeAtomically(path, (w) => w.write(new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n')));
}
