/**
 * `llama-ts tokenizer <train|encode|decode>`: SentencePiece BPE models from the command line.
 *   train  --input FILE... --vocab-size N --output PREFIX [options]   → PREFIX.model, PREFIX.vocab
 *   encode --model M [--pieces] [--bos] [--eos] [--threads N]   JSON strings (one per stdin line) → JSON arrays
 *   decode --model M                              JSON arrays of ids (one per line) → JSON strings
 */
import { renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { closeTokenizerPools, encodeStream, SentencePieceTokenizer, serializeModelProto } from '../tokenizer/index.js';
import { LLAMA_TRAINER_OPTIONS, trainBpe, vocabText, type TrainBpeOptions } from '../tokenizer/trainer.js';

export const description = 'train, encode and decode with SentencePiece BPE models (train | encode | decode)';

const USAGE = `usage:
  llama-ts tokenizer train --input FILE [--input FILE | FILE ...] --vocab-size N --output PREFIX [options]
      --llama                         LLaMA's options: split digits, byte fallback, whitespace-only pieces,
                                      identity normalization, keep extra whitespace, coverage 0.99995
      --character-coverage X          share of characters the alphabet covers (0.98..1, default 0.9995)
      --split-digits  --byte-fallback  --allow-whitespace-only-pieces
      --keep-extra-whitespaces        do not collapse runs of spaces (remove_extra_whitespaces=false)
      --no-dummy-prefix               do not add "▁" before the text
      --max-piece-length N            longest piece in characters (default 16)
      --max-sentence-length N         skip longer lines, in bytes (default 4192)
      --user-defined-symbols A,B      pieces kept whole and never split
      --control-symbols A,B           control pieces (never produced from text)
      --normalizer-from MODEL         copy the normalizer (e.g. an nmt_nfkc charsmap) from a .model file
      --input-sentence-size N         train on a random sample of N lines (0 = all, the default)
      --seed N                        seed of that sample
      --unk-id N --bos-id N --eos-id N --pad-id N   special piece ids (defaults 0, 1, 2, -1 = none)
  llama-ts tokenizer encode --model M [--pieces] [--bos] [--eos] [--threads N]
      stdin: one JSON string per line; stdout: one JSON array of ids (or pieces) per line
      --threads N                     encode ids on N worker threads (default 1), output in input order
  llama-ts tokenizer decode --model M
      stdin: one JSON array of ids per line; stdout: one JSON string per line`;

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'train': return train(rest);
    case 'encode': return encode(rest);
    case 'decode': return decode(rest);
    case undefined: case '--help': case '-h': case 'help':
      console.log(USAGE);
      return sub ? 0 : 1;
    default:
      throw new Error(`tokenizer: unknown subcommand '${sub}' (expected train, encode or decode)\n${USAGE}`);
  }
}

function positiveInt(v: string | undefined, flag: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').filter((s) => s.length > 0);
}

/** Writes a file atomically: a temporary file next to it, then a rename. */
function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  }
}

async function train(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true, strict: true,
    options: {
      input: { type: 'string', multiple: true }, 'vocab-size': { type: 'string' }, output: { type: 'string' },
      llama: { type: 'boolean' }, 'character-coverage': { type: 'string' }, 'split-digits': { type: 'boolean' },
      'byte-fallback': { type: 'boolean' }, 'allow-whitespace-only-pieces': { type: 'boolean' },
      'keep-extra-whitespaces': { type: 'boolean' }, 'no-dummy-prefix': { type: 'boolean' },
      'max-piece-length': { type: 'string' }, 'max-sentence-length': { type: 'string' },
      'user-defined-symbols': { type: 'string' }, 'control-symbols': { type: 'string' },
      'normalizer-from': { type: 'string' }, 'input-sentence-size': { type: 'string' }, seed: { type: 'string' },
      'unk-id': { type: 'string' }, 'bos-id': { type: 'string' }, 'eos-id': { type: 'string' }, 'pad-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(USAGE); return 0; }
  const input = [...(values.input ?? []), ...positionals];
  if (input.length === 0) throw new Error('tokenizer train: give the training text with --input FILE');
  const vocabSize = positiveInt(values['vocab-size'], '--vocab-size');
  if (vocabSize === undefined) throw new Error('tokenizer train: --vocab-size N is required');
  const output = values.output;
  if (!output) throw new Error('tokenizer train: --output PREFIX is required (writes PREFIX.model and PREFIX.vocab)');
  let coverage: number | undefined;
  if (values['character-coverage'] !== undefined) {
    coverage = Number(values['character-coverage']);
    if (!Number.isFinite(coverage)) throw new Error(`--character-coverage must be a number, got '${values['character-coverage']}'`);
  }
  const opts: TrainBpeOptions = {
    ...(values.llama ? LLAMA_TRAINER_OPTIONS : {}),
    input, vocabSize,
    onProgress: (m) => process.stderr.write(`tokenizer train: ${m}\n`),
  };
  if (coverage !== undefined) opts.characterCoverage = coverage;
  if (values['split-digits']) opts.splitDigits = true;
  if (values['byte-fallback']) opts.byteFallback = true;
  if (values['allow-whitespace-only-pieces']) opts.allowWhitespaceOnlyPieces = true;
  if (values['keep-extra-whitespaces']) opts.removeExtraWhitespaces = false;
  if (values['no-dummy-prefix']) opts.addDummyPrefix = false;
  opts.maxSentencepieceLength = positiveInt(values['max-piece-length'], '--max-piece-length') ?? opts.maxSentencepieceLength;
  opts.maxSentenceLength = positiveInt(values['max-sentence-length'], '--max-sentence-length') ?? opts.maxSentenceLength;
  opts.userDefinedSymbols = list(values['user-defined-symbols']);
  opts.controlSymbols = list(values['control-symbols']);
  opts.inputSentenceSize = positiveInt(values['input-sentence-size'], '--input-sentence-size', 0);
  opts.seed = positiveInt(values.seed, '--seed', 0);
  opts.unkId = positiveInt(values['unk-id'], '--unk-id', 0);
  opts.bosId = positiveInt(values['bos-id'], '--bos-id', -1);
  opts.eosId = positiveInt(values['eos-id'], '--eos-id', -1);
  opts.padId = positiveInt(values['pad-id'], '--pad-id', -1);
  if (values['normalizer-from']) opts.normalization = SentencePieceTokenizer.load(values['normalizer-from']).model.normalizerSpec;
  const result = await trainBpe(opts);
  result.model.trainerSpec.modelPrefix = output;
  const bytes = serializeModelProto(result.model);
  // Check what we are about to write loads as a tokenizer before replacing any old file.
  SentencePieceTokenizer.fromBytes(bytes, `${output}.model`);
  writeAtomic(`${output}.model`, bytes);
  writeAtomic(`${output}.vocab`, vocabText(result.model));
  const s = result.stats;
  process.stderr.write(`tokenizer train: wrote ${output}.model and ${output}.vocab: ${vocabSize} pieces (${s.alphabet} characters, ${s.mergedPieces} merged) from ${s.sampledLines} lines in ${s.seconds.toFixed(1)} s\n`);
  return 0;
}

function modelArg(args: string[], extra: Record<string, { type: 'boolean' | 'string' }>) {
  const { values } = parseArgs({ args, strict: true, options: { model: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...extra } });
  if (values.help) { console.log(USAGE); return null; }
  if (!values.model) throw new Error('--model PATH is required (a SentencePiece .model file)');
  return { tok: SentencePieceTokenizer.load(values.model as string), values: values as Record<string, unknown> };
}

/** stdin's non-blank lines, each parsed as JSON, with its line number. */
async function* jsonLines(): AsyncGenerator<{ value: unknown; lineNo: number }> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    try { yield { value: JSON.parse(line), lineNo }; } catch (e) {
      throw new Error(`stdin line ${lineNo}: not valid JSON (${(e as Error).message})`);
    }
  }
}

/** Writes lines to stdout in 64 KiB pieces, waiting when the pipe is full. */
async function writeLines(lines: AsyncIterable<string>): Promise<void> {
  let out = '';
  for await (const line of lines) {
    out += line + '\n';
    if (out.length > 1 << 16) { if (!process.stdout.write(out)) await new Promise((r) => process.stdout.once('drain', r)); out = ''; }
  }
  if (out) process.stdout.write(out);
}

/** Reads stdin line by line, parses each as JSON and writes one output line per input line. */
async function mapLines(convert: (value: unknown, lineNo: number) => unknown): Promise<void> {
  await writeLines((async function* () {
    for await (const { value, lineNo } of jsonLines()) yield JSON.stringify(convert(value, lineNo));
  })());
}

async function encode(args: string[]): Promise<number> {
  const parsed = modelArg(args, { pieces: { type: 'boolean' }, bos: { type: 'boolean' }, eos: { type: 'boolean' }, threads: { type: 'string' } });
  if (!parsed) return 0;
  const { tok, values } = parsed;
  const opts = { bos: !!values.bos, eos: !!values.eos };
  const threads = values.threads === undefined ? 1 : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new Error(`--threads ${values.threads as string}: expected an integer from 1 to 256`);
  const text = (v: unknown, lineNo: number): string => {
    if (typeof v !== 'string') throw new Error(`stdin line ${lineNo}: expected a JSON string such as "Hello world", got ${Array.isArray(v) ? 'an array' : typeof v}`);
    return v;
  };
  if (values.pieces || threads === 1) {
    await mapLines((v, lineNo) => values.pieces ? tok.encodeAsPieces(text(v, lineNo), opts) : tok.encode(text(v, lineNo), opts));
    return 0;
  }
  // ids on a worker pool: lines go out in chunks and come back in order
  const texts = (async function* () { for await (const { value, lineNo } of jsonLines()) yield text(value, lineNo); })();
  try {
    await writeLines((async function* () {
      for await (const ids of encodeStream(tok, texts, { ...opts, threads })) yield JSON.stringify(Array.from(ids));
    })());
  } finally {
    await closeTokenizerPools(tok);
  }
  return 0;
}

async function decode(args: string[]): Promise<number> {
  const parsed = modelArg(args, {});
  if (!parsed) return 0;
  const { tok } = parsed;
  await mapLines((v, lineNo) => {
    if (!Array.isArray(v)) throw new Error(`stdin line ${lineNo}: expected a JSON array of ids such as [1, 15043], got ${typeof v}`);
    try { return tok.decode(v as number[]); } catch (e) {
      throw new Error(`stdin line ${lineNo}: ${(e as Error).message}`);
    }
  });
  return 0;
}
