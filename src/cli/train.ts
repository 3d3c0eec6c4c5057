/**
 * `llama-ts train`: pre-train a LLaMA on token shards with the paper's recipe, or resume a run.
 *
 *   llama-ts train --config run.json [--out DIR] [flags over the file]
 *   llama-ts train --data a.shard b.shard --val v.shard --model tiny --steps 200 --out runs/x
 *   llama-ts train --resume runs/x
 */
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveDataDir } from '../eval/data-files.js';
import { LoadedModelAdapter } from '../eval/loaded-model.js';
import { evaluateTask } from '../eval/runner.js';
import { resolveTasks } from '../eval/tasks/registry.js';
import { loadModel } from '../inference/index.js';
import { PRESETS } from '../model/config.js';
import type { ParamSet } from '../model/params.js';
import { activationReport } from '../model/transformer.js';
import { parseArgs } from 'node:util';
import { SentencePieceTokenizer } from '../tokenizer/index.js';
import { openBackend } from '../train/backend-choice.js';
import { footprintLine, runCliSession } from '../train/cli-session.js';
import { exportChoice, exportModel, exportPath } from '../train/export.js';
import { RunDir } from '../train/run-dir.js';
import { openPretrainData, readRunConfig, settingsFromConfig, type RunConfig } from '../train/setup.js';
import type { TrainerHooks, TrainSettings } from '../train/trainer.js';

export const description = 'pre-train a LLaMA on token shards (AdamW, warmup+cosine, checkpoints, exact resume)';

const HELP = `usage: llama-ts train --config FILE [options]     (options override the file)
       llama-ts train --data SHARD... [options]
       llama-ts train --resume RUN_DIR

  --config FILE         JSON run description (keys as below in camelCase; see README "Training")
  --out DIR             run directory (default runs/train-<time>): log.jsonl, checkpoints/, model.gguf
  --resume DIR          continue a run from its newest intact checkpoint (bit-exact with the same threads)
  --data SHARD...       training token shards (one source); several sources need a config file
  --val SHARD...        validation shards (validation loss every --eval-every steps)
  --model NAME          preset (${Object.keys(PRESETS).join(', ')}) [tiny]
  --tokenizer FILE      tokenizer.model: BOS/EOS ids, and embedded in the exported model
  --batch N             sequences per micro-batch [8]      --seq-len N   tokens per sequence [256]
  --batch-tokens N      tokens per optimizer step, reached by gradient accumulation [batch*seq-len]
  --steps N             optimizer steps [1000]             --warmup N    warmup steps [min(2000, steps/10)]
  --lr X                peak learning rate [3e-4]          --min-lr-ratio X  final/peak rate [0.1]
  --table2 SIZE         Table 2's rate, 4M-token batch and token budget for 7B/13B/33B/65B
  --weight-decay X [0.1]  --clip X [1.0]  --seed N [1]
  --checkpoint-every N [100]  --keep N [2]  --eval-every N [50]  --eval-batches N [4]
  --recompute MODE      activation checkpointing: none | selective | full [selective]
  --threads N [2]  --backend wasm|reference [wasm]  --peak-gflops X  (MFU denominator)
  --eval-tasks LIST     benchmark tasks (llama-ts eval's names, e.g. piqa,arc_easy) scored with each
                        validation (the paper's Figure 2); needs --tokenizer
  --eval-limit N        items per task per evaluation [100]   --eval-data-dir DIR  (llama-ts eval's --data-dir)
  --export FORMAT       gguf (model.gguf, default) | hf (model-hf/) | meta (model-meta/) | none
  --export-type TYPE    stored type of the exported matrices: f32 (default), f16, q8_0, q4_0, q4_k
  --no-export           same as --export none`;

/**
 * Figure 2: benchmark accuracy as training goes. The weights are written as a GGUF next to the run
 * and scored by the evaluation harness on a backend of its own (so nothing of the training's memory
 * is touched); metrics are logged as "<task>/<metric>".
 */
function taskHook(s: TrainSettings, run: RunDir): TrainerHooks['evaluate'] {
  const et = s.evalTasks;
  if (!et) return undefined;
  const tasks = resolveTasks(et.spec);
  const dataDir = resolveDataDir(et.dataDir ?? undefined);
  if (!existsSync(run.tokenizerPath)) throw new Error('--eval-tasks needs --tokenizer (the harness turns text into tokens)');
  return async (_step: number, params: ParamSet) => {
    const path = join(run.dir, '.eval-model.gguf');
    exportModel(params, path, { tokenizerModelFile: run.tokenizerPath });
    const backend = await openBackend(s.backend, s.threads);
    const out: Record<string, number> = {};
    try {
      const lm = await loadModel(path, { backend });
      const adapter = new LoadedModelAdapter(lm);
      for (const t of tasks) {
        const r = await evaluateTask(t, adapter, { dataDir, seed: 1, limit: et.limit });
        for (const [k, m] of Object.entries(r.metrics)) out[`${t.meta.name}/${k}`] = m.value;
      }
      lm.dispose();
    } finally {
      backend.dispose();
      rmSync(path, { force: true });
    }
    return out;
  };
}

function num(v: string | undefined, flag: string, int = true): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n))) throw new Error(`--${flag} expects ${int ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

function specialIds(tokenizer: string | null | undefined): { bosId: number; eosId: number; tok: SentencePieceTokenizer | null } {
  if (!tokenizer) return { bosId: 1, eosId: 2, tok: null }; // SentencePiece's (and LLaMA's) default ids
  const tok = SentencePieceTokenizer.load(tokenizer);
  return { bosId: tok.bosId, eosId: tok.eosId, tok };
}

export async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      config: { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' },
      data: { type: 'string', multiple: true }, val: { type: 'string', multiple: true },
      model: { type: 'string' }, tokenizer: { type: 'string' },
      batch: { type: 'string' }, 'seq-len': { type: 'string' }, 'batch-tokens': { type: 'string' },
      steps: { type: 'string' }, warmup: { type: 'string' }, lr: { type: 'string' }, 'min-lr-ratio': { type: 'string' },
      table2: { type: 'string' }, 'weight-decay': { type: 'string' }, clip: { type: 'string' }, seed: { type: 'string' },
      'checkpoint-every': { type: 'string' }, keep: { type: 'string' }, 'eval-every': { type: 'string' },
      'eval-batches': { type: 'string' }, recompute: { type: 'string' }, threads: { type: 'string' },
      backend: { type: 'string' }, 'peak-gflops': { type: 'string' }, 'no-export': { type: 'boolean' },
      export: { type: 'string' }, 'export-type': { type: 'string' },
      'eval-tasks': { type: 'string' }, 'eval-limit': { type: 'string' }, 'eval-data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (v.help) { console.log(HELP); return 0; }

  const exp = exportChoice(v['no-export'] ? 'none' : v.export, v['export-type']);
  let settings: TrainSettings;
  let run: RunDir;
  const resuming = v.resume !== undefined;
  if (resuming) {
    run = new RunDir(resolve(v.resume!));
    settings = run.readSettings<TrainSettings>();
    if (v.threads !== undefined && Number(v.threads) !== settings.threads) {
      console.error(`note: resuming with ${v.threads} threads instead of ${settings.threads}: losses may differ in the last bits from an uninterrupted run`);
      settings = { ...settings, threads: Number(v.threads) };
    }
  } else {
    const c: RunConfig = v.config ? readRunConfig(v.config) : {};
    if (v.data) c.data = { shards: v.data.map((p) => resolve(p)) };
    if (v.val) c.val = { shards: v.val.map((p) => resolve(p)) };
    if (v.model) c.model = v.model;
    if (v.tokenizer) c.tokenizer = resolve(v.tokenizer);
    const set = <K extends keyof RunConfig>(k: K, x: RunConfig[K] | undefined) => { if (x !== undefined) c[k] = x; };
    set('batch', num(v.batch, 'batch'));
    set('seqLen', num(v['seq-len'], 'seq-len'));
    set('batchTokens', num(v['batch-tokens'], 'batch-tokens'));
    set('steps', num(v.steps, 'steps'));
    set('warmup', num(v.warmup, 'warmup'));
    set('lr', num(v.lr, 'lr', false));
    set('minLrRatio', num(v['min-lr-ratio'], 'min-lr-ratio', false));
    set('table2', v.table2);
    set('weightDecay', num(v['weight-decay'], 'weight-decay', false));
    set('clip', num(v.clip, 'clip', false));
    set('seed', num(v.seed, 'seed'));
    set('checkpointEvery', num(v['checkpoint-every'], 'checkpoint-every'));
    set('keepCheckpoints', num(v.keep, 'keep'));
    set('evalEvery', num(v['eval-every'], 'eval-every'));
    set('evalBatches', num(v['eval-batches'], 'eval-batches'));
    set('recompute', v.recompute as RunConfig['recompute']);
    set('threads', num(v.threads, 'threads'));
    set('backend', v.backend as RunConfig['backend']);
    set('peakGflops', num(v['peak-gflops'], 'peak-gflops', false));
    const sp = specialIds(c.tokenizer);
    settings = settingsFromConfig(c, sp);
    if (v['eval-tasks']) {
      resolveTasks(v['eval-tasks']); // unknown names fail now, not at the first evaluation
      settings.evalTasks = { spec: v['eval-tasks'], limit: num(v['eval-limit'], 'eval-limit') ?? 100, dataDir: v['eval-data-dir'] ? resolve(v['eval-data-dir']) : null };
      if (settings.evalEvery === 0) throw new Error('--eval-tasks runs with the validation loss: give --val shards too');
    }
    if (sp.tok && sp.tok.vocabSize !== settings.model.vocabSize) {
      throw new Error(`the tokenizer ${c.tokenizer} has ${sp.tok.vocabSize} pieces but model '${settings.modelName}' has a vocabulary of ${settings.model.vocabSize}; choose a model config with vocabSize ${sp.tok.vocabSize}`);
    }
    const out = resolve(v.out ?? `runs/train-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    run = new RunDir(out);
    if (existsSync(run.settingsPath)) throw new Error(`${out} already holds a run (run.json); resume it with --resume ${out}, or choose another --out`);
    openPretrainData(settings); // checks every shard (vocabulary, headers) before the run directory exists
    run.create();
    run.writeJson(run.settingsPath, settings);
    if (settings.tokenizer) copyFileSync(settings.tokenizer, run.tokenizerPath);
  }

  return runCliSession(settings, run, openPretrainData(settings), {
    interruptMessage: 'interrupt: saving a checkpoint after this step (Ctrl-C again to abort)', evaluate: taskHook(settings, run),
  }, async (trainer, printer, backend) => {
    const mib = (b: number) => (b / 2 ** 20).toFixed(1);
    printer.say(`run ${run.dir}: ${settings.modelName}, ${settings.schedule.totalSteps} steps of ${settings.batch}×${settings.seqLen}×${settings.accumSteps} tokens, ` +
      `backend ${backend.name} (${backend.threads} threads); memory ${mib(trainer.plan.total)} MiB ` +
      `(params ${mib(trainer.plan.params)}, grads ${mib(trainer.plan.grads)}, AdamW ${mib(trainer.plan.adamMoments)}, activations ${mib(trainer.plan.activations)} with ${settings.recompute} recompute)`);
    const modes = activationReport(settings.model, settings.batch, settings.seqLen);
    printer.say(`activation memory per micro-batch by recompute mode: ` +
      (Object.keys(modes) as (keyof typeof modes)[]).map((m) => `${m} ${mib(modes[m].bytes)} MiB`).join(', '));
    if (resuming) {
      const step = trainer.resumeLatest((m) => printer.say(`warning: ${m}`));
      printer.say(step === null ? 'no checkpoint yet: starting from step 0' : `resumed from step ${step}`);
      if (step === null) trainer.initFresh();
    } else {
      trainer.initFresh();
    }
    const res = await trainer.train();
    printer.newline();
    if (res.stopped === 'interrupted') {
      printer.say(`stopped at step ${res.stepsDone}; checkpoint ${res.checkpoint}. Continue with: llama-ts train --resume ${run.dir}`);
      return 130;
    }
    printer.say(`done: ${res.stepsDone} steps, last loss ${res.lastLoss.toFixed(4)}` + (res.valLoss !== null ? `, validation loss ${res.valLoss.toFixed(4)}` : '') + `; checkpoint ${res.checkpoint}`);
    printer.say(footprintLine(res.footprint));
    if (exp.format !== 'none') {
      const tokFile = existsSync(run.tokenizerPath) ? run.tokenizerPath : null;
      if (!tokFile) printer.say('note: no tokenizer given (--tokenizer): the exported model has no vocabulary and needs one to generate text');
      const path = exportPath(run, exp.format);
      exportModel(trainer.params, path, { format: exp.format, type: exp.type, tokenizerModelFile: tokFile, name: `llama-ts ${settings.modelName}` });
      printer.say(`model: ${path}`);
    }
    return 0;
  });
}
