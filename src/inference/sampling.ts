/**
 * Choosing the next token from a log-softmax row: greedy (temperature 0), or sampling from
 * softmax(logprobs / temperature) restricted to the top-k tokens and then to the smallest set whose
 * probability reaches top-p (the order llama.cpp and HF apply them). Seeded, so deterministic.
 */
import { Rng } from '../util/rng.js';

export interface SamplerSettings {
  temperature: number; // 0 = greedy
  topK: number;        // 0 = off
  topP: number;        // 1 = off
}

export function checkSamplerSettings(s: SamplerSettings): void {
  if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) throw new Error(`temperature must be a number >= 0, got ${s.temperature}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new Error(`top-k must be an integer >= 0 (0 = off), got ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new Error(`top-p must be in (0, 1] (1 = off), got ${s.topP}`);
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export class Sampler {
  private readonly rng: Rng;
  constructor(readonly settings: SamplerSettings, seed: number) {
    checkSamplerSettings(settings);
    this.rng = new Rng(seed);
  }

  /** The next token id from one log-softmax row. */
  sample(logprobs: Float32Array): number {
    const { temperature, topK, topP } = this.settings;
    if (temperature === 0) return argmax(logprobs);
    const V = logprobs.length;
    // candidates sorted by probability (ties by id, for determinism); tokens below e^-40 of the
    // best are dropped first (they cannot change a float64 sum), which keeps the sort short
    let best = -Infinity;
    for (let i = 0; i < V; i++) if (logprobs[i] > best) best = logprobs[i];
    const floor = best - 40 * temperature;
    let ids: number[] = [];
    for (let i = 0; i < V; i++) if (logprobs[i] >= floor) ids.push(i);
    ids.sort((a, b) => logprobs[b] - logprobs[a] || a - b);
    if (topK > 0 && topK < V) ids = ids.slice(0, topK);
    const mx = logprobs[ids[0]] / temperature;
    const p = ids.map((i) => Math.exp(logprobs[i] / temperature - mx));
    let total = p.reduce((a, b) => a + b, 0);
    if (topP < 1) {
      let acc = 0;
      let keep = ids.length;
      for (let j = 0; j < ids.length; j++) {
        acc += p[j] / total;
        if (acc >= topP) { keep = j + 1; break; }
      }
      ids = ids.slice(0, keep);
      p.length = keep;
      total = p.reduce((a, b) => a + b, 0);
    }
    let u = this.rng.uniform() * total;
    for (let j = 0; j < ids.length; j++) {
      u -= p[j];
      if (u < 0) return ids[j];
    }
    return ids[ids.length - 1];
  }
}
