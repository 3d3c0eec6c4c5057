/**
 * `llama-ts generate --model PATH --prompt TEXT [sampling options]`: streams the continuation of
 * the prompt to stdout (statistics go to stderr).
 */
import { parseArgs } from 'node:util';
import { loadModelFromArgs, MODEL_HELP, MODEL_OPTIONS, SAMPLING_HELP, SAMPLING_OPTIONS, samplingFromArgs } from '../inference/cli-options.js';

export const description = 'continue a prompt with a model (GGUF, HF or Meta), streaming the text';

const HELP = `usage: llama-ts generate --model PATH --prompt TEXT [options]
${MODEL_HELP}
  --prompt, -p TEXT    the text to continue (BOS is added unless --no-bos)
  --no-bos             do not start with the BOS token
${SAMPLING_HELP}`;

export async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: { ...MODEL_OPTIONS, ...SAMPLING_OPTIONS, prompt: { type: 'string', short: 'p' }, 'no-bos': { type: 'boolean' } },
  });
  if (v.help) { console.log(HELP); return 0; }
  if (v.prompt === undefined) throw new Error('--prompt TEXT is required');
  const sampling = samplingFromArgs(v);
  const model = await loadModelFromArgs(v);
  try {
    const tok = model.tokenizer;
    if (!tok) throw new Error(`${v.model}: the model has no tokenizer (no GGUF tokenizer metadata / tokenizer.model); use 'llama-ts logprobs --ids' for token ids`);
    const ids = tok.encode(v.prompt, { bos: !v['no-bos'] });
    if (ids.length === 0) throw new Error('the prompt encodes to no tokens; give some text or drop --no-bos');
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    const t0 = performance.now();
    let tFirst = 0;
    const res = await model.generate(ids, sampling, (t) => {
      if (!tFirst) tFirst = performance.now();
      if (t.text) process.stdout.write(t.text);
    }, abort.signal);
    process.off('SIGINT', onSigint);
    const t1 = performance.now();
    process.stdout.write('\n');
    const decodeS = (t1 - tFirst) / 1000;
    process.stderr.write(`[${res.finishReason}] prompt ${res.promptTokens} tokens in ${((tFirst - t0) / 1000).toFixed(2)} s, ` +
      `${res.tokens.length} generated` + (res.tokens.length > 1 ? ` at ${((res.tokens.length - 1) / decodeS).toFixed(1)} tokens/s` : '') + '\n');
    return 0;
  } finally {
    model.dispose();
    model.backend.dispose();
  }
}
