/**
 * From a run description (a JSON config file, with command-line flags over it) to TrainSettings and
 * the data sources — and back again on resume, from run.json alone.
 *
 * Config file (JSON; every key optional except data; flags of `llama-ts train` use the same names
 * in kebab-case). Relative paths are relative to the config file:
 *   {
 *     "model": "15M" | { "dim": 288, "nLayers": 6, "nHeads": 6, ... },   // a preset or a config
 *     "tokenizer": "tokenizer.model",                // for BOS/EOS ids and the exported model
 *     "data": { "sources": [ { "name": "web", "shards": ["web-0.shard"], "weight": 0.67 },
 *                            { "name": "books", "shards": ["books-0.shard"], "epochs": 2.2 } ] },
 *     "val": { "shards": ["val.shard"] },
 *     "batch": 8, "seqLen": 256, "batchTokens": 8192,  // micro-batch B×T; accumulation reaches batchTokens
 *     "steps": 1000, "warmup": 100, "lr": 3e-4, "minLrRatio": 0.1,
 *     "table2": "7B",                                 // Table 2's rate, 4M-token batch and token budget
 *     "weightDecay": 0.1, "clip": 1.0, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "decayEmbeddings": false,
 *     "seed": 1, "checkpointEvery": 100, "keepCheckpoints": 2, "evalEvery": 50, "evalBatches": 4,
 *     "recompute": "selective", "threads": 2, "backend": "wasm", "peakGflops": 198.6
 *   }
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { makeConfig, PRESETS, type ConfigInput, type LlamaConfig } from '../model/config.js';
import type { CheckpointMode } from '../model/transformer.js';
import type { BatchSource } from './batch-source.js';
import { peakGflops } from './flops.js';
import { MixtureLoader, type SourceSpec } from './mixture.js';
import { PAPER_ADAMW } from './optimizer.js';
import { loadSftFile, SftLoader } from './sft.js';
import type { ChatTokenizer } from '../tokenizer/chat-template.js';
import { table2Recipe, tokenBatch } from './schedule.js';
import type { TrainSettings } from './trainer.js';

export interface RunConfig {
  model?: string | ConfigInput;
  tokenizer?: string;
  data?: { sources?: SourceSpec[]; shards?: string[] };
  val?: { shards?: string[] };
  bosId?: number;
  eosId?: number;
  batch?: number;
  seqLen?: number;
  batchTokens?: number;
  steps?: number;
  warmup?: number;
  lr?: number;
  minLrRatio?: number;
  table2?: string;
  weightDecay?: number;
  clip?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  decayEmbeddings?: boolean;
  seed?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  evalEvery?: number;
  evalBatches?: number;
  logEvery?: number;
  recompute?: CheckpointMode;
  threads?: number;
  backend?: 'wasm' | 'reference';
  peakGflops?: number;
}

const KNOWN = new Set(['model', 'tokenizer', 'data', 'val', 'bosId', 'eosId', 'batch', 'seqLen', 'batchTokens', 'steps', 'warmup', 'lr',
  'minLrRatio', 'table2', 'weightDecay', 'clip', 'beta1', 'beta2', 'eps', 'decayEmbeddings', 'seed', 'checkpointEvery',
  'keepCheckpoints', 'evalEvery', 'evalBatches', 'logEvery', 'recompute', 'threads', 'backend', 'peakGflops']);

/** Reads a config file, checking its keys and making its paths absolute. */
export function readRunConfig(path: string): RunConfig {
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch (e) {
    throw new Error(`config ${path}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`config ${path}: expected a JSON object`);
  for (const k of Object.keys(raw)) if (!KNOWN.has(k)) throw new Error(`config ${path}: unknown key '${k}' (known: ${[...KNOWN].join(', ')})`);
  const c = raw as RunConfig;
  const base = dirname(resolve(path));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  if (c.tokenizer) c.tokenizer = abs(c.tokenizer);
  if (c.data?.shards) c.data.shards = c.data.shards.map(abs);
  if (c.data?.sources) {
    c.data.sources.forEach((s, i) => {
      if (!s || typeof s.name !== 'string' || !Array.isArray(s.shards)) throw new Error(`config ${path}: data.sources[${i}] needs "name" and "shards": [...]`);
      s.shards = s.shards.map(abs);
    });
  }
  if (c.val?.shards) c.val.shards = c.val.shards.map(abs);
  return c;
}

export function resolveModel(m: RunConfig['model']): { config: LlamaConfig; name: string } {
  if (m === undefined) return { config: PRESETS.tiny, name: 'tiny' };
  if (typeof m === 'string') {
    const p = PRESETS[m];
    if (!p) throw new Error(`unknown model preset '${m}' (known: ${Object.keys(PRESETS).join(', ')}); or give a config object`);
    return { config: p, name: m };
  }
  const config = makeConfig(m);
  return { config, name: `dim${config.dim}-L${config.nLayers}` };
}

function sourcesOf(c: RunConfig): SourceSpec[] {
  const d = c.data;
  if (d?.sources?.length) return d.sources;
  if (d?.shards?.length) return [{ name: 'data', shards: d.shards, weight: 1 }];
  throw new Error('no training data: give shards (--data FILE.shard...) or data.sources in the config file');
}

/** Checks every shard exists up front, so a typo fails before any allocation. */
function checkFiles(paths: string[], what: string): void {
  for (const p of paths) if (!existsSync(p)) throw new Error(`${what} ${p}: no such file`);
}

export function settingsFromConfig(c: RunConfig, special: { bosId: number; eosId: number }): TrainSettings {
  const { config, name } = resolveModel(c.model);
  const sources = sourcesOf(c);
  checkFiles(sources.flatMap((s) => s.shards), 'training shard');
  if (c.val?.shards) checkFiles(c.val.shards, 'validation shard');
  const batch = c.batch ?? 8;
  const seqLen = c.seqLen ?? Math.min(256, config.maxSeqLen);
  const recipe = c.table2 ? table2Recipe(c.table2) : null;
  const tb = tokenBatch(c.batchTokens ?? recipe?.batchTokens ?? batch * seqLen, batch, seqLen);
  const steps = c.steps ?? (recipe ? Math.ceil(recipe.tokens / tb.batchTokens) : 1000);
  const warmup = c.warmup ?? Math.min(recipe?.schedule.warmupSteps ?? 2000, Math.floor(steps / 10));
  const threads = c.threads ?? 2;
  return {
    kind: 'pretrain',
    model: config,
    modelName: name,
    batch, seqLen, accumSteps: tb.accumSteps,
    schedule: { peakLr: c.lr ?? recipe?.schedule.peakLr ?? 3e-4, warmupSteps: warmup, totalSteps: steps, minLrRatio: c.minLrRatio ?? 0.1 },
    optim: {
      beta1: c.beta1 ?? PAPER_ADAMW.beta1, beta2: c.beta2 ?? PAPER_ADAMW.beta2, eps: c.eps ?? PAPER_ADAMW.eps,
      weightDecay: c.weightDecay ?? PAPER_ADAMW.weightDecay, clipNorm: c.clip ?? PAPER_ADAMW.clipNorm,
      decayEmbeddings: c.decayEmbeddings ?? PAPER_ADAMW.decayEmbeddings,
    },
    seed: c.seed ?? 1,
    checkpointEvery: c.checkpointEvery ?? 100,
    keepCheckpoints: c.keepCheckpoints ?? 2,
    evalEvery: c.val?.shards?.length ? (c.evalEvery ?? 50) : 0,
    evalBatches: c.evalBatches ?? 4,
    logEvery: c.logEvery ?? 10,
    recompute: c.recompute ?? 'selective',
    threads,
    backend: c.backend ?? 'wasm',
    peakGflops: c.peakGflops ?? peakGflops(threads),
    data: { sources, val: c.val?.shards ?? null, bosId: c.bosId ?? special.bosId, eosId: c.eosId ?? special.eosId },
    initFrom: null,
    tokenizer: c.tokenizer ?? null,
  };
}

/** The pre-training data of a run (also on resume, from run.json's settings.data). */
export function openPretrainData(s: TrainSettings): { train: BatchSource; val: BatchSource | null } {
  const d = s.data as { sources: SourceSpec[]; val: string[] | null; bosId: number; eosId: number };
  const opts = { seqLen: s.seqLen, vocabSize: s.model.vocabSize, bosId: d.bosId, eosId: d.eosId };
  const train = new MixtureLoader(d.sources, { ...opts, seed: s.seed });
  // Validation: a fixed seed of its own, so its batches do not depend on the training seed.
  const val = d.val?.length ? new MixtureLoader([{ name: 'val', shards: d.val, weight: 1 }], { ...opts, seed: 12345 }) : null;
  return { train, val };
}

/** The instruction data of a finetuning run (also on resume): JSONL tokenized with the chat template. */
export function openFinetuneData(s: TrainSettings, tok: ChatTokenizer): { train: BatchSource; val: BatchSource | null } {
  const d = s.data as { sft: string; val: string | null };
  const train = new SftLoader(loadSftFile(d.sft, tok), s.seqLen, s.seed, tok.eosId);
  const val = d.val ? new SftLoader(loadSftFile(d.val, tok), s.seqLen, 12345, tok.eosId) : null;
  return { train, val };
}
