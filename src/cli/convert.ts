/**
 * `llama-ts convert --model IN --to gguf|hf|meta --out OUT [--type f32|f16|bf16|q8_0|q4_0|q4_k]`:
 * rewrites a checkpoint in another format, streaming one tensor at a time; GGUF output can be
 * quantized (Q8_0/Q4_0 for 2-D weights, norms stay f32); HF/Meta output holds f32, f16 or bf16.
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { openCheckpoint, saveCheckpoint, type CheckpointFormat } from '../formats/index.js';
import { isDType } from '../formats/dtype.js';

export const description = 'convert a model between GGUF, Hugging Face safetensors and Meta .pth (with quantization)';

const HELP = `usage: llama-ts convert --model IN --to gguf|hf|meta --out OUT [options]
  --model, -m IN       a .gguf file, a Hugging Face directory or a Meta directory
  --to FORMAT          gguf (a file), hf or meta (directories)
  --out, -o OUT        where to write (files are written atomically)
  --type T             f32 | f16 | bf16 | q8_0 | q4_0 | q4_k (quantized: GGUF only; q4_k rows not a
                       multiple of 256 are stored q8_0); default: keep the stored types
  --shards N           meta only: model-parallel shards to write (default 1)
  --name NAME          gguf only: general.name
  --force              overwrite OUT if it exists`;

export async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: {
      model: { type: 'string', short: 'm' }, to: { type: 'string' }, out: { type: 'string', short: 'o' },
      type: { type: 'string' }, shards: { type: 'string' }, name: { type: 'string' }, force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { console.log(HELP); return 0; }
  if (!v.model) throw new Error('--model IN is required');
  if (!v.out) throw new Error('--out OUT is required');
  const to = v.to as CheckpointFormat | undefined;
  if (to !== 'gguf' && to !== 'hf' && to !== 'meta') throw new Error(`--to ${v.to ?? '(missing)'}: expected gguf, hf or meta`);
  if (v.type !== undefined && !isDType(v.type)) throw new Error(`--type ${v.type}: expected f32, f16, bf16, q8_0, q4_0 or q4_k`);
  if (v.type && (v.type === 'q8_0' || v.type === 'q4_0' || v.type === 'q4_k') && to !== 'gguf') {
    throw new Error(`--type ${v.type} needs --to gguf: ${to === 'hf' ? 'HF safetensors' : 'Meta .pth'} files hold f32, f16 or bf16`);
  }
  const shards = v.shards === undefined ? undefined : Number(v.shards);
  if (shards !== undefined && (!Number.isInteger(shards) || shards < 1)) throw new Error(`--shards ${v.shards}: expected an integer >= 1`);
  if (shards !== undefined && to !== 'meta') throw new Error('--shards applies to --to meta only');
  if (existsSync(v.out) && !v.force) throw new Error(`${v.out} exists; pass --force to overwrite`);
  const ckpt = openCheckpoint(v.model);
  const t0 = performance.now();
  const tty = process.stderr.isTTY;
  let last = 0;
  try {
    saveCheckpoint(ckpt, to, v.out, {
      type: v.type as never, shards, name: v.name,
      onTensor: (i, n, name) => {
        const now = performance.now();
        if (i + 1 === n || now - last > (tty ? 100 : 2000)) {
          last = now;
          const eta = ((now - t0) / (i + 1)) * (n - i - 1) / 1000;
          const msg = `converting: ${i + 1}/${n} tensors (${name}), ETA ${eta.toFixed(0)} s`;
          process.stderr.write(tty ? `\r${msg}\x1b[K` : `${msg}\n`);
        }
      },
    });
  } finally {
    ckpt.close();
  }
  if (tty) process.stderr.write('\n');
  process.stderr.write(`wrote ${v.out} (${to}${v.type ? `, ${v.type}` : ''}) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}
