/**
 * The training loop (PAPER.md §5-§6): micro-batches of B×T tokens summed by gradient accumulation
 * into one optimizer step, AdamW with global-norm clipping, warmup + cosine schedule, periodic
 * validation loss (and optional extra evaluations, the paper's Figure 2), JSON-lines logs,
 * checkpoints written atomically, and exact resume: a checkpoint holds the weights, the AdamW
 * moments and step, the data position and the RNG state, so a run killed at any moment (even by
 * SIGKILL) and resumed from its last checkpoint computes bit-for-bit the same losses as a run that
 * was never interrupted (same backend and thread count).
 *
 * Non-finite loss or gradient: the step is not applied, nothing is saved over the last good
 * checkpoint, and the run stops with TrainingDiverged naming the step.
 */
import type { Backend } from '../kernels/backend.js';
import { parameterCount, type LlamaConfig } from '../model/config.js';
import { createGrads, createParams, initParams, type ParamSet } from '../model/params.js';
import { activationBytes, backward, createActivations, forward, type Activations, type CheckpointMode } from '../model/transformer.js';
import { Rng } from '../util/rng.js';
import { CpuFootprintMeter, type CpuEstimate } from '../util/cpu-footprint.js';
import type { BatchSource } from './batch-source.js';
import { loadCheckpoint, readCheckpointHeader, writeCheckpoint } from './checkpoint.js';
import { checkFits, mfu, trainingMemory, type MemoryPlan } from './flops.js';
import { AdamW, type AdamWConfig, type TrainableTensor } from './optimizer.js';
import type { RunDir } from './run-dir.js';
import { learningRate, validateSchedule, type LrSchedule } from './schedule.js';

/** Everything that defines a run (saved as run.json; a resumed run reads it back). */
export interface TrainSettings {
  kind: 'pretrain' | 'finetune';
  model: LlamaConfig;
  /** Preset name or file the model came from (for logs). */
  modelName: string;
  batch: number;          // B: sequences per micro-batch
  seqLen: number;         // T
  accumSteps: number;     // micro-batches per optimizer step
  schedule: LrSchedule;
  optim: AdamWConfig;
  seed: number;
  checkpointEvery: number; // optimizer steps between checkpoints (0: only at the end)
  keepCheckpoints: number;
  evalEvery: number;       // steps between validation evaluations (0: never)
  evalBatches: number;     // micro-batches of validation data per evaluation
  logEvery: number;        // steps between progress lines when not on a terminal
  recompute: CheckpointMode;
  threads: number;
  backend: 'wasm' | 'reference';
  /** FP32 peak of the machine for MFU, GFLOP/s. */
  peakGflops: number;
  /** How the data sources were specified (opaque to the trainer; the CLI rebuilds them on resume). */
  data: Record<string, unknown>;
  /** Where the initial weights came from: a seed (pretraining) or a model file (finetuning). */
  initFrom: string | null;
  tokenizer: string | null;
  /** Benchmark tasks evaluated with the validation loss (Figure 2), run by the CLI's hook. */
  evalTasks?: { spec: string; limit: number; dataDir: string | null };
}

export class TrainingDiverged extends Error {
  constructor(readonly step: number, readonly lastCheckpoint: string | null, what: string) {
    super(`training diverged at step ${step}: ${what}. ` +
      (lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}; resume from it with a lower learning rate (--lr) or more warmup.`
        : 'No checkpoint was written before it; restart with a lower learning rate (--lr) or more warmup.'));
  }
}

export interface StepRecord {
  step: number;          // optimizer steps completed
  loss: number;          // mean training loss of the step's micro-batches
  lr: number;
  gradNorm: number;      // before clipping
  clip: number;          // clipping factor applied (1 = not clipped)
  tokens: number;        // training tokens processed so far
  tokensPerSec: number;
  mfu: number;
  elapsedSec: number;
}

export interface TrainProgress extends StepRecord { totalSteps: number; etaSec: number; valLoss?: number }

export interface TrainerHooks {
  /** Extra evaluations run with the validation loss (Figure 2's tasks); their numbers are logged with the step. */
  evaluate?: (step: number, params: ParamSet) => Promise<Record<string, number>>;
  onStep?: (p: TrainProgress) => void;
  onEval?: (step: number, metrics: Record<string, number>) => void;
  onCheckpoint?: (step: number, path: string) => void;
  /** Checked between steps: when it returns true, the trainer saves a checkpoint and stops. */
  shouldStop?: () => boolean;
}

export interface TrainResult {
  stepsDone: number;
  lastLoss: number;
  valLoss: number | null;
  stopped: 'done' | 'interrupted';
  checkpoint: string | null;
  /** This session's CPU energy/carbon ESTIMATE (also logged as a {kind: 'footprint'} record). */
  footprint: CpuEstimate;
}

export function memoryPlan(s: Pick<TrainSettings, 'model' | 'batch' | 'seqLen' | 'recompute'>): MemoryPlan {
  return trainingMemory(s.model, activationBytes(s.model, s.batch, s.seqLen, s.recompute));
}

export function validateSettings(s: TrainSettings): void {
  validateSchedule(s.schedule);
  const ints: [string, number, number][] = [['batch', s.batch, 1], ['seqLen', s.seqLen, 1], ['accumSteps', s.accumSteps, 1],
    ['checkpointEvery', s.checkpointEvery, 0], ['keepCheckpoints', s.keepCheckpoints, 1], ['evalEvery', s.evalEvery, 0],
    ['evalBatches', s.evalBatches, 1], ['logEvery', s.logEvery, 1], ['threads', s.threads, 1]];
  for (const [k, v, min] of ints) if (!Number.isInteger(v) || v < min) throw new Error(`training setting ${k} must be an integer >= ${min}, got ${v}`);
  if (s.seqLen > s.model.maxSeqLen) throw new Error(`seqLen ${s.seqLen} exceeds the model's context length ${s.model.maxSeqLen}`);
  if (!['none', 'selective', 'full'].includes(s.recompute)) throw new Error(`recompute must be none, selective or full, got '${s.recompute}'`);
}

export class Trainer {
  readonly params: ParamSet;
  readonly grads: ParamSet;
  readonly acts: Activations;
  readonly opt: AdamW;
  readonly rng: Rng;
  readonly plan: MemoryPlan;
  private readonly tokens: Int32Array;
  private readonly targets: Int32Array;
  private readonly valStart: unknown;
  private tokensSeen = 0;
  private lastCheckpoint: string | null = null;
  private lastVal: number | null = null;

  /** Checks the memory budget first, then allocates parameters, gradients, moments and activations. */
  constructor(readonly backend: Backend, readonly s: TrainSettings, readonly run: RunDir,
    readonly data: BatchSource, readonly val: BatchSource | null, readonly hooks: TrainerHooks = {}) {
    validateSettings(s);
    if (data.seqLen !== s.seqLen) throw new Error(`the training data yields rows of ${data.seqLen} tokens, the run uses seqLen ${s.seqLen}`);
    this.plan = memoryPlan(s);
    checkFits(this.plan, `training ${s.modelName} (${(parameterCount(s.model) / 1e6).toFixed(1)}M parameters) with batch ${s.batch}×${s.seqLen}`,
      { wasm: backend.name.includes('wasm') });
    this.params = createParams(backend, s.model);
    this.grads = createGrads(backend, s.model);
    const trainable: TrainableTensor[] = this.params.specs.map((sp) => ({
      name: sp.name, shape: sp.shape, param: this.params.tensors.get(sp.name)!, grad: this.grads.tensors.get(sp.name)!,
    }));
    this.opt = new AdamW(backend, trainable, s.optim);
    this.acts = createActivations(backend, s.model, s.batch, s.seqLen, s.recompute);
    this.tokens = new Int32Array(s.batch * s.seqLen);
    this.targets = new Int32Array(s.batch * s.seqLen);
    this.rng = new Rng(s.seed);
    this.valStart = val ? structuredClone(val.position) : null;
  }

  get step(): number { return this.opt.step; }

  /** Fresh weights: N(0, 0.02) matrices, unit norm gains, from the run's seed (src/model/params.ts). */
  initFresh(): void {
    initParams(this.params, this.rng.nextU32());
  }

  private sections() {
    const order = this.params.specs.map((sp) => sp.name);
    return [
      { name: 'params', arrays: order.map((n) => this.params.tensors.get(n)!) },
      { name: 'adam_m', arrays: this.opt.m },
      { name: 'adam_v', arrays: this.opt.v },
    ];
  }

  saveCheckpoint(): string {
    const path = this.run.checkpointPath(this.step);
    // Where the data stands (per source: weight and epochs so far — Table 1's columns, as achieved).
    // Logged before the checkpoint exists, so a kill in between leaves a record that resume drops.
    this.run.log({ step: this.step, kind: 'data', ...this.data.describe() });
    writeCheckpoint(path, {
      config: this.s.model,
      step: this.step,
      state: { data: this.data.position, rng: this.rng.getState(), tokensSeen: this.tokensSeen, lastVal: this.lastVal, settings: this.s },
      tensors: this.params.specs.map((sp) => ({ name: sp.name, shape: sp.shape })),
    }, this.sections());
    this.lastCheckpoint = path;
    this.run.prune(this.s.keepCheckpoints);
    this.hooks.onCheckpoint?.(this.step, path);
    return path;
  }

  /**
   * Restores the newest checkpoint that reads back intact (a damaged newest one is reported and the
   * one before it used). Returns the step resumed from, or null when the run has none.
   */
  resumeLatest(warn: (msg: string) => void = () => {}): number | null {
    const list = this.run.checkpoints();
    for (const c of list) {
      try {
        const h = loadCheckpoint(c.path, this.s.model, this.sections());
        const st = h.state as { data: unknown; rng: ReturnType<Rng['getState']>; tokensSeen: number; lastVal: number | null };
        this.data.position = st.data;
        this.rng.setState(st.rng);
        this.opt.step = h.step;
        this.tokensSeen = st.tokensSeen;
        this.lastVal = st.lastVal;
        this.lastCheckpoint = c.path;
        this.run.truncateLog(h.step);
        return h.step;
      } catch (e) {
        const msg = (e as Error).message;
        if (/another model config/.test(msg)) throw e;
        warn(`skipping checkpoint ${c.path}: ${msg}`);
      }
    }
    if (list.length) throw new Error(`no readable checkpoint in ${this.run.checkpointDir} (all ${list.length} failed to load)`);
    this.run.truncateLog(-1); // killed before its first checkpoint: the run starts over, so does its log
    return null;
  }

  /**
   * Seconds one optimizer step takes (median of `n` forward+backward passes over a dummy batch, times
   * the accumulation steps): sizes a run to a time budget. Leaves the weights, the optimizer and the
   * data position untouched (only the gradients, which every step zeroes first).
   */
  timeStep(n = 3): number {
    const tokens = new Int32Array(this.tokens.length).map((_, i) => i % this.s.model.vocabSize);
    const targets = tokens.map((x) => (x + 1) % this.s.model.vocabSize);
    const times: number[] = [];
    for (let i = 0; i < n + 1; i++) {
      const t = performance.now();
      forward(this.params, this.acts, tokens, targets);
      backward(this.params, this.grads, this.acts, tokens, targets);
      if (i > 0) times.push((performance.now() - t) / 1000); // the first pass warms up
    }
    for (const g of this.grads.tensors.values()) g.fill(0);
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)] * this.s.accumSteps;
  }

  /** Mean validation loss over evalBatches fixed micro-batches (the same ones at every evaluation). */
  validationLoss(): number | null {
    if (!this.val) return null;
    this.val.position = structuredClone(this.valStart);
    let sum = 0, count = 0;
    for (let i = 0; i < this.s.evalBatches; i++) {
      this.val.nextBatch(this.s.batch, this.tokens, this.targets);
      const loss = forward(this.params, this.acts, this.tokens, this.targets);
      sum += loss * this.acts.numTargets;
      count += this.acts.numTargets;
    }
    return count ? sum / count : null;
  }

  private async evaluate(step: number): Promise<Record<string, number>> {
    const metrics: Record<string, number> = {};
    const v = this.validationLoss();
    if (v !== null) {
      metrics.valLoss = v;
      metrics.valPpl = Math.exp(v);
      this.lastVal = v;
    }
    if (this.hooks.evaluate) Object.assign(metrics, await this.hooks.evaluate(step, this.params));
    if (Object.keys(metrics).length) {
      this.run.log({ step, kind: 'eval', ...metrics, time: new Date().toISOString() });
      this.hooks.onEval?.(step, metrics);
    }
    return metrics;
  }

  /** Runs optimizer steps until the schedule's totalSteps (or `untilStep`), checkpointing as configured. */
  async train(untilStep = this.s.schedule.totalSteps): Promise<TrainResult> {
    const s = this.s;
    const total = s.schedule.totalSteps;
    const stepTokens = s.batch * s.seqLen * s.accumSteps;
    const t0 = performance.now();
    const startStep = this.step;
    let lastLoss = NaN;
    const recent: number[] = []; // seconds of the last steps, for tokens/s and ETA
    // the run records its own footprint (PAPER.md §10 in spirit): CPU time x power per core, an estimate
    const meter = new CpuFootprintMeter();
    const footprint = (): CpuEstimate => {
      const f = meter.estimate();
      this.run.log({ step: this.step, kind: 'footprint', estimate: f, time: new Date().toISOString() });
      return f;
    };
    if (s.evalEvery > 0 && this.step === 0) await this.evaluate(0);
    while (this.step < Math.min(total, untilStep)) {
      if (this.hooks.shouldStop?.()) {
        const ck = this.saveCheckpoint();
        return { stepsDone: this.step, lastLoss, valLoss: this.lastVal, stopped: 'interrupted', checkpoint: ck, footprint: footprint() };
      }
      const ts = performance.now();
      for (const g of this.grads.tensors.values()) g.fill(0);
      let lossSum = 0;
      for (let a = 0; a < s.accumSteps; a++) {
        this.data.nextBatch(s.batch, this.tokens, this.targets);
        const loss = forward(this.params, this.acts, this.tokens, this.targets);
        if (!Number.isFinite(loss)) {
          this.run.log({ step: this.step + 1, kind: 'diverged', loss: String(loss) });
          throw new TrainingDiverged(this.step + 1, this.lastCheckpoint, `the loss is ${loss} (micro-batch ${a + 1} of ${s.accumSteps})`);
        }
        backward(this.params, this.grads, this.acts, this.tokens, this.targets);
        lossSum += loss;
      }
      const lr = learningRate(this.step, s.schedule);
      const st = this.opt.update(lr, s.accumSteps);
      if (!Number.isFinite(st.gradNorm)) {
        this.run.log({ step: this.step + 1, kind: 'diverged', gradNorm: String(st.gradNorm) });
        throw new TrainingDiverged(this.step + 1, this.lastCheckpoint, `the gradient norm is ${st.gradNorm}`);
      }
      lastLoss = lossSum / s.accumSteps;
      this.tokensSeen += stepTokens;
      const dt = (performance.now() - ts) / 1000;
      recent.push(dt);
      if (recent.length > 10) recent.shift();
      const avg = recent.reduce((x, y) => x + y, 0) / recent.length;
      const tps = stepTokens / avg;
      const rec: StepRecord = {
        step: this.step, loss: lastLoss, lr, gradNorm: st.gradNorm, clip: st.clipScale, tokens: this.tokensSeen,
        tokensPerSec: tps, mfu: mfu(s.model, s.seqLen, tps, s.peakGflops), elapsedSec: (performance.now() - t0) / 1000,
      };
      this.run.log({ ...rec, kind: 'train', time: new Date().toISOString() });
      let valLoss: number | undefined;
      if (s.evalEvery > 0 && (this.step % s.evalEvery === 0 || this.step === total)) {
        valLoss = (await this.evaluate(this.step)).valLoss;
      }
      this.hooks.onStep?.({ ...rec, totalSteps: total, etaSec: avg * (total - this.step), valLoss });
      if ((s.checkpointEvery > 0 && this.step % s.checkpointEvery === 0) || this.step === total) this.saveCheckpoint();
      // Let signals (Ctrl-C) and timers in between steps.
      await new Promise((r) => setImmediate(r));
    }
    const ck = this.step > startStep && this.lastCheckpoint !== this.run.checkpointPath(this.step) ? this.saveCheckpoint() : this.lastCheckpoint;
    return { stepsDone: this.step, lastLoss, valLoss: this.lastVal, stopped: this.step >= total ? 'done' : 'interrupted', checkpoint: ck, footprint: footprint() };
  }
}

/** The settings a checkpoint was written with (for messages and `--resume`). */
export function checkpointSettings(path: string): TrainSettings {
  const h = readCheckpointHeader(path);
  return (h.state as { settings: TrainSettings }).settings;
}
