/**
 * A whole pipeline run: wave 1 (every input, in parallel), wave 2 (global dedup per source), then
 * optionally the mixture (tokenize every final shard; write `mixture.json` for the trainer's
 * loader; materialise mixed shards if a token budget is given), and the report
 * (`report.json` + `report.txt`). Every step is resumable: finished jobs have markers and are
 * skipped; rerunning a finished run only re-prints the report.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { PipelineConfig } from './config.js';
import { finalShards, jobName, mergedReport, readMarker, tokenShardPath, wave1Jobs, wave2Jobs, writeJsonAtomic, type Job, type Marker } from './job.js';
import { runJobsInPool } from './pool.js';
import { loadExtraStages } from './registry.js';
import { table1Epochs, table1Proportion } from '../mixture/table1.js';
import { materializeMixture } from '../mixture/materialize.js';
import type { PipelineReport } from '../report.js';
import { existsSync } from 'node:fs';
import { readTokenShardHeader } from '../token-shard.js';

export interface RunOptions {
  /** Log lines (progress, summaries); default stderr. */
  log?: (line: string) => void;
  /** Stop after this wave (for `llama-ts data wave1`). */
  until?: 'wave1' | 'wave2' | 'mixture';
}

/**
 * The default log: structured lines; on a terminal, in-job progress lines overwrite each other
 * and each finished job shows a progress bar.
 */
export function terminalLog(stream: NodeJS.WriteStream = process.stderr): (line: string) => void {
  if (!stream.isTTY) return (line) => stream.write(line + '\n');
  return (line) => {
    const transient = line.includes('   … ');
    const width = Math.max(20, (stream.columns ?? 100) - 1);
    stream.write('\r\x1b[K' + (transient ? line.slice(0, width) : line + '\n'));
  };
}

function bar(done: number, total: number, width = 20): string {
  const filled = total ? Math.round((done / total) * width) : width;
  return '[' + '#'.repeat(filled) + '.'.repeat(width - filled) + ']';
}

export interface RunResult { report: PipelineReport; finals: Map<string, string[]>; mixture?: string }

async function runWave(config: PipelineConfig, name: string, jobs: Job[], log: (s: string) => void): Promise<Marker[]> {
  const pending: Job[] = [];
  for (const j of jobs) if (!(await readMarker(config, j))) pending.push(j);
  const skipped = jobs.length - pending.length;
  log(`[${name}] ${jobs.length} job(s)${skipped ? `, ${skipped} already done (resuming)` : ''}, ${Math.min(config.workers, Math.max(1, pending.length))} worker(s)`);
  let done = 0;
  const t0 = Date.now();
  let bytes = 0;
  await runJobsInPool(config, pending, config.workers, {
    onDone(job, m) {
      done++;
      bytes += m.bytes;
      const secs = (Date.now() - t0) / 1000;
      const eta = done < pending.length ? ` eta ${((secs / done) * (pending.length - done)).toFixed(0)}s` : '';
      const b = process.stderr.isTTY && log === defaultLog ? `${bar(done, pending.length)} ` : '';
      log(`[${name}] ${b}${done}/${pending.length} ${jobName(config, job)}: ${m.docs} docs kept, ${(m.bytes / 1e6).toFixed(2)} MB (${(bytes / 1e6 / Math.max(secs, 1e-3)).toFixed(1)} MB/s out${eta})`);
    },
    onProgress(p) {
      const stages = Object.entries(p.stages).map(([k, [i, o]]) => `${k} ${i}→${o}`).join(', ');
      log(`[${name}]   … ${p.job}: ${p.docs} docs written, ${(p.bytes / 1e6).toFixed(1)} MB so far${stages ? ` (${stages})` : ''}`);
    },
  });
  return Promise.all(jobs.map(async (j) => (await readMarker(config, j))!));
}

const defaultLog = terminalLog();

export async function runPipeline(config: PipelineConfig, opts: RunOptions = {}): Promise<RunResult> {
  const log = opts.log ?? defaultLog;
  await loadExtraStages();
  await mkdir(config.output, { recursive: true });
  await runWave(config, 'wave1', wave1Jobs(config), log);
  if (opts.until !== 'wave1') await runWave(config, 'wave2', wave2Jobs(config), log);
  const report = await mergedReport(config);
  const finals = opts.until === 'wave1' ? new Map<string, string[]>() : await finalShards(config);
  let mixture: string | undefined;
  if (config.mixture && opts.until !== 'wave1' && opts.until !== 'wave2') {
    const tokJobs: Job[] = [];
    config.sources.forEach((s, si) => {
      for (const shard of finals.get(s.name) ?? []) tokJobs.push({ kind: 'tokenize', source: si, shard });
    });
    const markers = await runWave(config, 'tokenize', tokJobs, log);
    for (const m of markers) report.merge(m.report);
    mixture = await writeMixtureManifest(config, tokJobs, log);
  }
  await writeFile(join(config.output, 'report.txt'), report.toTable() + '\n');
  await writeJsonAtomic(join(config.output, 'report.json'), report.toJSON());
  return { report, finals, ...(mixture ? { mixture } : {}) };
}

export async function writeMixtureManifest(config: PipelineConfig, tokJobs: Job[], log: (s: string) => void): Promise<string> {
  const mix = config.mixture!;
  const sources = config.sources.map((s, si) => {
    const shards = tokJobs.filter((j) => j.source === si).map((j) => tokenShardPath(config, j as Extract<Job, { kind: 'tokenize' }>));
    const tokens = shards.reduce((a, p) => a + readTokenShardHeader(p).tokenCount, 0);
    const proportion = mix.proportions?.[s.name] ?? table1Proportion(s.name);
    if (proportion === undefined) throw new Error(`${config.configPath}: mixture: source "${s.name}" is not in Table 1; give its share in mixture.proportions`);
    const epochs = table1Epochs(s.name);
    return { name: s.name, shards: shards.map((p) => relative(config.output, p)), tokens, weight: proportion, ...(epochs !== undefined ? { paperEpochs: epochs } : {}) };
  });
  const manifest: Record<string, unknown> = { seed: mix.seed, tokenizer: mix.tokenizer, sources };
  if (mix.materializeTokens) {
    const outDir = join(config.output, 'mixture');
    await mkdir(outDir, { recursive: true });
    const donePath = join(outDir, 'mix.done.json');
    if (!existsSync(donePath)) {
      const vocab = sources.flatMap((s) => s.shards).map((p) => readTokenShardHeader(join(config.output, p)).vocabSize)[0] ?? 0;
      const res = materializeMixture(
        sources.filter((s) => s.tokens > 0).map((s) => ({ name: s.name, shards: s.shards.map((p) => join(config.output, p)), proportion: s.weight })),
        mix.materializeTokens, vocab, mix.seed, (i) => join(outDir, `mix-${String(i).padStart(5, '0')}.tok`));
      await writeJsonAtomic(donePath, { ...res, shards: res.shards.map((p) => relative(config.output, p)) });
      for (const s of res.sources) log(`[mixture] ${s.name}: ${s.tokens} tokens (${(100 * s.tokens / Math.max(1, res.tokens)).toFixed(2)}%), ${s.epochs.toFixed(2)} epochs`);
    }
    manifest.materialized = relative(config.output, donePath);
  }
  const path = join(config.output, 'mixture.json');
  await writeJsonAtomic(path, manifest);
  return path;
}
