/**
 * The pipeline configuration file (`llama-ts data run --config FILE`), JSON:
 *
 * {
 *   "output": "out/pile",              // results, markers and the report go here
 *   "workers": 2,                      // worker threads (default: CPU count)
 *   "shardDocs": 50000,                // documents per output JSONL shard
 *   "gzip": true,                      // .jsonl.gz (default) or .jsonl
 *   "sources": [
 *     { "name": "commoncrawl", "reader": "warc", "inputs": ["cc/*.warc.wet.gz"],
 *       "stages": [{ "type": "c4" }] },
 *     { "name": "books", "reader": "books", "inputs": ["gutenberg/*.txt"],
 *       "stages": [{ "type": "near-dedup", "threshold": 0.9 }] }
 *   ],
 *   "mixture": { "tokenizer": "tokenizer.model", "seed": 1 }   // optional: token shards
 *                                      // ("tokenizeThreads": N encodes each shard on N threads)
 * }
 *
 * Paths are relative to the config file's folder; inputs may use * ? ** wildcards.
 *
 * Readers (`readerOptions` in brackets): warc / wet, jsonl [textField, idField], mediawiki,
 * stackexchange [site, bucketMB], latex (a paper: folder, .tar, .tar.gz, .gz), code (a repository
 * folder), books (a text file).
 * Stages and their options (defaults as the paper / references; see each file's header):
 *   c4          minWordsPerLine 5, minSentences 3, maxWordLength 1000, badWords true
 *   github      maxLineLength 1000, maxAvgLineLength 100, minAlnumFraction 0.25, minAlphaPerToken 1.5
 *   wikipedia   languages (the paper's 20), minChars 100
 *   arxiv       minChars 500
 *   min-length  chars
 *   exact-dedup normalization "none"|"whitespace", compact false        (global: second wave)
 *   near-dedup  threshold 0.9                                           (global: second wave)
 *   ccnet-*     the CCNet stages, see src/data/ccnet/stages.ts
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { READER_TYPES, STAGE_TYPES, loadExtraStages } from './registry.js';

const StageSchema = z.object({ type: z.string() }).passthrough().superRefine((s, ctx) => {
  if (!STAGE_TYPES.includes(s.type)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown stage type "${s.type}" (known: ${STAGE_TYPES.join(', ')})`, path: ['type'] });
});

const SourceSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'a source name is letters, digits, "-" and "_"'),
  reader: z.string().refine((r) => READER_TYPES.includes(r), (r) => ({ message: `unknown reader "${r}" (known: ${READER_TYPES.join(', ')})` })),
  inputs: z.array(z.string()).min(1),
  readerOptions: z.record(z.unknown()).optional(),
  stages: z.array(StageSchema).default([]),
});

const MixtureSchema = z.object({
  tokenizer: z.string(),
  seed: z.number().int().default(1),
  /** Table 1 proportions by source name (default: the paper's, see mixture/table1.ts). */
  proportions: z.record(z.number().positive()).optional(),
  /** Token budget of a materialised mixture (optional): then shards of mixed documents are written. */
  materializeTokens: z.number().int().positive().optional(),
  /**
   * Worker threads that encode one JSONL shard into tokens (default 1). Shards are already
   * tokenized in parallel by the pipeline's workers; raise this when there are fewer shards than
   * cores (one big source), else threads compete. The token shards are the same either way.
   */
  tokenizeThreads: z.number().int().positive().optional(),
});

export const ConfigSchema = z.object({
  output: z.string(),
  workers: z.number().int().positive().optional(),
  shardDocs: z.number().int().positive().default(50_000),
  gzip: z.boolean().default(true),
  sources: z.array(SourceSchema).min(1),
  mixture: MixtureSchema.optional(),
});

export type PipelineConfig = z.infer<typeof ConfigSchema> & { workers: number; baseDir: string; configPath: string };
export type SourceConfig = z.infer<typeof SourceSchema>;
export type StageConfig = z.infer<typeof StageSchema>;

export function parseConfig(json: unknown, configPath: string): PipelineConfig {
  const r = ConfigSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
    throw new Error(`${configPath}: invalid pipeline config:\n${lines.join('\n')}`);
  }
  const names = new Set<string>();
  for (const s of r.data.sources) {
    if (names.has(s.name)) throw new Error(`${configPath}: sources: the name "${s.name}" is used twice; names must be unique (they name output folders)`);
    names.add(s.name);
  }
  const baseDir = dirname(resolve(configPath));
  return { ...r.data, workers: r.data.workers ?? Math.max(1, availableParallelism()), baseDir, configPath: resolve(configPath), output: resolve(baseDir, r.data.output) };
}

export async function loadConfig(path: string): Promise<PipelineConfig> {
  await loadExtraStages(); // so the CCNet stage names validate
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(json, path);
}
