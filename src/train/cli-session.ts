/**
 * A training run as the `train` and `finetune` commands drive it: open the backend, print
 * progress and evaluations, let the first Ctrl-C stop the run after a checkpoint (a second one
 * aborts), turn divergence into exit code 3 with its message, and always release the backend.
 * What each command does with the trainer (initial weights, messages, export) is `body`.
 */
import type { Backend } from '../kernels/backend.js';
import type { CpuEstimate } from '../util/cpu-footprint.js';
import { openBackend } from './backend-choice.js';
import type { BatchSource } from './batch-source.js';
import { ProgressPrinter } from './progress.js';
import type { RunDir } from './run-dir.js';
import { Trainer, TrainingDiverged, type TrainerHooks, type TrainSettings } from './trainer.js';

export interface CliSessionOptions {
  /** Said on the first Ctrl-C. */
  interruptMessage: string;
  /** Extra evaluations with the validation loss (TrainerHooks.evaluate). */
  evaluate?: TrainerHooks['evaluate'];
}

/** Runs `body` with a trainer wired to the terminal; resolves to the command's exit code. */
export async function runCliSession(
  settings: TrainSettings, run: RunDir, data: { train: BatchSource; val: BatchSource | null }, opts: CliSessionOptions,
  body: (trainer: Trainer, printer: ProgressPrinter, backend: Backend) => Promise<number>,
): Promise<number> {
  const backend = await openBackend(settings.backend, settings.threads);
  const printer = new ProgressPrinter(settings.logEvery);
  let stop = false;
  const onSigint = () => { stop = true; printer.say(opts.interruptMessage); process.once('SIGINT', () => process.exit(130)); };
  process.once('SIGINT', onSigint);
  try {
    const hooks: TrainerHooks = {
      onStep: (p) => printer.step(p),
      onEval: (step, m) => printer.say(`eval @ step ${step}: ${Object.entries(m).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ')}`),
      shouldStop: () => stop,
    };
    if (opts.evaluate) hooks.evaluate = opts.evaluate;
    const trainer = new Trainer(backend, settings, run, data.train, data.val, hooks);
    return await body(trainer, printer, backend);
  } catch (e) {
    if (e instanceof TrainingDiverged) { printer.say(e.message); return 3; }
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
    backend.dispose();
  }
}

/** The closing line about a run's CPU energy and carbon estimate. */
export function footprintLine(f: CpuEstimate): string {
  return `footprint (${f.note}): ${f.cpuSeconds.toFixed(0)} CPU-s, ${(f.energyKWh * 1000).toFixed(2)} Wh, ${(f.kgco2eq * 1000).toFixed(2)} gCO2eq`;
}
