/**
 * Trains a fastText-compatible supervised classifier (what `fasttext supervised` does, single
 * threaded and deterministic): the dictionary of words and labels from fastText-format lines
 * ("__label__xx __label__yy some text"), words below `minCount` dropped, hashed char n-grams
 * (minn..maxn) and word n-grams into `bucket` rows, input rows initialised uniform in ±1/dim, output
 * rows zero, then SGD over the lines for `epoch` passes with the learning rate decaying linearly
 * to 0 over all tokens, and softmax or hierarchical-softmax loss. The result saves as a .bin that
 * fastText itself loads.
 */
import type { FastTextArgs, LossName } from './args.js';
import { Loss, ModelKind } from './args.js';
import { buildHuffmanTree, FastTextClassifier } from './classifier.js';
import type { DictEntry } from './dictionary.js';
import { Dictionary, EOS, IntList, isSpaceByte, LABEL, WORD } from './dictionary.js';
import { DenseMatrix } from './matrix.js';
import { writeFastTextModel } from './model-file.js';
import { mulberry32 } from './rng.js';

export interface TrainOptions {
  dim?: number;
  epoch?: number;
  lr?: number;
  minCount?: number;
  minCountLabel?: number;
  wordNgrams?: number;
  minn?: number;
  maxn?: number;
  bucket?: number;
  loss?: Extract<LossName, 'softmax' | 'hs'>;
  seed?: number;
  labelPrefix?: string;
  /** Called now and then with progress in [0, 1] and the running average loss. */
  onProgress?: (progress: number, loss: number) => void;
}

const utf8 = new TextEncoder();
const decoder = new TextDecoder();

/** Splits training text into lines of bytes; each line is followed by "</s>" as in fastText. */
function splitLines(data: Uint8Array): Array<[number, number]> {
  const lines: Array<[number, number]> = [];
  let s = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0a) {
      lines.push([s, i]);
      s = i + 1;
    }
  }
  if (s < data.length) lines.push([s, data.length]);
  return lines;
}

function buildEntries(data: Uint8Array, lines: Array<[number, number]>, labelPrefix: Uint8Array, minCount: number, minCountLabel: number): { entries: DictEntry[]; ntokens: number } {
  const counts = new Map<string, { count: number; type: number; first: number }>();
  let ntokens = 0;
  let order = 0;
  const add = (w: string, type: number) => {
    ntokens++;
    const e = counts.get(w);
    if (e) e.count++;
    else counts.set(w, { count: 1, type, first: order++ });
  };
  for (const [s, e] of lines) {
    let i = s;
    while (i < e) {
      while (i < e && isSpaceByte(data[i])) i++;
      if (i >= e) break;
      const ws = i;
      while (i < e && !isSpaceByte(data[i])) i++;
      let isLabel = i - ws >= labelPrefix.length;
      for (let k = 0; isLabel && k < labelPrefix.length; k++) if (data[ws + k] !== labelPrefix[k]) isLabel = false;
      add(decoder.decode(data.subarray(ws, i)), isLabel ? LABEL : WORD);
    }
    add(EOS, WORD); // the newline (fastText counts it even on an unterminated last line here)
  }
  const kept = [...counts.entries()].filter(([, v]) => v.count >= (v.type === WORD ? minCount : minCountLabel));
  // fastText sorts by type then decreasing count; ties keep first-seen order here (deterministic).
  kept.sort((a, b) => a[1].type - b[1].type || b[1].count - a[1].count || a[1].first - b[1].first);
  const entries = kept.map(([word, v]) => ({ word, bytes: utf8.encode(word), count: v.count, type: v.type }));
  return { entries, ntokens };
}

export interface TrainedModel {
  classifier: FastTextClassifier;
  /** The model as a fastText .bin file. */
  toBuffer(): Buffer;
}

export function trainSupervised(text: string | Uint8Array, opts: TrainOptions = {}): TrainedModel {
  const data = typeof text === 'string' ? utf8.encode(text) : text;
  const loss = opts.loss ?? 'softmax';
  const args: FastTextArgs = {
    dim: opts.dim ?? 16,
    ws: 5,
    epoch: opts.epoch ?? 5,
    minCount: opts.minCount ?? 1,
    neg: 5,
    wordNgrams: opts.wordNgrams ?? 1,
    loss: Loss[loss],
    model: ModelKind.sup,
    bucket: opts.bucket ?? 2000000,
    minn: opts.minn ?? 0,
    maxn: opts.maxn ?? 0,
    lrUpdateRate: 100,
    t: 1e-4,
  };
  if (args.wordNgrams <= 1 && args.maxn === 0) args.bucket = 0; // as fastText: no hashed rows needed
  if (args.maxn > 0 && args.minn > args.maxn) throw new Error(`minn (${args.minn}) must be <= maxn (${args.maxn})`);
  const lr0 = opts.lr ?? 0.1;
  const labelPrefix = opts.labelPrefix ?? '__label__';
  const lines = splitLines(data);
  const { entries, ntokens } = buildEntries(data, lines, utf8.encode(labelPrefix), args.minCount, opts.minCountLabel ?? 0);
  const dict = new Dictionary(args, entries, ntokens, -1, new Map(), labelPrefix);
  if (dict.nlabels === 0) throw new Error(`training data has no labels: every line needs at least one "${labelPrefix}<name>" token`);

  const rand = mulberry32(opts.seed ?? 1);
  const dim = args.dim;
  const input = new DenseMatrix(dict.nwords + args.bucket, dim);
  for (let i = 0; i < input.data.length; i++) input.data[i] = (rand() * 2 - 1) / dim;
  const nl = dict.nlabels;
  const hs = loss === 'hs';
  // fastText allocates one row per label for both losses (hs uses rows 0..n-2 for its inner nodes).
  const output = new DenseMatrix(nl, dim);
  const huff = hs ? buildHuffmanTree(dict.labelCounts()) : null;

  const words = new IntList(), labels = new IntList(), hashes = new IntList();
  const hidden = new Float32Array(dim), grad = new Float32Array(dim), out = new Float32Array(nl);
  // Training writes to `input` directly, so the SIMD copy of it must not be used here.
  const tmp = new FastTextClassifier(args, dict, input, output, { accelerate: false });
  const total = args.epoch * ntokens;
  let seen = 0, lossSum = 0, lossN = 0;
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  for (let ep = 0; ep < args.epoch; ep++) {
    for (let li = 0; li < lines.length; li++) {
      const [s, e] = lines[li];
      const lr = lr0 * (1 - seen / total);
      seen += dict.getLine(data, s, e, true, words, labels, hashes);
      if (labels.length === 0 || words.length === 0) continue;
      const target = labels.data[labels.length === 1 ? 0 : Math.floor(rand() * labels.length)];
      tmp.computeHidden(words.data, words.length, hidden);
      grad.fill(0);
      if (hs) {
        const path = huff!.paths[target], code = huff!.codes[target];
        for (let k = 0; k < path.length; k++) {
          const row = path[k];
          const score = sigmoid(output.dotRow(hidden, row));
          const label = code[k] ? 1 : 0;
          const alpha = lr * (label - score);
          output.addRowTo(grad, row, alpha);
          output.addVectorToRow(hidden, row, alpha);
          lossSum += -Math.log(label ? score + 1e-5 : 1 - score + 1e-5);
        }
      } else {
        tmp.computeOutput(hidden, out);
        for (let i = 0; i < nl; i++) {
          const alpha = lr * ((i === target ? 1 : 0) - out[i]);
          output.addRowTo(grad, i, alpha);
          output.addVectorToRow(hidden, i, alpha);
        }
        lossSum += -Math.log(out[target] + 1e-5);
      }
      lossN++;
      // fastText normalizes the gradient by the number of input rows for supervised models.
      const scale = 1 / words.length;
      for (let k = 0; k < words.length; k++) input.addVectorToRow(grad, words.data[k], scale);
      if (opts.onProgress && li % 1000 === 0) opts.onProgress(seen / total, lossSum / Math.max(lossN, 1));
    }
  }
  opts.onProgress?.(1, lossSum / Math.max(lossN, 1));
  const classifier = new FastTextClassifier(args, dict, input, output);
  return { classifier, toBuffer: () => writeFastTextModel({ args, dict, input, output }) };
}
