/**
 * Runs tasks against an EvalModel: plans items, sends their requests in batches (one
 * loglikelihood call and one generate call per batch of items, so adapters can share contexts
 * and servers get full batches), scores each item and aggregates every metric as a mean with
 * its standard error.
 */
import type { EvalModel } from './model.js';
import { meanWithStderr, type MetricValue } from './stats.js';
import type { ItemScore, Task, TaskMeta, TaskOptions } from './task.js';
import { taskId } from './task.js';

export interface RunProgress { task: string; done: number; total: number; elapsedMs: number }

export interface RunOptions extends Omit<TaskOptions, 'shots'> {
  /** Shots for every task; each task's default when undefined. */
  shots?: number;
  /** Items whose requests go to the model together (default 32). */
  batchSize?: number;
  onProgress?: (p: RunProgress) => void;
  /** Receives every item's log line (for --log-items). */
  onItem?: (task: string, id: string, score: ItemScore) => void;
}

export interface TaskResult {
  task: string;
  meta: TaskMeta;
  settings: Record<string, unknown>;
  items: number;
  metrics: Record<string, MetricValue>;
  seconds: number;
}

export function aggregate(scores: readonly ItemScore[]): Record<string, MetricValue> {
  const byKey = new Map<string, number[]>();
  for (const s of scores) for (const [k, v] of Object.entries(s.metrics)) {
    let a = byKey.get(k);
    if (!a) { a = []; byKey.set(k, a); }
    a.push(v);
  }
  const out: Record<string, MetricValue> = {};
  for (const k of [...byKey.keys()].sort((a, b) => (a.includes('/') ? 1 : 0) - (b.includes('/') ? 1 : 0) || a.localeCompare(b))) out[k] = meanWithStderr(byKey.get(k)!);
  return out;
}

export async function evaluateTask(task: Task, model: EvalModel, opts: RunOptions): Promise<TaskResult> {
  const shots = opts.shots ?? task.meta.defaultShots;
  if (!Number.isInteger(shots) || shots < 0) throw new Error(`--shots must be a non-negative integer (got ${shots})`);
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) throw new Error(`--limit must be a positive integer (got ${opts.limit})`);
  if (opts.samples !== undefined && (!Number.isInteger(opts.samples) || opts.samples < 1)) throw new Error(`--samples must be a positive integer (got ${opts.samples})`);
  const topts: TaskOptions = { ...opts, shots };
  const name = taskId(task.meta);
  const start = Date.now();
  const plans = await task.plan(topts);
  const batchSize = Math.max(1, opts.batchSize ?? 32);
  const scores: ItemScore[] = [];
  opts.onProgress?.({ task: name, done: 0, total: plans.length, elapsedMs: 0 });
  for (let b = 0; b < plans.length; b += batchSize) {
    const batch = plans.slice(b, b + batchSize);
    const llReqs = batch.flatMap((p) => p.ll ?? []);
    const genReqs = batch.flatMap((p) => p.gen ?? []);
    const ll = llReqs.length ? await model.loglikelihood(llReqs) : [];
    const gen = genReqs.length ? await model.generate(genReqs) : [];
    if (ll.length !== llReqs.length || gen.length !== genReqs.length) throw new Error(`model ${model.name} returned ${ll.length}/${llReqs.length} log-likelihoods and ${gen.length}/${genReqs.length} generations`);
    let li = 0;
    let gi = 0;
    for (const p of batch) {
      const nl = p.ll?.length ?? 0;
      const ng = p.gen?.length ?? 0;
      const s = await p.score(ll.slice(li, li + nl), gen.slice(gi, gi + ng));
      li += nl; gi += ng;
      scores.push(s);
      opts.onItem?.(name, p.id, s);
    }
    opts.onProgress?.({ task: name, done: Math.min(plans.length, b + batch.length), total: plans.length, elapsedMs: Date.now() - start });
  }
  return {
    task: name,
    meta: task.meta,
    settings: {
      shots, seed: opts.seed, limit: opts.limit ?? null, template: task.meta.template, fewShotSource: task.meta.fewShotSource,
      answerFormat: task.meta.answerFormat, batchSize,
      ...(opts.maxTokens !== undefined ? { maxTokensOverride: opts.maxTokens } : {}),
      ...(task.settings?.(topts) ?? {}),
    },
    items: plans.length,
    metrics: aggregate(scores),
    seconds: (Date.now() - start) / 1000,
  };
}
