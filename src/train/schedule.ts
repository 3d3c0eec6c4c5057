/**
 * The paper's learning-rate schedule (PAPER.md §5): linear warmup (2,000 steps in the paper) to the
 * peak rate of Table 2, then a cosine decay whose final rate is 10% of the peak. And the token batch
 * size of Table 2 (4M tokens) reached by gradient accumulation of B×T micro-batches.
 */
import { TABLE2_OPTIM } from '../model/config.js';

export interface LrSchedule {
  peakLr: number;
  warmupSteps: number;
  /** Optimizer steps in the whole run; the cosine reaches its floor here. */
  totalSteps: number;
  /** Final rate as a fraction of the peak (0.1 in the paper). */
  minLrRatio: number;
}

export function validateSchedule(s: LrSchedule): void {
  const bad = (m: string) => { throw new Error(`learning-rate schedule: ${m} (${JSON.stringify(s)})`); };
  if (!(s.peakLr > 0) || !Number.isFinite(s.peakLr)) bad('peakLr must be a positive number');
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0) bad('warmupSteps must be an integer >= 0');
  if (!Number.isInteger(s.totalSteps) || s.totalSteps < 1) bad('totalSteps must be an integer >= 1');
  if (s.warmupSteps > s.totalSteps) bad('warmupSteps must not exceed totalSteps');
  if (!(s.minLrRatio >= 0 && s.minLrRatio <= 1)) bad('minLrRatio must be in [0, 1]');
}

/**
 * Learning rate of optimizer step `step` (0-based: the first update is step 0).
 *   warmup (step < W):  peak * (step + 1) / W          — reaches the peak on the last warmup step
 *   decay:              min + (peak - min) * (1 + cos(pi * p)) / 2,  p = (step + 1 - W) / (S - W)
 * so step S-1 (the last one) runs at exactly min = minLrRatio * peak; past S the rate stays at min.
 */
export function learningRate(step: number, s: LrSchedule): number {
  const peak = s.peakLr;
  const min = s.minLrRatio * peak;
  const W = s.warmupSteps;
  if (step < W) return (peak * (step + 1)) / W;
  if (s.totalSteps === W) return min;
  const p = Math.min(1, (step + 1 - W) / (s.totalSteps - W));
  return min + ((peak - min) * (1 + Math.cos(Math.PI * p))) / 2;
}

export interface TokenBatch {
  microBatch: number;    // B sequences per forward/backward
  seqLen: number;        // T tokens per sequence
  accumSteps: number;    // micro-batches summed per optimizer step
  batchTokens: number;   // B * T * accumSteps, the effective batch in tokens
}

/**
 * Gradient accumulation that reaches `batchTokens` with micro-batches of B×T tokens: the nearest
 * whole number of micro-batches (at least 1). The paper's 4M-token batch (4·2^20) with B×T = 8×256
 * is 2,048 micro-batches; a target that is not a multiple of B×T is rounded and the actual size reported.
 */
export function tokenBatch(batchTokens: number, B: number, T: number): TokenBatch {
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) throw new Error(`micro-batch must be positive integers, got B=${B} T=${T}`);
  if (!(batchTokens > 0)) throw new Error(`batch size in tokens must be positive, got ${batchTokens}`);
  const accumSteps = Math.max(1, Math.round(batchTokens / (B * T)));
  return { microBatch: B, seqLen: T, accumSteps, batchTokens: accumSteps * B * T };
}

/** Table 2's recipe for a model size: peak rate, 4M-token batches, steps for its token budget, 2,000 warmup steps. */
export function table2Recipe(size: string): { schedule: LrSchedule; batchTokens: number; tokens: number } {
  const o = TABLE2_OPTIM[size];
  if (!o) throw new Error(`no Table 2 recipe for '${size}' (known: ${Object.keys(TABLE2_OPTIM).join(', ')})`);
  const totalSteps = Math.ceil(o.tokens / o.batchTokens);
  return { schedule: { peakLr: o.lr, warmupSteps: 2000, totalSteps, minLrRatio: 0.1 }, batchTokens: o.batchTokens, tokens: o.tokens };
}
