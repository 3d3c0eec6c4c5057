/**
 * `llama-ts data`: the pre-training data pipeline (issue 6).
 *
 *   llama-ts data run    --config FILE [--workers N]    all waves (+ mixture if configured), resumable
 *   llama-ts data wave1  --config FILE                  only the per-input wave
 *   llama-ts data wave2  --config FILE                  wave 1 (if needed) and the global-dedup wave
 *   llama-ts data report --config FILE [--json]         the merged report of what has run
 *   llama-ts data stage TYPE --reader R --output DIR [--options JSON] INPUT...
 *                                                       one stage over some inputs, for trying rules
 *   llama-ts data queue  --config FILE --redis HOST:PORT [--workers N]
 *                                                       the same run as BullMQ jobs (several processes)
 *   llama-ts data worker --config FILE --redis HOST:PORT  join a queued run from another process/machine
 */
import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig, parseConfig } from '../data/ops/config.js';
import { runPipeline } from '../data/ops/run.js';
import { mergedReport } from '../data/ops/job.js';
import { READER_TYPES, STAGE_TYPES, loadExtraStages } from '../data/ops/registry.js';

export const description = 'data pipeline: read, filter, dedup, mix and tokenize pre-training sources';

const USAGE = `usage:
  llama-ts data run    --config FILE [--workers N]
  llama-ts data wave1  --config FILE [--workers N]
  llama-ts data wave2  --config FILE [--workers N]
  llama-ts data report --config FILE [--json]
  llama-ts data stage TYPE --reader READER --output DIR [--options JSON] INPUT...
  llama-ts data queue  --config FILE --redis HOST:PORT [--workers N]
  llama-ts data worker --config FILE --redis HOST:PORT`;

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 1;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      workers: { type: 'string' },
      json: { type: 'boolean' },
      reader: { type: 'string' },
      output: { type: 'string' },
      options: { type: 'string' },
      redis: { type: 'string' },
    },
  });
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new Error(`--workers must be a positive integer, got "${values.workers}"`);
  const needConfig = async () => {
    if (!values.config) throw new Error(`llama-ts data ${sub}: --config FILE is required\n${USAGE}`);
    const c = await loadConfig(values.config);
    return workers ? { ...c, workers } : c;
  };
  await loadExtraStages();
  switch (sub) {
    case 'run':
    case 'wave1':
    case 'wave2': {
      const config = await needConfig();
      const r = await runPipeline(config, sub === 'run' ? {} : { until: sub });
      console.log(r.report.toTable());
      console.log(`\nreport: ${join(config.output, 'report.json')}${r.mixture ? `\nmixture: ${r.mixture}` : ''}`);
      return 0;
    }
    case 'report': {
      const config = await needConfig();
      const r = await mergedReport(config);
      console.log(values.json ? JSON.stringify(r.toJSON(), null, 1) : r.toTable());
      return 0;
    }
    case 'stage': {
      const [type, ...inputs] = positionals;
      if (!type || !STAGE_TYPES.includes(type)) throw new Error(`llama-ts data stage: give a stage type (${STAGE_TYPES.join(', ')})`);
      if (!values.reader || !READER_TYPES.includes(values.reader)) throw new Error(`llama-ts data stage: --reader must be one of ${READER_TYPES.join(', ')}`);
      if (!values.output) throw new Error('llama-ts data stage: --output DIR is required');
      if (inputs.length === 0) throw new Error('llama-ts data stage: give at least one input file');
      let options: Record<string, unknown> = {};
      if (values.options) {
        try {
          options = JSON.parse(values.options) as Record<string, unknown>;
        } catch (e) {
          throw new Error(`--options is not valid JSON: ${(e as Error).message}`);
        }
      }
      const out = resolve(values.output);
      await mkdir(out, { recursive: true });
      const cfgPath = join(out, 'stage-config.json');
      const json = { output: '.', workers: workers ?? 1, sources: [{ name: type.replace(/[^a-z0-9_-]/gi, '_'), reader: values.reader, inputs: inputs.map((p) => resolve(p)), stages: [{ ...options, type }] }] };
      await writeFile(cfgPath, JSON.stringify(json, null, 1));
      const r = await runPipeline(parseConfig(json, cfgPath));
      console.log(r.report.toTable());
      return 0;
    }
    case 'queue':
    case 'worker': {
      const config = await needConfig();
      if (!values.redis) throw new Error(`llama-ts data ${sub}: --redis HOST:PORT is required`);
      const { runQueued, runQueueWorker } = await import('../data/ops/queue.js');
      if (sub === 'queue') {
        const r = await runQueued(config, values.redis, { processes: workers ?? config.workers });
        console.log(r.report.toTable());
      } else await runQueueWorker(config, values.redis);
      return 0;
    }
    default:
      throw new Error(`llama-ts data: unknown subcommand "${sub}"\n${USAGE}`);
  }
}
