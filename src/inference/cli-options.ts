/**
 * Options shared by the commands that load a model and sample (generate, chat): their
 * util.parseArgs specs, validation with messages that name the option, and load progress on stderr.
 */
import type { SamplingOptions } from './types.js';
import { loadModel } from './load.js';
import type { LlamaModel } from './model.js';

export const MODEL_OPTIONS = {
  model: { type: 'string', short: 'm' },
  threads: { type: 'string', short: 't' },
  context: { type: 'string' },
  backend: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const SAMPLING_OPTIONS = {
  'max-tokens': { type: 'string', short: 'n' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
} as const;

export const MODEL_HELP = `  --model, -m PATH     a .gguf file, a Hugging Face directory (config.json + *.safetensors) or a Meta
                       directory (params.json + consolidated.NN.pth)
  --threads, -t N      compute threads (default: all cores)
  --context N          tokens a sequence can hold (default: the model's context length, at most 4096)
  --backend KIND       wasm (default) or reference (plain TypeScript, slow)`;

export const SAMPLING_HELP = `  --max-tokens, -n N   new tokens at most (default 256)
  --temperature T      0 = greedy (default 0.8)
  --top-k K            sample among the K most likely tokens; 0 = off (default 40)
  --top-p P            then among the smallest set with probability >= P; 1 = off (default 0.95)
  --seed S             random seed (default 0): the same seed gives the same text
  --stop TEXT          stop before this text (repeatable); it is not printed`;

export function numberOption(v: string | undefined, name: string, dflt: number, check: (x: number) => boolean, what: string): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new Error(`--${name} ${JSON.stringify(v)}: expected ${what}`);
  return x;
}

const isInt = (x: number) => Number.isInteger(x);

export function samplingFromArgs(v: Record<string, unknown>): SamplingOptions {
  return {
    maxTokens: numberOption(v['max-tokens'] as string | undefined, 'max-tokens', 256, (x) => isInt(x) && x >= 0, 'an integer >= 0'),
    temperature: numberOption(v.temperature as string | undefined, 'temperature', 0.8, (x) => x >= 0, 'a number >= 0'),
    topK: numberOption(v['top-k'] as string | undefined, 'top-k', 40, (x) => isInt(x) && x >= 0, 'an integer >= 0'),
    topP: numberOption(v['top-p'] as string | undefined, 'top-p', 0.95, (x) => x > 0 && x <= 1, 'a number in (0, 1]'),
    seed: numberOption(v.seed as string | undefined, 'seed', 0, isInt, 'an integer'),
    stop: (v.stop as string[] | undefined) ?? [],
  };
}

/** Loads --model with --threads/--context/--backend, showing progress on stderr. */
export async function loadModelFromArgs(v: Record<string, unknown>): Promise<LlamaModel> {
  const path = v.model as string | undefined;
  if (!path) throw new Error('--model PATH is required (a .gguf file, an HF directory or a Meta directory)');
  const threads = v.threads === undefined ? undefined : numberOption(v.threads as string, 'threads', 1, (x) => isInt(x) && x >= 1, 'an integer >= 1');
  const contextLength = v.context === undefined ? undefined : numberOption(v.context as string, 'context', 1, (x) => isInt(x) && x >= 1, 'an integer >= 1');
  const kind = (v.backend as string | undefined) ?? 'wasm';
  if (kind !== 'wasm' && kind !== 'reference') throw new Error(`--backend ${kind}: expected wasm or reference`);
  const { createBackend } = await import('../kernels/index.js');
  const backend = await createBackend({ kind, threads });
  const tty = process.stderr.isTTY;
  const t0 = performance.now();
  let last = 0;
  const model = await loadModel(path, {
    backend, contextLength,
    onProgress: (done, total, what) => {
      const now = performance.now();
      if (done === total || now - last > (tty ? 100 : 2000)) {
        last = now;
        const msg = `loading ${path}: ${done}/${total} (${what})`;
        if (tty) process.stderr.write(`\r${msg}\x1b[K`);
        else process.stderr.write(`${msg}\n`);
      }
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  process.stderr.write(`loaded ${model.name}: ${model.config.nLayers} layers, dim ${model.config.dim}, ` +
    `vocab ${model.config.vocabSize}, context ${model.contextLength}, ${backend.name} x${backend.threads} ` +
    `in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return model;
}
