/**
 * A fastText supervised classifier: averaged input rows → linear output → softmax, or the
 * hierarchical softmax over a Huffman tree of label counts (what lid.176 uses). `predict` follows
 * fastText's `predict`/`predict-prob` exactly: the same top-k search, the same `log(p + 1e-5)`
 * scores, and probabilities printed as exp(score).
 */
import { readFileSync } from 'node:fs';
import type { FastTextArgs } from './args.js';
import { lossName } from './args.js';
import type { Dictionary } from './dictionary.js';
import { IntList } from './dictionary.js';
import type { Matrix } from './matrix.js';
import { DenseMatrix } from './matrix.js';
import { readFastTextModel } from './model-file.js';
import { WasmRowSummer } from './row-summer.js';

const f = Math.fround;
/** fastText's std_log: `std::log(x + 1e-5)` — the sum is a double, the result stored as float. */
const stdLog = (x: number): number => f(Math.log(x + 1e-5));

export interface Prediction {
  label: string;
  /** exp(log(p + 1e-5)), what `fasttext predict-prob` prints */
  prob: number;
}

export interface HuffmanNode {
  parent: number;
  left: number;
  right: number;
  count: number;
  binary: boolean;
}

/** fastText's `buildTree`: leaves 0..n-1 must be in decreasing count order (the dictionary's order). */
export function buildHuffmanTree(counts: readonly number[]): { tree: HuffmanNode[]; paths: number[][]; codes: boolean[][] } {
  const osz = counts.length;
  const tree: HuffmanNode[] = [];
  for (let i = 0; i < 2 * osz - 1; i++) tree.push({ parent: -1, left: -1, right: -1, count: 1e15, binary: false });
  for (let i = 0; i < osz; i++) tree[i].count = counts[i];
  let leaf = osz - 1, node = osz;
  for (let i = osz; i < 2 * osz - 1; i++) {
    const mini = [0, 0];
    for (let j = 0; j < 2; j++) {
      if (leaf >= 0 && tree[leaf].count < tree[node].count) mini[j] = leaf--;
      else mini[j] = node++;
    }
    tree[i].left = mini[0];
    tree[i].right = mini[1];
    tree[i].count = tree[mini[0]].count + tree[mini[1]].count;
    tree[mini[0]].parent = i;
    tree[mini[1]].parent = i;
    tree[mini[1]].binary = true;
  }
  const paths: number[][] = [], codes: boolean[][] = [];
  for (let i = 0; i < osz; i++) {
    const path: number[] = [], code: boolean[] = [];
    let j = i;
    while (tree[j].parent !== -1) {
      path.push(tree[j].parent - osz);
      code.push(tree[j].binary);
      j = tree[j].parent;
    }
    paths.push(path);
    codes.push(code);
  }
  return { tree, paths, codes };
}

/** Min-heap on score of (score, id) pairs: the k best so far, as fastText's std::push_heap with comparePairs. */
class TopK {
  scores: number[] = [];
  ids: number[] = [];
  constructor(readonly k: number) {}
  get full(): boolean { return this.scores.length === this.k; }
  get worst(): number { return this.scores[0]; }
  push(score: number, id: number): void {
    // Small k: keep it simple; replicate "insert then drop the minimum".
    this.scores.push(score);
    this.ids.push(id);
    if (this.scores.length > this.k) {
      let m = 0;
      for (let i = 1; i < this.scores.length; i++) if (this.scores[i] < this.scores[m]) m = i;
      this.scores.splice(m, 1);
      this.ids.splice(m, 1);
    }
    // keep index 0 = minimum
    let m = 0;
    for (let i = 1; i < this.scores.length; i++) if (this.scores[i] < this.scores[m]) m = i;
    if (m !== 0) {
      [this.scores[0], this.scores[m]] = [this.scores[m], this.scores[0]];
      [this.ids[0], this.ids[m]] = [this.ids[m], this.ids[0]];
    }
  }
  sorted(): { score: number; id: number }[] {
    return this.scores.map((s, i) => ({ score: s, id: this.ids[i] })).sort((a, b) => b.score - a.score);
  }
}

export class FastTextClassifier {
  readonly args: FastTextArgs;
  readonly dict: Dictionary;
  readonly input: Matrix;
  readonly output: Matrix;
  readonly tree: HuffmanNode[] | null;
  private readonly hidden: Float32Array;
  private readonly out: Float32Array;
  private readonly words = new IntList();
  private readonly labelsBuf = new IntList();
  private readonly hashesBuf = new IntList();
  private readonly encoder = new TextEncoder();
  private bytes = new Uint8Array(1 << 16);

  /** SIMD row summation over `input` (which is then a view of the kernel's memory), or null. */
  private readonly summer: WasmRowSummer | null;

  /**
   * `accelerate` (default true) moves a dense input matrix into a WebAssembly SIMD kernel's memory;
   * pass false when the caller keeps writing to its own `input` object (training).
   */
  constructor(args: FastTextArgs, dict: Dictionary, input: Matrix, output: Matrix, options: { accelerate?: boolean } = {}) {
    if (args.model !== 3) throw new Error(`fastText model kind ${args.model} is not a supervised classifier (expected 3 = sup)`);
    const loss = lossName(args.loss);
    if (loss !== 'softmax' && loss !== 'hs') throw new Error(`fastText loss "${loss}" is not supported for classification here (softmax and hs are)`);
    this.args = args;
    this.dict = dict;
    this.summer = options.accelerate !== false && input instanceof DenseMatrix ? WasmRowSummer.create(input) : null;
    this.input = this.summer ? this.summer.matrix : input;
    this.output = output;
    this.tree = loss === 'hs' ? buildHuffmanTree(dict.labelCounts()).tree : null;
    this.hidden = new Float32Array(args.dim);
    this.out = new Float32Array(dict.nlabels);
  }

  static load(path: string): FastTextClassifier {
    const p = readFastTextModel(readFileSync(path), path);
    return new FastTextClassifier(p.args, p.dict, p.input, p.output);
  }

  get labels(): string[] {
    return Array.from({ length: this.dict.nlabels }, (_, i) => this.dict.label(i));
  }

  /** Averages the input rows of `ids` into `hidden` (fastText computeHidden). */
  computeHidden(ids: Int32Array, n: number, hidden: Float32Array): void {
    const input = this.input;
    if (this.summer && this.summer.sum(ids, n, hidden)) {
      // summed by the SIMD kernel
    } else if (input instanceof DenseMatrix && hidden.length % 8 === 0) {
      // The hot loop of prediction: 8 columns at a time summed in float32 registers (fround keeps
      // every partial sum a float32, in fastText's order, so results are bit-identical).
      const d = input.data, dim = hidden.length;
      for (let c = 0; c < dim; c += 8) {
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
        for (let k = 0; k < n; k++) {
          const o = ids[k] * dim + c;
          a0 = f(a0 + d[o]); a1 = f(a1 + d[o + 1]); a2 = f(a2 + d[o + 2]); a3 = f(a3 + d[o + 3]);
          a4 = f(a4 + d[o + 4]); a5 = f(a5 + d[o + 5]); a6 = f(a6 + d[o + 6]); a7 = f(a7 + d[o + 7]);
        }
        hidden[c] = a0; hidden[c + 1] = a1; hidden[c + 2] = a2; hidden[c + 3] = a3;
        hidden[c + 4] = a4; hidden[c + 5] = a5; hidden[c + 6] = a6; hidden[c + 7] = a7;
      }
    } else if (input instanceof DenseMatrix) {
      hidden.fill(0);
      const d = input.data, dim = hidden.length;
      for (let k = 0; k < n; k++) {
        const o = ids[k] * dim;
        for (let j = 0; j < dim; j++) hidden[j] += d[o + j];
      }
    } else {
      hidden.fill(0);
      for (let k = 0; k < n; k++) input.addRowTo(hidden, ids[k], 1);
    }
    const inv = f(1 / n);
    for (let j = 0; j < hidden.length; j++) hidden[j] *= inv;
  }

  /** Softmax over the labels into `out`. */
  computeOutput(hidden: Float32Array, out: Float32Array): void {
    const n = out.length;
    for (let i = 0; i < n; i++) out[i] = this.output.dotRow(hidden, i);
    let max = out[0];
    for (let i = 1; i < n; i++) if (out[i] > max) max = out[i];
    let z = 0;
    for (let i = 0; i < n; i++) {
      out[i] = f(Math.exp(f(out[i] - max)));
      z = f(z + out[i]);
    }
    for (let i = 0; i < n; i++) out[i] = f(out[i] / z);
  }

  /**
   * Predicts the top `k` labels (k = -1: all) of one line of text, as `fasttext predict-prob` does
   * for that line followed by a newline (so "</s>" is part of the input); newlines inside the text
   * separate words like spaces, giving one prediction for the whole text. Returns [] for a line
   * with no known word or n-gram, where fastText prints an empty line.
   */
  predict(text: string, k = 1, threshold = 0): Prediction[] {
    if (this.bytes.length < text.length * 3) this.bytes = new Uint8Array(text.length * 3 + 16);
    const { written } = this.encoder.encodeInto(text, this.bytes);
    return this.predictBytes(this.bytes, 0, written, true, k, threshold);
  }

  predictBytes(bytes: Uint8Array, start: number, end: number, eos: boolean, k = 1, threshold = 0): Prediction[] {
    this.dict.getLine(bytes, start, end, eos, this.words, this.labelsBuf, this.hashesBuf);
    if (this.words.length === 0) return [];
    if (k === -1) k = this.dict.nlabels;
    if (k <= 0) throw new Error(`k must be positive or -1 (got ${k})`);
    this.computeHidden(this.words.data, this.words.length, this.hidden);
    if (k === 1 && !this.tree) return this.predictTop1(threshold);
    const heap = new TopK(k);
    if (this.tree) this.dfs(heap, threshold, 2 * this.dict.nlabels - 2, 0);
    else {
      this.computeOutput(this.hidden, this.out);
      for (let i = 0; i < this.out.length; i++) {
        if (this.out[i] < threshold) continue;
        const s = stdLog(this.out[i]);
        if (heap.full && s < heap.worst) continue;
        heap.push(s, i);
      }
    }
    return heap.sorted().map(({ score, id }) => ({ label: this.dict.label(id), prob: Math.exp(score) }));
  }

  /** Softmax top-1 without the heap; on a tie the later label wins, as fastText's pop_heap leaves it. */
  private predictTop1(threshold: number): Prediction[] {
    this.computeOutput(this.hidden, this.out);
    let best = -1, bestScore = -Infinity;
    for (let i = 0; i < this.out.length; i++) {
      if (this.out[i] < threshold) continue;
      const s = stdLog(this.out[i]);
      if (best < 0 || s >= bestScore) { best = i; bestScore = s; }
    }
    return best < 0 ? [] : [{ label: this.dict.label(best), prob: Math.exp(bestScore) }];
  }

  private dfs(heap: TopK, threshold: number, node: number, score: number): void {
    const tree = this.tree!;
    if (score < stdLog(threshold)) return;
    if (heap.full && score < heap.worst) return;
    const nd = tree[node];
    if (nd.left === -1 && nd.right === -1) {
      heap.push(score, node);
      return;
    }
    let g = this.output.dotRow(this.hidden, node - this.dict.nlabels);
    // `1. / (1 + std::exp(-f))` with f a float: expf, a float sum, a double division, a float result.
    g = f(1 / f(1 + f(Math.exp(-g))));
    this.dfs(heap, threshold, nd.left, f(score + stdLog(f(1 - g))));
    this.dfs(heap, threshold, nd.right, f(score + stdLog(g)));
  }

  /** Most likely label and its probability, or null when the text has no usable token. */
  top(text: string): Prediction | null {
    return this.predict(text, 1)[0] ?? null;
  }
}
