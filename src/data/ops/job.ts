/**
 * One unit of work of a pipeline run, and its done-marker. Jobs are independent and idempotent:
 * a job whose marker exists is skipped, so an interrupted run continues where it stopped; a job
 * that was cut short leaves only temporary files (removed when it runs again).
 *
 *   wave1    one input (file, archive, folder) of a source → reader → per-document stages
 *            → <out>/<source>/wave1/in-NNNNN-MMMMM.jsonl.gz, marker in-NNNNN.done.json
 *   wave2    all wave-1 shards of a source, in input order → global stages (dedup) and the rest
 *            → <out>/<source>/final/part-MMMMM.jsonl.gz, marker final/part.done.json
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { SentencePieceTokenizer, encodeStream } from '../../tokenizer/index.js';
import { tokenizeShard } from '../mixture/tokenize.js';
import type { Doc } from '../document.js';
import { countRead, runStages } from '../pipeline.js';
import { PipelineReport, type ReportJson } from '../report.js';
import { ShardedJsonlWriter } from '../io/jsonl-writer.js';
import { readJsonlDocs } from '../readers/jsonl.js';
import type { PipelineConfig } from './config.js';
import { READERS, createStages, loadExtraStages, splitWaves } from './registry.js';
import { expandGlob } from './glob.js';

export type Job =
  | { kind: 'wave1'; source: number; input: number; path: string }
  | { kind: 'wave2'; source: number }
  /** One final JSONL shard → one token shard (mixture step). */
  | { kind: 'tokenize'; source: number; shard: string };

export interface Marker {
  job: Job;
  /** Output shards, relative to the run's output folder. */
  shards: string[];
  docs: number;
  bytes: number;
  report: ReportJson;
  finishedAt: string;
}

export interface Progress {
  job: string;
  docs: number;
  bytes: number;
  /** Documents in → out of each stage so far. */
  stages: Record<string, [number, number]>;
}

export function jobName(config: PipelineConfig, job: Job): string {
  const src = config.sources[job.source]!.name;
  if (job.kind === 'tokenize') return `${src}/tokens/${basename(job.shard).replace(/\.jsonl(?:\.gz)?$/, '')}`;
  return job.kind === 'wave1' ? `${src}/wave1/in-${String(job.input).padStart(5, '0')}` : `${src}/final/part`;
}

export function markerPath(config: PipelineConfig, job: Job): string {
  return join(config.output, `${jobName(config, job)}.done.json`);
}

export async function readMarker(config: PipelineConfig, job: Job): Promise<Marker | null> {
  try {
    return JSON.parse(await readFile(markerPath(config, job), 'utf8')) as Marker;
  } catch {
    return null;
  }
}

/** Writes JSON atomically (temp + rename). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 1));
  await rename(tmp, path);
}

/** Removes what an interrupted attempt of this job left: temp files and its incomplete shards. */
async function clearPartial(dir: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(`${prefix}-`) || n.startsWith(`.${prefix}-`)) await unlink(join(dir, n)).catch(() => {});
  }
}

/**
 * A reader that throws (unreadable file, I/O error) must not abort the run: the documents read so
 * far are kept and the failure is counted as a bad record of that input.
 */
async function* guardReader(reader: string, path: string, docs: AsyncIterable<Doc>, report: PipelineReport): AsyncGenerator<Doc> {
  try {
    yield* docs;
  } catch (e) {
    report.bad(reader, { reason: 'reader-error', where: path, detail: (e as Error)?.message ?? String(e) });
  }
}

let cachedTokenizer: { path: string; tok: SentencePieceTokenizer } | null = null;

function tokenizerFor(config: PipelineConfig): SentencePieceTokenizer {
  const path = resolve(config.baseDir, config.mixture!.tokenizer);
  if (cachedTokenizer?.path !== path) cachedTokenizer = { path, tok: SentencePieceTokenizer.load(path) };
  return cachedTokenizer.tok;
}

export function tokenShardPath(config: PipelineConfig, job: Extract<Job, { kind: 'tokenize' }>): string {
  return join(config.output, `${jobName(config, job)}.tok`);
}

async function runTokenizeJob(config: PipelineConfig, job: Extract<Job, { kind: 'tokenize' }>): Promise<Marker> {
  if (!config.mixture) throw new Error(`${config.configPath}: a tokenize job needs a "mixture" section`);
  const report = new PipelineReport();
  const out = tokenShardPath(config, job);
  await mkdir(dirname(out), { recursive: true });
  const tok = tokenizerFor(config);
  const t0 = performance.now();
  const threads = config.mixture.tokenizeThreads ?? 1;
  // The tokenizer's persistent worker pool (made once per thread count, reused by later jobs).
  const encodeMany = threads > 1 ? (texts: AsyncIterable<string>) => encodeStream(tok, texts, { threads }) : undefined;
  const { header: h, textBytes } = await tokenizeShard(join(config.output, job.shard), out, tok, report, encodeMany);
  const s = report.stage('tokenize');
  s.docsIn += h.docCount;
  s.docsOut += h.docCount;
  s.bytesIn += textBytes;
  s.bytesOut += textBytes; // nothing is dropped: the text is all there, as tokens
  s.ms += performance.now() - t0;
  const marker: Marker = { job, shards: [relative(config.output, out)], docs: h.docCount, bytes: h.tokenCount, report: report.toJSON(), finishedAt: new Date().toISOString() };
  await writeJsonAtomic(markerPath(config, job), marker);
  return marker;
}

async function* docsOfShards(config: PipelineConfig, shards: string[], report: PipelineReport): AsyncGenerator<Doc> {
  for (const s of shards) yield* readJsonlDocs(join(config.output, s), report);
}

export async function runJob(config: PipelineConfig, job: Job, onProgress?: (p: Progress) => void): Promise<Marker> {
  await loadExtraStages();
  const existing = await readMarker(config, job);
  if (existing) return existing;
  const src = config.sources[job.source]!;
  if (job.kind === 'tokenize') return runTokenizeJob(config, job);
  const { wave1 } = splitWaves(src.stages);
  const report = new PipelineReport();
  const name = jobName(config, job);
  const dir = join(config.output, src.name, job.kind === 'wave1' ? 'wave1' : 'final');
  const prefix = job.kind === 'wave1' ? `in-${String(job.input).padStart(5, '0')}` : 'part';
  await mkdir(dir, { recursive: true });
  await clearPartial(dir, prefix);

  let docs: AsyncIterable<Doc>;
  let stageConfigs;
  if (job.kind === 'wave1') {
    const reader = READERS[src.reader]!;
    docs = countRead(src.reader, guardReader(src.reader, job.path, reader(job.path, report, src.name, src.readerOptions ?? {}), report), report);
    stageConfigs = src.stages.slice(0, wave1);
  } else {
    // Wave 2 reads every wave-1 marker of this source, in input order.
    const inputs = await wave1Markers(config, job.source);
    docs = docsOfShards(config, inputs.flatMap((m) => m.shards), report);
    stageConfigs = src.stages.slice(wave1);
  }
  const writer = new ShardedJsonlWriter({ dir, prefix, gzip: config.gzip, maxDocs: config.shardDocs });
  let n = 0;
  let bytes = 0;
  let lastProgress = Date.now();
  try {
    for await (const doc of runStages(docs, createStages(stageConfigs), report)) {
      await writer.write(doc);
      n++;
      bytes += Buffer.byteLength(doc.text);
      if (onProgress && Date.now() - lastProgress > 1000) {
        lastProgress = Date.now();
        onProgress({ job: name, docs: n, bytes, stages: Object.fromEntries(Object.entries(report.stages).map(([k, v]) => [k, [v.docsIn, v.docsOut]])) });
      }
    }
  } catch (e) {
    await writer.abort();
    throw e;
  }
  const shards = (await writer.close()).map((p) => relative(config.output, p));
  const marker: Marker = { job, shards, docs: n, bytes, report: report.toJSON(), finishedAt: new Date().toISOString() };
  await writeJsonAtomic(markerPath(config, job), marker);
  return marker;
}

/** The wave-1 markers of a source, in input order; throws if one is missing. */
export async function wave1Markers(config: PipelineConfig, source: number): Promise<Marker[]> {
  const jobs = wave1Jobs(config).filter((j) => j.source === source);
  const out: Marker[] = [];
  for (const j of jobs) {
    const m = await readMarker(config, j);
    if (!m) throw new Error(`${jobName(config, j)}: wave 1 is not finished for this input; run wave 1 first`);
    out.push(m);
  }
  return out;
}


/** All wave-1 jobs of a config: each source's inputs expanded and numbered in sorted order. */
export function wave1Jobs(config: PipelineConfig): Job[] {
  const jobs: Job[] = [];
  config.sources.forEach((s, si) => {
    const paths = s.inputs.flatMap((p) => expandGlob(p, config.baseDir));
    if (paths.length === 0) throw new Error(`${config.configPath}: source "${s.name}": no input matches ${JSON.stringify(s.inputs)}`);
    paths.forEach((path, i) => jobs.push({ kind: 'wave1', source: si, input: i, path }));
  });
  return jobs;
}

export function wave2Jobs(config: PipelineConfig): Job[] {
  return config.sources.flatMap((s, si) => (splitWaves(s.stages).hasWave2 ? [{ kind: 'wave2' as const, source: si }] : []));
}

/** Final shards of each source (wave 2's if it has one, else wave 1's), relative to output. */
export async function finalShards(config: PipelineConfig): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (let si = 0; si < config.sources.length; si++) {
    const s = config.sources[si]!;
    if (splitWaves(s.stages).hasWave2) {
      const m = await readMarker(config, { kind: 'wave2', source: si });
      if (!m) throw new Error(`${s.name}: the second wave has not run`);
      out.set(s.name, m.shards);
    } else out.set(s.name, (await wave1Markers(config, si)).flatMap((m) => m.shards));
  }
  return out;
}

/** The merged report of every finished job. */
export async function mergedReport(config: PipelineConfig): Promise<PipelineReport> {
  const r = new PipelineReport();
  for (const j of [...wave1Jobs(config), ...wave2Jobs(config)]) {
    const m = await readMarker(config, j);
    if (m) r.merge(m.report);
  }
  return r;
}
