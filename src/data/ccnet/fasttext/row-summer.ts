/**
 * Sums fastText input rows with WebAssembly SIMD (f32x4): the same float32 additions in the same
 * order per column as the scalar loop, four columns per instruction, so results are bit-identical
 * and language id runs ~1.5× faster. The matrix lives in the kernel's memory; the returned
 * DenseMatrix is a view of it (so the caller must use that view from then on). Falls back (null)
 * where WebAssembly SIMD is missing, the width is not a multiple of 4, or the matrix exceeds 4 GiB.
 */
import { DenseMatrix } from './matrix.js';
import { SUM_ROWS_WASM_BASE64 } from './sum-rows-wasm.js';

const PAGE = 65536;
let compiled: WebAssembly.Module | null | undefined;

function kernel(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(Buffer.from(SUM_ROWS_WASM_BASE64, 'base64'));
  } catch {
    compiled = null; // no SIMD in this runtime: the scalar path is used
  }
  return compiled;
}

export class WasmRowSummer {
  readonly matrix: DenseMatrix;
  /** Most row ids one call takes (longer lines use the scalar path). */
  readonly capacity: number;
  private readonly ids: Int32Array;
  private readonly out: Float32Array;
  private readonly fn: (ids: number, n: number, mat: number, rowBytes: number, out: number, nvec: number) => void;
  private readonly idsPtr: number;
  private readonly matPtr: number;
  private readonly rowBytes: number;
  private readonly nvec: number;

  private constructor(m: DenseMatrix, mod: WebAssembly.Module, capacity: number) {
    const dim = m.cols;
    const outBytes = Math.ceil((dim * 4) / 16) * 16;
    const idsPtr = outBytes;
    const matPtr = Math.ceil((idsPtr + capacity * 4) / 16) * 16;
    const total = matPtr + m.data.byteLength;
    const inst = new WebAssembly.Instance(mod, {});
    const memory = inst.exports.memory as WebAssembly.Memory;
    const need = Math.ceil(total / PAGE) - memory.buffer.byteLength / PAGE;
    if (need > 0) memory.grow(need); // once: views made below stay valid
    const buf = memory.buffer;
    this.out = new Float32Array(buf, 0, dim);
    this.ids = new Int32Array(buf, idsPtr, capacity);
    const data = new Float32Array(buf, matPtr, m.rows * dim);
    data.set(m.data);
    this.matrix = new DenseMatrix(m.rows, dim, data);
    this.fn = inst.exports.sumRows as WasmRowSummer['fn'];
    this.capacity = capacity;
    this.idsPtr = idsPtr;
    this.matPtr = matPtr;
    this.rowBytes = dim * 4;
    this.nvec = dim / 4;
  }

  static create(m: DenseMatrix, capacity = 1 << 18): WasmRowSummer | null {
    if (m.cols % 4 !== 0 || m.cols === 0) return null;
    const bytes = m.data.byteLength + capacity * 4 + m.cols * 4 + 64;
    if (bytes > 4 * 1024 ** 3 - PAGE) return null;
    const mod = kernel();
    return mod ? new WasmRowSummer(m, mod, capacity) : null;
  }

  /** hidden = Σ rows(ids[0..n)) in order; false (nothing done) when n exceeds the capacity. */
  sum(ids: Int32Array, n: number, hidden: Float32Array): boolean {
    if (n > this.capacity) return false;
    this.ids.set(ids.subarray(0, n));
    this.fn(this.idsPtr, n, this.matPtr, this.rowBytes, 0, this.nvec);
    hidden.set(this.out);
    return true;
  }
}
