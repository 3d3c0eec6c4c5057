/**
 * `llama-ts logprobs --model PATH --ids 1,2,3 --out FILE`: writes float32 little-endian
 * log-softmax rows, one row of vocab_size values per input position (row i = the distribution of
 * the token after ids[0..i]), computed in one batched pass.
 */
import { parseArgs } from 'node:util';
import { loadModelFromArgs, MODEL_HELP, MODEL_OPTIONS } from '../inference/cli-options.js';
import { writeAtomically } from '../formats/file-io.js';

export const description = 'write the next-token log-probabilities after each position of a token sequence';

const HELP = `usage: llama-ts logprobs --model PATH (--ids 1,2,3 | --text TEXT) --out FILE
${MODEL_HELP}
  --ids LIST           comma-separated token ids
  --text TEXT          or: text, encoded with the model's tokenizer (BOS first)
  --out FILE           float32 LE, [n_ids][vocab_size]: row i = log-softmax after ids[0..i]`;

export function parseIds(s: string): number[] {
  const parts = s.split(',').map((x) => x.trim());
  return parts.map((p, i) => {
    const n = Number(p);
    if (p === '' || !Number.isInteger(n) || n < 0) throw new Error(`--ids: item ${i + 1} ${JSON.stringify(p)} is not a token id (a non-negative integer)`);
    return n;
  });
}

export async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: { ...MODEL_OPTIONS, ids: { type: 'string' }, text: { type: 'string' }, out: { type: 'string', short: 'o' } },
  });
  if (v.help) { console.log(HELP); return 0; }
  if (!v.out) throw new Error('--out FILE is required');
  if ((v.ids === undefined) === (v.text === undefined)) throw new Error('give exactly one of --ids LIST or --text TEXT');
  const ids = v.ids !== undefined ? parseIds(v.ids) : null;
  const model = await loadModelFromArgs(v);
  try {
    let tokens: number[];
    if (ids) {
      const V = model.config.vocabSize;
      const bad = ids.findIndex((id) => id >= V);
      if (bad >= 0) throw new Error(`--ids: item ${bad + 1} is ${ids[bad]}, outside the vocabulary 0..${V - 1}`);
      tokens = ids;
    } else {
      if (!model.tokenizer) throw new Error(`${v.model} has no tokenizer; pass --ids`);
      tokens = model.tokenizer.encode(v.text!, { bos: true });
    }
    if (tokens.length === 0) throw new Error('no tokens to score');
    const seq = model.newSequence();
    const rows = seq.append(tokens, 'all');
    seq.dispose();
    writeAtomically(v.out, (w) => w.write(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength)));
    process.stderr.write(`wrote ${tokens.length} rows x ${model.config.vocabSize} float32 to ${v.out}\n`);
    return 0;
  } finally {
    model.dispose();
    model.backend.dispose();
  }
}
