/**
 * `llama-ts eval`: runs benchmark tasks against our model (--model PATH) or an OpenAI-compatible
 * server (--server URL) and writes a JSON report (+ Markdown tables, + per-item logs on request).
 */
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveDataDir } from '../eval/data-files.js';
import type { EvalModel } from '../eval/model.js';
import { LoadedModelAdapter } from '../eval/loaded-model.js';
import { OpenAICompletionsModel } from '../eval/openai-client.js';
import { markdownReport, formatMetric, type EvalReport } from '../eval/report.js';
import { evaluateTask, type RunProgress, type TaskResult } from '../eval/runner.js';
import { resolveTasks, TASKS, TASK_GROUPS } from '../eval/tasks/registry.js';
import { toxicityScorerFrom, type ToxicityScorer } from '../eval/toxicity.js';
import type { LoadedModel } from '../inference/types.js';

export const description = 'evaluate a model on the paper\'s benchmarks (BoolQ … TruthfulQA); JSON + Markdown report';

const HELP = `usage: llama-ts eval (--model PATH | --server URL) --tasks LIST [options]

  --model PATH          our model (any format the inference loader reads)
  --server URL          an OpenAI-compatible server with /v1/completions + logprobs (llama.cpp, vLLM, llama-ts serve)
  --server-model NAME   the "model" field sent to the server; --api-key KEY (or OPENAI_API_KEY)
  --tasks LIST          comma-separated task names or groups (--list-tasks shows them)
  --shots N             few-shot examples (default: each task's own, e.g. mmlu 5, gsm8k 8)
  --limit N             only the first N items of each task (smoke tests; not comparable)
  --samples K           samples per problem: maj1@K for math/gsm8k, pass@k for humaneval/mbpp
  --temperature T       sampling temperature where tasks sample
  --max-tokens N        override the generation length of generative tasks
  --seed N              few-shot and sampling seed (default 1234)
  --data-dir DIR        benchmark data folder (or LLAMA_TS_EVAL_DATA)
  --toxicity NAME       perspective (needs PERSPECTIVE_API_KEY; the default when set) | lexicon (local, NOT Perspective)
  --batch-size N        items per model call (default 32)
  --out FILE            JSON report (default eval-report.json); Markdown goes next to it (.md)
  --log-items FILE      one JSON line per item: prompt, scores, prediction, gold
  --list-tasks          list tasks and exit`;

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new Error(`--${name} expects an integer, got '${v}'`);
  return Number(v);
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function listTasks(): string {
  const lines = ['tasks:'];
  for (const t of TASKS) lines.push(`  ${`${t.meta.name}@${t.meta.version}`.padEnd(34)} ${t.meta.title.padEnd(18)} shots ${t.meta.defaultShots}  ${t.meta.primaryMetric}`);
  lines.push('', 'groups:');
  for (const [g, names] of Object.entries(TASK_GROUPS)) lines.push(`  ${g.padEnd(34)} ${names.join(',')}`);
  return lines.join('\n');
}

function progressPrinter(): (p: RunProgress) => void {
  const tty = process.stderr.isTTY;
  let lastLog = 0;
  return (p) => {
    const rate = p.elapsedMs > 0 ? (p.done / p.elapsedMs) * 1000 : 0;
    const eta = rate > 0 ? (p.total - p.done) / rate : NaN;
    if (tty) {
      const width = 24;
      const fill = p.total ? Math.round((p.done / p.total) * width) : width;
      process.stderr.write(`\r${p.task.padEnd(30)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${p.done}/${p.total} ${rate.toFixed(2)} it/s ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '?'}   ${p.done === p.total ? '\n' : ''}`);
    } else if (p.done === p.total || Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      process.stderr.write(JSON.stringify({ progress: p.task, done: p.done, total: p.total, itemsPerSec: Number(rate.toFixed(3)), etaSec: Number.isFinite(eta) ? Math.round(eta) : null }) + '\n');
    }
  };
}

async function openOurModel(path: string): Promise<{ model: EvalModel; loaded: LoadedModel }> {
  // Loaded lazily: the inference stack (and its WebAssembly) is only needed for --model.
  const inf = (await import('../inference/index.js')) as { loadModel?: (p: string, o?: object) => Promise<LoadedModel> };
  if (!inf.loadModel) throw new Error('this build has no model loader (src/inference loadModel); use --server URL instead');
  const loaded = await inf.loadModel(path);
  return { model: new LoadedModelAdapter(loaded), loaded };
}

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, server: { type: 'string' }, 'server-model': { type: 'string' }, 'api-key': { type: 'string' },
      tasks: { type: 'string' }, shots: { type: 'string' }, limit: { type: 'string' }, samples: { type: 'string' },
      temperature: { type: 'string' }, 'max-tokens': { type: 'string' }, seed: { type: 'string' }, 'data-dir': { type: 'string' },
      toxicity: { type: 'string' }, 'batch-size': { type: 'string' }, out: { type: 'string' }, 'log-items': { type: 'string' },
      'list-tasks': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) { console.log(HELP); return 0; }
  if (values['list-tasks']) { console.log(listTasks()); return 0; }
  if (!values.tasks) throw new Error(`--tasks is required (e.g. --tasks piqa,hellaswag)\n${listTasks()}`);
  const tasks = resolveTasks(values.tasks);
  if (!values.model === !values.server) throw new Error('give exactly one of --model PATH or --server URL');
  const temperature = values.temperature === undefined ? undefined : Number(values.temperature);
  if (temperature !== undefined && !(temperature >= 0)) throw new Error(`--temperature expects a number >= 0, got '${values.temperature}'`);
  const seed = int('seed', values.seed) ?? 1234;
  const limit = int('limit', values.limit);
  const dataDir = resolveDataDir(values['data-dir']);
  const needsToxicity = tasks.some((t) => t.meta.group === 'toxicity');
  const toxicity: ToxicityScorer | undefined = needsToxicity || values.toxicity ? toxicityScorerFrom(values.toxicity) : undefined;

  let model: EvalModel;
  let loaded: LoadedModel | null = null;
  if (values.server) {
    model = new OpenAICompletionsModel({ url: values.server, model: values['server-model'], apiKey: values['api-key'] ?? process.env.OPENAI_API_KEY });
  } else {
    ({ model, loaded } = await openOurModel(values.model!));
  }

  const logFile = values['log-items'];
  if (logFile) writeFileSync(logFile, '');
  const results: TaskResult[] = [];
  const progress = progressPrinter();
  const out = values.out ?? 'eval-report.json';
  const md = out.replace(/\.json$/i, '') + '.md';
  const writeReport = (failure?: string) => {
    const report: EvalReport = {
      kind: 'llama-ts-eval-report', formatVersion: 1, createdAt: new Date().toISOString(),
      model: { name: model.name, source: values.server ? `server ${values.server}` : `file ${values.model}`, ...(loaded ? { config: loaded.config } : {}) },
      seed, limit: limit ?? null, dataDir, results, ...(failure ? { incomplete: failure } : {}),
    };
    writeAtomic(out, JSON.stringify(report, null, 2) + '\n');
    writeAtomic(md, markdownReport(report));
  };
  try {
    for (const task of tasks) {
      const r = await evaluateTask(task, model, {
        dataDir, seed, limit, shots: int('shots', values.shots), samples: int('samples', values.samples), temperature,
        maxTokens: int('max-tokens', values['max-tokens']), toxicity, batchSize: int('batch-size', values['batch-size']),
        onProgress: progress,
        onItem: logFile ? (t, id, s) => appendFileSync(logFile, JSON.stringify({ task: t, id, metrics: s.metrics, ...s.log }) + '\n') : undefined,
      });
      results.push(r);
      const p = r.metrics[r.meta.primaryMetric] ?? Object.values(r.metrics)[0];
      console.log(`${r.task}: ${r.meta.primaryMetric} ${p ? formatMetric(r.meta.primaryMetric, p) : 'n/a'} (${r.items} items, ${r.seconds.toFixed(1)} s)`);
    }
  } catch (e) {
    // Keep what finished: a failure in task 5 should not throw away tasks 1-4.
    if (results.length > 0) {
      writeReport(`stopped: ${(e as Error).message}`);
      console.error(`partial report (${results.length} of ${tasks.length} tasks): ${out}, ${md}`);
    }
    throw e;
  } finally {
    await model.close?.();
    loaded?.dispose();
  }
  writeReport();
  console.log(`report: ${out}, ${md}${logFile ? `, items: ${logFile}` : ''}`);
  return 0;
}
