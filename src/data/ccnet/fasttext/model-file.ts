/**
 * Reads and writes fastText's binary model files (.bin, and .ftz = quantized), the format of
 * src/fasttext.cc `saveModel`/`loadModel`, little-endian:
 *
 *   int32 magic 793712314 | int32 version (12; 11 = old supervised models without char n-grams)
 *   args: 12 × int32 (dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate) + f64 t
 *   dictionary: int32 size, nwords, nlabels | int64 ntokens, pruneidx_size
 *               size × (NUL-terminated bytes, int64 count, int8 type) | pruneidx_size × (int32, int32)
 *   bool quant_input | input matrix | bool qout | output matrix
 *   dense matrix: int64 m, n | m*n float32
 *   quant matrix: bool qnorm | int64 m, n | int32 codesize | codes | PQ | [norm codes (m bytes) | norm PQ]
 *   PQ: int32 dim, nsubq, dsub, lastdsub | dim*256 float32 centroids
 */
import type { FastTextArgs } from './args.js';
import { ARGS_INT_FIELDS } from './args.js';
import type { DictEntry } from './dictionary.js';
import { Dictionary } from './dictionary.js';
import type { Matrix } from './matrix.js';
import { DenseMatrix, ProductQuantizer, QuantMatrix } from './matrix.js';

export const FASTTEXT_MAGIC = 793712314;
export const FASTTEXT_VERSION = 12;

export interface FastTextParts {
  args: FastTextArgs;
  dict: Dictionary;
  input: Matrix;
  output: Matrix;
  quantized: boolean;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly name: string) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new Error(`${this.name}: truncated fastText model: ${what} needs ${n} bytes at byte ${this.pos}, file has ${this.buf.length}`);
    }
  }
  i32(what: string): number { this.need(4, what); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return v; }
  i64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${this.name}: ${what} = ${v} at byte ${this.pos - 8} is out of range`);
    return Number(v);
  }
  f64(what: string): number { this.need(8, what); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
  u8(what: string): number { this.need(1, what); return this.buf[this.pos++]; }
  i8(what: string): number { this.need(1, what); return this.buf.readInt8(this.pos++); }
  floats(n: number, what: string): Float32Array {
    this.need(n * 4, what);
    const out = new Float32Array(n);
    // Copy through a byte view: the source offset need not be 4-byte aligned.
    new Uint8Array(out.buffer).set(this.buf.subarray(this.pos, this.pos + n * 4));
    this.pos += n * 4;
    return out;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
  cstring(what: string): Uint8Array {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new Error(`${this.name}: truncated fastText model: ${what} at byte ${this.pos} has no terminating NUL`);
    const b = new Uint8Array(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return b;
  }
}

function readPq(r: Reader): ProductQuantizer {
  const dim = r.i32('pq dim'), nsubq = r.i32('pq nsubq'), dsub = r.i32('pq dsub'), lastdsub = r.i32('pq lastdsub');
  if (dim <= 0 || nsubq <= 0 || dsub <= 0 || lastdsub <= 0) throw new Error(`${r.name}: bad product quantizer header at byte ${r.pos - 16}: dim=${dim} nsubq=${nsubq} dsub=${dsub} lastdsub=${lastdsub}`);
  return new ProductQuantizer(dim, nsubq, dsub, lastdsub, r.floats(dim * ProductQuantizer.KSUB, 'pq centroids'));
}

function readMatrix(r: Reader, quant: boolean, what: string): Matrix {
  if (!quant) {
    const m = r.i64(`${what} rows`), n = r.i64(`${what} cols`);
    return new DenseMatrix(m, n, r.floats(m * n, `${what} data`));
  }
  const qnorm = r.u8(`${what} qnorm`) !== 0;
  const m = r.i64(`${what} rows`), n = r.i64(`${what} cols`);
  const codesize = r.i32(`${what} codesize`);
  const codes = r.bytes(codesize, `${what} codes`);
  const pq = readPq(r);
  if (codesize !== m * pq.nsubq) throw new Error(`${r.name}: ${what} has ${codesize} codes, expected rows*nsubq = ${m * pq.nsubq}`);
  let normCodes: Uint8Array | null = null, npq: ProductQuantizer | null = null;
  if (qnorm) {
    normCodes = r.bytes(m, `${what} norm codes`);
    npq = readPq(r);
  }
  return new QuantMatrix(m, n, codes, pq, normCodes, npq);
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // a word may begin with U+FEFF

export function readFastTextModel(buf: Buffer, name = 'model'): FastTextParts {
  const r = new Reader(buf, name);
  const magic = r.i32('magic');
  if (magic !== FASTTEXT_MAGIC) throw new Error(`${name}: not a fastText model (magic ${magic} at byte 0, expected ${FASTTEXT_MAGIC}); pass a .bin or .ftz written by fastText`);
  const version = r.i32('version');
  if (version > FASTTEXT_VERSION) throw new Error(`${name}: fastText model version ${version} at byte 4 is newer than supported (${FASTTEXT_VERSION})`);
  const a: Record<string, number> = {};
  for (const k of ARGS_INT_FIELDS) a[k] = r.i32(`args.${k}`);
  a.t = r.f64('args.t');
  const args = a as unknown as FastTextArgs;
  if (version === 11 && args.model === 3) args.maxn = 0; // fastText's own compatibility rule
  if (args.dim <= 0 || args.dim > 100000) throw new Error(`${name}: implausible dim ${args.dim} in header`);

  const size = r.i32('dict size'), nwords = r.i32('dict nwords'), nlabels = r.i32('dict nlabels');
  const ntokens = r.i64('dict ntokens');
  const pruneIdxSize = r.i64('dict pruneidx_size');
  if (size < 0 || nwords + nlabels !== size) throw new Error(`${name}: dictionary header says size ${size} but nwords+nlabels = ${nwords + nlabels}`);
  const entries: DictEntry[] = [];
  for (let i = 0; i < size; i++) {
    const bytes = r.cstring(`dictionary entry ${i}`);
    const count = r.i64(`dictionary entry ${i} count`);
    const type = r.i8(`dictionary entry ${i} type`);
    entries.push({ word: decoder.decode(bytes), bytes, count, type });
  }
  const pruneIdx = new Map<number, number>();
  for (let i = 0; i < pruneIdxSize; i++) {
    const first = r.i32('pruneidx key');
    pruneIdx.set(first, r.i32('pruneidx value'));
  }
  const dict = new Dictionary(args, entries, ntokens, pruneIdxSize, pruneIdx);
  const quantInput = r.u8('quant_input flag') !== 0;
  const input = readMatrix(r, quantInput, 'input matrix');
  if (!quantInput && pruneIdxSize >= 0) throw new Error(`${name}: pruned dictionary with a dense input matrix is invalid`);
  const qout = r.u8('qout flag') !== 0;
  const output = readMatrix(r, quantInput && qout, 'output matrix');
  if (r.pos !== buf.length) throw new Error(`${name}: ${buf.length - r.pos} unexpected trailing bytes after the output matrix at byte ${r.pos}`);
  if (input.cols !== args.dim || output.cols !== args.dim) throw new Error(`${name}: matrix width ${input.cols}/${output.cols} differs from dim ${args.dim}`);
  if (input.rows !== nwords + Math.max(0, pruneIdxSize >= 0 ? pruneIdxSize : args.bucket)) {
    throw new Error(`${name}: input matrix has ${input.rows} rows, expected nwords + buckets = ${nwords + (pruneIdxSize >= 0 ? pruneIdxSize : args.bucket)}`);
  }
  if (output.rows !== nlabels && args.model === 3) throw new Error(`${name}: output matrix has ${output.rows} rows for ${nlabels} labels`);
  return { args, dict, input, output, quantized: quantInput };
}

/** Serializes a dense model in fastText's .bin format (readable by `fasttext predict`). */
export function writeFastTextModel(parts: { args: FastTextArgs; dict: Dictionary; input: DenseMatrix; output: DenseMatrix }): Buffer {
  const { args, dict, input, output } = parts;
  const chunks: Buffer[] = [];
  const head = Buffer.alloc(8 + 12 * 4 + 8);
  head.writeInt32LE(FASTTEXT_MAGIC, 0);
  head.writeInt32LE(FASTTEXT_VERSION, 4);
  ARGS_INT_FIELDS.forEach((k, i) => head.writeInt32LE(args[k], 8 + i * 4));
  head.writeDoubleLE(args.t, 56);
  chunks.push(head);
  const dh = Buffer.alloc(12 + 16);
  dh.writeInt32LE(dict.size, 0);
  dh.writeInt32LE(dict.nwords, 4);
  dh.writeInt32LE(dict.nlabels, 8);
  dh.writeBigInt64LE(BigInt(dict.ntokens), 12);
  dh.writeBigInt64LE(BigInt(-1), 20);
  chunks.push(dh);
  for (const e of dict.entries) {
    const rec = Buffer.alloc(e.bytes.length + 1 + 9);
    rec.set(e.bytes, 0);
    rec[e.bytes.length] = 0;
    rec.writeBigInt64LE(BigInt(e.count), e.bytes.length + 1);
    rec.writeInt8(e.type, e.bytes.length + 9);
    chunks.push(rec);
  }
  for (const [flag, m] of [[0, input], [0, output]] as const) {
    const mh = Buffer.alloc(1 + 16);
    mh[0] = flag;
    mh.writeBigInt64LE(BigInt(m.rows), 1);
    mh.writeBigInt64LE(BigInt(m.cols), 9);
    chunks.push(mh, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  }
  return Buffer.concat(chunks);
}
