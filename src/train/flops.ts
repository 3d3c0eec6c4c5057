/**
 * Model FLOPs utilisation (MFU) and the memory a training run needs.
 *
 * FLOPs per trained token, PaLM's accounting (Chowdhery et al. 2022, appendix B): 6·N for the
 * matmuls of forward + backward, N = the non-embedding parameters (the output head included; the
 * embedding lookup is no matmul), plus 12·L·d·T for attention scores and values over a context of T.
 * MFU = that times tokens/s, over the machine's measured FP32 peak.
 */
import { parameterCount, type LlamaConfig } from '../model/config.js';
import { totalmem } from 'node:os';

/** FP32 FMA peak of this project's reference machine, GFLOP/s (../shared/peers/PEERS.md "Physical limits"). */
export const MEASURED_PEAK_GFLOPS: Record<number, number> = { 1: 101.8, 2: 198.6 };

export function peakGflops(threads: number): number {
  return MEASURED_PEAK_GFLOPS[threads] ?? MEASURED_PEAK_GFLOPS[1] * threads;
}

export function trainFlopsPerToken(c: LlamaConfig, T: number): number {
  const nonEmbedding = parameterCount(c) - c.vocabSize * c.dim;
  return 6 * nonEmbedding + 12 * c.nLayers * c.dim * T;
}

export function mfu(c: LlamaConfig, T: number, tokensPerSec: number, peakGflopsValue: number): number {
  return (trainFlopsPerToken(c, T) * tokensPerSec) / (peakGflopsValue * 1e9);
}

export interface MemoryPlan {
  params: number;
  grads: number;
  adamMoments: number;
  activations: number;
  total: number;
}

export function trainingMemory(c: LlamaConfig, activationBytes: number): MemoryPlan {
  const p = parameterCount(c) * 4;
  const plan = { params: p, grads: p, adamMoments: 2 * p, activations: activationBytes, total: 0 };
  plan.total = plan.params + plan.grads + plan.adamMoments + plan.activations;
  return plan;
}

const gib = (b: number) => (b / 2 ** 30).toFixed(2) + ' GiB';

/**
 * Throws, before anything is allocated, when the run cannot fit: over the machine's memory, or a
 * single arena over WebAssembly's 4 GiB per memory (wasm32).
 */
export function checkFits(plan: MemoryPlan, what: string, opts: { machineBytes?: number; wasm?: boolean } = {}): void {
  const machine = opts.machineBytes ?? totalmem();
  const parts = `parameters ${gib(plan.params)} + gradients ${gib(plan.grads)} + AdamW moments ${gib(plan.adamMoments)} + activations ${gib(plan.activations)}`;
  if (plan.total > 0.85 * machine) {
    throw new Error(`${what} does not fit in memory: it needs ${gib(plan.total)} (${parts}) but this machine has ${gib(machine)}. ` +
      'Use a smaller model, a smaller --batch or --seq-len, or --recompute full to cut activations');
  }
  if (opts.wasm) {
    const biggest = Math.max(plan.params, plan.adamMoments / 2, plan.activations);
    if (biggest > 4 * 2 ** 30 - 2 ** 26) {
      throw new Error(`${what} does not fit the WebAssembly engine: one arena would need ${gib(biggest)} (${parts}), over the 4 GiB a wasm32 memory can hold. Use a smaller model or batch`);
    }
  }
}
