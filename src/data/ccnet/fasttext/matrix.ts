/**
 * fastText's two matrix kinds: dense float32 rows, and product-quantized rows (.ftz models from
 * `fasttext quantize`, src/productquantizer.cc + src/quantmatrix.cc). Arithmetic is float32, in the
 * same order as the C++ code, so predicted probabilities agree to the last printed digit.
 */

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** x += scale * row(i) */
  addRowTo(x: Float32Array, i: number, scale: number): void;
  /** row(i) · x, accumulated in float32 */
  dotRow(x: Float32Array, i: number): number;
}

const f = Math.fround;

export class DenseMatrix implements Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;

  constructor(rows: number, cols: number, data?: Float32Array) {
    this.rows = rows;
    this.cols = cols;
    this.data = data ?? new Float32Array(rows * cols);
    if (this.data.length !== rows * cols) throw new Error(`dense matrix ${rows}x${cols} needs ${rows * cols} floats, got ${this.data.length}`);
  }

  addRowTo(x: Float32Array, i: number, scale: number): void {
    const d = this.data, n = this.cols, o = i * n;
    if (scale === 1) for (let j = 0; j < n; j++) x[j] += d[o + j];
    else for (let j = 0; j < n; j++) x[j] += f(scale * d[o + j]);
  }

  dotRow(x: Float32Array, i: number): number {
    const d = this.data, n = this.cols, o = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s = f(s + f(d[o + j] * x[j]));
    return s;
  }

  /** row(i) += scale * x (training update). */
  addVectorToRow(x: Float32Array, i: number, scale: number): void {
    const d = this.data, n = this.cols, o = i * n;
    for (let j = 0; j < n; j++) d[o + j] += scale * x[j];
  }
}

/** fastText ProductQuantizer: `nsubq` sub-vectors of `dsub` dims (the last `lastdsub`), 256 centroids each. */
export class ProductQuantizer {
  static readonly KSUB = 256;
  constructor(
    readonly dim: number,
    readonly nsubq: number,
    readonly dsub: number,
    readonly lastdsub: number,
    readonly centroids: Float32Array, // dim * 256
  ) {
    if (centroids.length !== dim * ProductQuantizer.KSUB) throw new Error(`product quantizer: ${centroids.length} centroid floats, expected ${dim * 256}`);
  }

  /** Offset of centroid `c` of sub-quantizer `m` (the last one is packed with its own width). */
  centroidOffset(m: number, c: number): number {
    if (m === this.nsubq - 1) return m * ProductQuantizer.KSUB * this.dsub + c * this.lastdsub;
    return (m * ProductQuantizer.KSUB + c) * this.dsub;
  }

  addCode(x: Float32Array, codes: Uint8Array, t: number, alpha: number): void {
    const cen = this.centroids;
    const base = this.nsubq * t;
    let d = this.dsub;
    for (let m = 0; m < this.nsubq; m++) {
      const o = this.centroidOffset(m, codes[base + m]);
      if (m === this.nsubq - 1) d = this.lastdsub;
      for (let n = 0; n < d; n++) x[m * this.dsub + n] += f(alpha * cen[o + n]);
    }
  }

  mulCode(x: Float32Array, codes: Uint8Array, t: number, alpha: number): number {
    const cen = this.centroids;
    const base = this.nsubq * t;
    let res = 0;
    let d = this.dsub;
    for (let m = 0; m < this.nsubq; m++) {
      const o = this.centroidOffset(m, codes[base + m]);
      if (m === this.nsubq - 1) d = this.lastdsub;
      for (let n = 0; n < d; n++) res = f(res + f(x[m * this.dsub + n] * cen[o + n]));
    }
    return f(res * alpha);
  }
}

export class QuantMatrix implements Matrix {
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly codes: Uint8Array,
    readonly pq: ProductQuantizer,
    /** Per-row norm codes and their 1-d quantizer when the model was quantized with -qnorm. */
    readonly normCodes: Uint8Array | null,
    readonly npq: ProductQuantizer | null,
  ) {}

  private norm(i: number): number {
    if (!this.normCodes || !this.npq) return 1;
    return this.npq.centroids[this.npq.centroidOffset(0, this.normCodes[i])];
  }

  addRowTo(x: Float32Array, i: number, scale: number): void {
    this.pq.addCode(x, this.codes, i, f(scale * this.norm(i)));
  }

  dotRow(x: Float32Array, i: number): number {
    return this.pq.mulCode(x, this.codes, i, this.norm(i));
  }
}
