/**
 * LLaMA model configuration (PAPER.md §4, Table 2) and the parameter layout shared by every
 * floor above: tensor names follow Meta's checkpoints (`tok_embeddings`, `layers.N.attention.wq`,
 * ...); other formats convert at the formats/ boundary.
 */

export interface LlamaConfig {
  dim: number;          // model width d
  nLayers: number;
  nHeads: number;
  nKvHeads: number;     // grouped-query attention (== nHeads for LLaMA-1)
  vocabSize: number;
  hiddenDim: number;    // SwiGLU width: multipleOf * ceil((8d/3 * ffnDimMultiplier) / multipleOf)
  normEps: number;      // RMSNorm epsilon
  ropeTheta: number;    // RoPE base (10000 in the paper)
  maxSeqLen: number;    // context length (2048 in the paper)
}

export interface ConfigInput {
  dim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads?: number;
  vocabSize?: number;
  multipleOf?: number;
  ffnDimMultiplier?: number;
  hiddenDim?: number;
  normEps?: number;
  ropeTheta?: number;
  maxSeqLen?: number;
}

/** hidden = multiple_of * ceil((2/3 * 4d * ffn_dim_multiplier) / multiple_of), as Meta's model.py. */
export function swigluHiddenDim(dim: number, multipleOf = 256, ffnDimMultiplier = 1): number {
  let hidden = Math.floor((2 * 4 * dim) / 3);
  hidden = Math.floor(ffnDimMultiplier * hidden);
  return multipleOf * Math.ceil(hidden / multipleOf);
}

export function makeConfig(c: ConfigInput): LlamaConfig {
  const cfg: LlamaConfig = {
    dim: c.dim,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads ?? c.nHeads,
    vocabSize: c.vocabSize ?? 32000,
    hiddenDim: c.hiddenDim ?? swigluHiddenDim(c.dim, c.multipleOf ?? 256, c.ffnDimMultiplier ?? 1),
    normEps: c.normEps ?? 1e-6,
    ropeTheta: c.ropeTheta ?? 10000,
    maxSeqLen: c.maxSeqLen ?? 2048,
  };
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: LlamaConfig): void {
  const bad = (msg: string) => { throw new Error(`invalid LLaMA config: ${msg} (${JSON.stringify(c)})`); };
  for (const k of ['dim', 'nLayers', 'nHeads', 'nKvHeads', 'vocabSize', 'hiddenDim', 'maxSeqLen'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) bad(`${k} must be a positive integer`);
  }
  if (c.dim % c.nHeads !== 0) bad(`dim ${c.dim} is not divisible by nHeads ${c.nHeads}`);
  if ((c.dim / c.nHeads) % 2 !== 0) bad(`head dim ${c.dim / c.nHeads} must be even for RoPE pairs`);
  if (c.nHeads % c.nKvHeads !== 0) bad(`nHeads ${c.nHeads} is not a multiple of nKvHeads ${c.nKvHeads}`);
  if (!(c.normEps > 0)) bad('normEps must be > 0');
  if (!(c.ropeTheta > 0)) bad('ropeTheta must be > 0');
}

export const headDim = (c: LlamaConfig) => c.dim / c.nHeads;
export const kvDim = (c: LlamaConfig) => headDim(c) * c.nKvHeads;

/** Table 2 sizes (multiple_of 256, vocab 32000, context 2048) and small ones for this machine. */
export const PRESETS: Record<string, LlamaConfig> = {
  '7B': makeConfig({ dim: 4096, nLayers: 32, nHeads: 32 }),
  '13B': makeConfig({ dim: 5120, nLayers: 40, nHeads: 40 }),
  '33B': makeConfig({ dim: 6656, nLayers: 60, nHeads: 52 }),
  '65B': makeConfig({ dim: 8192, nLayers: 80, nHeads: 64 }),
  // llama2.c's small models: "15M" (24.4M with the untied head) and "110M".
  '15M': makeConfig({ dim: 288, nLayers: 6, nHeads: 6, hiddenDim: 768, maxSeqLen: 256 }),
  '42M': makeConfig({ dim: 512, nLayers: 8, nHeads: 8, hiddenDim: 1376, maxSeqLen: 1024 }),
  '110M': makeConfig({ dim: 768, nLayers: 12, nHeads: 12, hiddenDim: 2048, maxSeqLen: 1024 }),
  '1B': makeConfig({ dim: 2048, nLayers: 16, nHeads: 16, hiddenDim: 5632, maxSeqLen: 2048 }),
  // for unit tests and the quick start
  tiny: makeConfig({ dim: 64, nLayers: 4, nHeads: 4, hiddenDim: 172, vocabSize: 512, maxSeqLen: 128 }),
};

/** Table 2 training hyper-parameters: peak learning rate and batch size in tokens. */
export const TABLE2_OPTIM: Record<string, { lr: number; batchTokens: number; tokens: number }> = {
  '7B': { lr: 3.0e-4, batchTokens: 4 * 1024 * 1024, tokens: 1.0e12 },
  '13B': { lr: 3.0e-4, batchTokens: 4 * 1024 * 1024, tokens: 1.0e12 },
  '33B': { lr: 1.5e-4, batchTokens: 4 * 1024 * 1024, tokens: 1.4e12 },
  '65B': { lr: 1.5e-4, batchTokens: 4 * 1024 * 1024, tokens: 1.4e12 },
};

export interface ParamSpec { name: string; shape: number[] }

/**
 * Every parameter tensor in Meta's names and shapes (row-major, weights [out, in]), in a fixed order:
 * this order is the layout of the parameter arena and of our checkpoints.
 */
export function paramSpecs(c: LlamaConfig): ParamSpec[] {
  const hd = headDim(c);
  const specs: ParamSpec[] = [{ name: 'tok_embeddings.weight', shape: [c.vocabSize, c.dim] }];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `layers.${l}.`;
    specs.push(
      { name: p + 'attention_norm.weight', shape: [c.dim] },
      { name: p + 'attention.wq.weight', shape: [c.nHeads * hd, c.dim] },
      { name: p + 'attention.wk.weight', shape: [c.nKvHeads * hd, c.dim] },
      { name: p + 'attention.wv.weight', shape: [c.nKvHeads * hd, c.dim] },
      { name: p + 'attention.wo.weight', shape: [c.dim, c.nHeads * hd] },
      { name: p + 'ffn_norm.weight', shape: [c.dim] },
      { name: p + 'feed_forward.w1.weight', shape: [c.hiddenDim, c.dim] },
      { name: p + 'feed_forward.w2.weight', shape: [c.dim, c.hiddenDim] },
      { name: p + 'feed_forward.w3.weight', shape: [c.hiddenDim, c.dim] },
    );
  }
  specs.push({ name: 'norm.weight', shape: [c.dim] }, { name: 'output.weight', shape: [c.vocabSize, c.dim] });
  return specs;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function parameterCount(c: LlamaConfig): number {
  return paramSpecs(c).reduce((s, p) => s + numel(p.shape), 0);
}
