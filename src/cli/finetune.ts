/**
 * `llama-ts finetune`: instruction finetuning (LLaMA-I, PAPER.md §8) of a model on JSON lines of
 * {"prompt", "response"} or {"messages": [...]}, rendered with the chat template
 * ("<s>[INST] {prompt} [/INST] {response} </s>", src/tokenizer/chat-template.ts) and trained with the
 * loss on the response tokens only. Same trainer, checkpoints, logs and exact resume as `train`.
 *
 *   llama-ts finetune --model runs/quickstart/model.gguf --data instructions.jsonl --out runs/sft
 *   llama-ts finetune --resume runs/sft
 */
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCheckpointTokenizer, openCheckpoint } from '../formats/index.js';
import { SentencePieceTokenizer } from '../tokenizer/index.js';
import { footprintLine, runCliSession } from '../train/cli-session.js';
import { exportChoice, exportModel, exportPath, loadModelInto } from '../train/export.js';
import { peakGflops } from '../train/flops.js';
import { PAPER_ADAMW } from '../train/optimizer.js';
import { RunDir } from '../train/run-dir.js';
import { openFinetuneData } from '../train/setup.js';
import type { TrainSettings } from '../train/trainer.js';
import type { CheckpointMode } from '../model/transformer.js';

export const description = 'instruction-finetune a model on prompt/response JSONL (loss on responses only)';

const HELP = `usage: llama-ts finetune --model PATH --data FILE.jsonl [options]
       llama-ts finetune --resume RUN_DIR

  --model PATH        model to start from: .gguf file, HF or Meta directory, or a run directory (its model.gguf)
  --data FILE         JSON lines: {"prompt": ..., "response": ...} or {"messages": [{"role", "content"}, ...]}
  --val FILE          held-out JSON lines for a validation loss (on response tokens)
  --tokenizer FILE    tokenizer.model, when the model file carries none
  --out DIR           run directory [runs/finetune-<time>]
  --epochs N [3]  or  --steps N        --batch N [4]   --seq-len N [min(512, context)]
  --lr X [1e-4]   --warmup N [steps/10]  --min-lr-ratio X [0.1]  --weight-decay X [0.1]  --clip X [1.0]
  --seed N [1]  --checkpoint-every N [50]  --keep N [2]  --eval-every N [25]  --eval-batches N [4]
  --recompute none|selective|full [selective]   --threads N [2]   --backend wasm|reference [wasm]
  --export gguf|hf|meta [gguf]   --export-type f32|f16|q8_0|q4_0 [f32]
Prompt template (Llama-2 chat): <s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{prompt} [/INST] {response} </s>`;

function int(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${flag} expects an integer, got '${v}'`);
  return n;
}
function real(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${flag} expects a number, got '${v}'`);
  return n;
}

export async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      model: { type: 'string' }, data: { type: 'string' }, val: { type: 'string' }, tokenizer: { type: 'string' },
      out: { type: 'string' }, resume: { type: 'string' }, epochs: { type: 'string' }, steps: { type: 'string' },
      batch: { type: 'string' }, 'seq-len': { type: 'string' }, lr: { type: 'string' }, warmup: { type: 'string' },
      'min-lr-ratio': { type: 'string' }, 'weight-decay': { type: 'string' }, clip: { type: 'string' }, seed: { type: 'string' },
      'checkpoint-every': { type: 'string' }, keep: { type: 'string' }, 'eval-every': { type: 'string' }, 'eval-batches': { type: 'string' },
      recompute: { type: 'string' }, threads: { type: 'string' }, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      export: { type: 'string' }, 'export-type': { type: 'string' },
    },
  });
  if (v.help) { console.log(HELP); return 0; }

  const exp = exportChoice(v.export, v['export-type']);
  if (exp.format === 'none') throw new Error('finetune always exports its model: --export must be gguf, hf or meta');
  let settings: TrainSettings;
  let run: RunDir;
  let tok: SentencePieceTokenizer;
  const resuming = v.resume !== undefined;
  if (resuming) {
    run = new RunDir(resolve(v.resume!));
    settings = run.readSettings<TrainSettings>();
    if (settings.kind !== 'finetune') throw new Error(`${run.dir} is a ${settings.kind} run; resume it with 'llama-ts train --resume ${run.dir}'`);
    tok = SentencePieceTokenizer.load(run.tokenizerPath);
  } else {
    if (!v.model || !v.data) throw new Error(`finetune needs --model PATH and --data FILE.jsonl (or --resume RUN_DIR)\n\n${HELP}`);
    let modelPath = resolve(v.model);
    if (existsSync(resolve(modelPath, 'run.json')) && existsSync(resolve(modelPath, 'model.gguf'))) modelPath = resolve(modelPath, 'model.gguf');
    const ck = openCheckpoint(modelPath);
    let config;
    try {
      config = ck.config;
      const fromModel = loadCheckpointTokenizer(ck);
      const t = v.tokenizer ? SentencePieceTokenizer.load(resolve(v.tokenizer)) : fromModel;
      if (!t) throw new Error(`${modelPath} carries no tokenizer: give --tokenizer tokenizer.model`);
      if (t.vocabSize !== config.vocabSize) throw new Error(`the tokenizer has ${t.vocabSize} pieces but the model's vocabulary is ${config.vocabSize}`);
      tok = t;
    } finally {
      ck.close();
    }
    const dataPath = resolve(v.data);
    if (!existsSync(dataPath)) throw new Error(`instruction data ${dataPath}: no such file`);
    const threads = int(v.threads, 'threads', 2);
    const batch = int(v.batch, 'batch', 4);
    const seqLen = int(v['seq-len'], 'seq-len', Math.min(512, config.maxSeqLen));
    const seed = int(v.seed, 'seed', 1);
    settings = {
      kind: 'finetune', model: config, modelName: modelPath, batch, seqLen, accumSteps: 1,
      schedule: { peakLr: real(v.lr, 'lr', 1e-4), warmupSteps: 0, totalSteps: 1, minLrRatio: real(v['min-lr-ratio'], 'min-lr-ratio', 0.1) },
      optim: { ...PAPER_ADAMW, weightDecay: real(v['weight-decay'], 'weight-decay', 0.1), clipNorm: real(v.clip, 'clip', 1.0) },
      seed, checkpointEvery: int(v['checkpoint-every'], 'checkpoint-every', 50), keepCheckpoints: int(v.keep, 'keep', 2),
      evalEvery: v.val ? int(v['eval-every'], 'eval-every', 25) : 0, evalBatches: int(v['eval-batches'], 'eval-batches', 4), logEvery: 10,
      recompute: (v.recompute ?? 'selective') as CheckpointMode, threads, backend: (v.backend ?? 'wasm') as 'wasm' | 'reference',
      peakGflops: peakGflops(threads), data: { sft: dataPath, val: v.val ? resolve(v.val) : null }, initFrom: modelPath, tokenizer: null,
    };
    // steps from epochs over the examples (read once here to count them)
    const probe = openFinetuneData(settings, tok);
    const examples = (probe.train.describe().examples as number);
    const steps = v.steps !== undefined ? int(v.steps, 'steps', 1) : Math.max(1, Math.ceil((examples * int(v.epochs, 'epochs', 3)) / batch));
    settings.schedule = { ...settings.schedule, totalSteps: steps, warmupSteps: int(v.warmup, 'warmup', Math.floor(steps / 10)) };
    const out = resolve(v.out ?? `runs/finetune-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    run = new RunDir(out);
    if (existsSync(run.settingsPath)) throw new Error(`${out} already holds a run; resume it with --resume ${out}, or choose another --out`);
    run.create();
    writeFileSync(run.tokenizerPath, tok.toBytes());
    settings.tokenizer = run.tokenizerPath;
    run.writeJson(run.settingsPath, settings);
  }

  const data = openFinetuneData(settings, tok);
  const { train } = data;
  const format = exp.format; // never 'none' (refused above); a const keeps that known inside the callback
  return runCliSession(settings, run, data, { interruptMessage: 'interrupt: saving a checkpoint after this step' }, async (trainer, printer) => {
    printer.say(`finetune ${settings.modelName} -> ${run.dir}: ${(train.describe().examples as number)} examples, ${settings.schedule.totalSteps} steps of ${settings.batch}×${settings.seqLen}, lr ${settings.schedule.peakLr}`);
    const step = resuming ? trainer.resumeLatest((m) => printer.say(`warning: ${m}`)) : null;
    if (step === null) loadModelInto(settings.initFrom!, trainer.params);
    else printer.say(`resumed from step ${step}`);
    const res = await trainer.train();
    printer.newline();
    if (res.stopped === 'interrupted') {
      printer.say(`stopped at step ${res.stepsDone}; continue with: llama-ts finetune --resume ${run.dir}`);
      return 130;
    }
    const truncated = train.describe().truncated as number;
    if (truncated) printer.say(`note: ${truncated} example rows were longer than --seq-len ${settings.seqLen} and were cut`);
    const path = exportPath(run, format);
    exportModel(trainer.params, path, { format, type: exp.type, tokenizerModelFile: run.tokenizerPath, name: 'llama-ts finetuned' });
    printer.say(`done: ${res.stepsDone} steps, last loss ${res.lastLoss.toFixed(4)}${res.valLoss !== null ? `, validation loss ${res.valLoss.toFixed(4)}` : ''}; model ${path}`);
    printer.say(footprintLine(res.footprint));
    return 0;
  });
}
