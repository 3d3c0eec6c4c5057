/**
 * What a task is: metadata recorded in every report (versioned name, exact template, few-shot
 * source, answer format) and a planner that turns benchmark records into model requests plus a
 * scoring function per item. The runner (runner.ts) batches the requests of many items.
 */
import type { GenerateRequest, LoglikelihoodRequest, LoglikelihoodResult } from './model.js';
import type { SandboxOptions } from './sandbox.js';
import type { ToxicityScorer } from './toxicity.js';

export interface TaskMeta {
  /** Short name used on the command line (e.g. 'piqa'). */
  name: string;
  /** Bumped whenever the template, loader or scoring changes results; reports name `name@version`. */
  version: number;
  /** The column title in the paper's tables. */
  title: string;
  /** The paper table family, for grouping reports. */
  group: 'common-sense' | 'closed-book-qa' | 'reading' | 'math' | 'code' | 'mmlu' | 'bias' | 'truthfulqa' | 'toxicity';
  /** The exact prompt template; {field} marks a substitution. */
  template: string;
  /** Where few-shot examples come from. */
  fewShotSource: string;
  /** What is compared with the gold answer, and how. */
  answerFormat: string;
  defaultShots: number;
  /** Data files read, relative to the data folder. */
  files: string[];
  /** The metric shown first in tables. */
  primaryMetric: string;
  /** Whether a higher primary metric is better (false for bias/toxicity). */
  higherIsBetter: boolean;
  /** Columns [title, metric] of this task in the paper-style table (default: [title, primaryMetric]). */
  columns?: [string, string][];
}

export interface TaskOptions {
  dataDir: string;
  shots: number;
  seed: number;
  /** Use only the first `limit` evaluation items (after loading, in file order). */
  limit?: number;
  /** Samples per problem for sampling metrics (maj1@k, pass@k). */
  samples?: number;
  /** Sampling temperature where samples > 1 (the task's default otherwise). */
  temperature?: number;
  /** Override the task's generation length. */
  maxTokens?: number;
  sandbox?: SandboxOptions;
  toxicity?: ToxicityScorer;
}

export interface ItemScore {
  /** Per-item metric values; an absent key means "not part of that metric's population". */
  metrics: Record<string, number>;
  /** Written to --log-items. */
  log: Record<string, unknown>;
}

export interface ItemPlan {
  id: string;
  ll?: LoglikelihoodRequest[];
  gen?: GenerateRequest[];
  score(ll: LoglikelihoodResult[], gen: string[]): ItemScore | Promise<ItemScore>;
}

export interface Task {
  meta: TaskMeta;
  /** Settings that the report records besides the options (e.g. samples, temperature actually used). */
  settings?(opts: TaskOptions): Record<string, unknown>;
  plan(opts: TaskOptions): Promise<ItemPlan[]> | ItemPlan[];
}

export function taskId(meta: TaskMeta): string { return `${meta.name}@${meta.version}`; }

/** First `limit` of `xs` (all when undefined). */
export function applyLimit<T>(xs: readonly T[], limit?: number): T[] {
  return limit === undefined ? xs.slice() : xs.slice(0, Math.max(0, limit));
}
