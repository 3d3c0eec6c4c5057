/**
 * The WebAssembly backend: AssemblyScript kernels (src/kernels/asm, built by scripts/build-wasm.mjs)
 * with 128-bit SIMD — relaxed-SIMD fused multiply-add where the runtime validates it — on a
 * worker pool (pool.ts) that shares the memories.
 *
 * Memory: tensors live in "heaps" of at most 4 GiB (wasm-heaps.ts); loading: wasm-loader.ts.
 * This file maps every Backend operation to its kernel: argument checks, heap resolution, the
 * choice of kernel (matrix-vector or gemm) and of serial or threaded execution.
 */
import type { AdamWParams, Arena, Backend, F32, Weight } from './backend.js';
import { checkDims, checkHeads, checkLength, checkTokens } from './checks.js';
import { KernelPool } from './pool.js';
import { HeapSet, MAX_HEAP_BYTES, SCRATCH_BASE, SCRATCH_PER_THREAD } from './wasm-heaps.js';
import { isNode, loadKernelModule, type LoadedModule } from './wasm-loader.js';

const KERNELS = [
  'gemm', 'gemm_q', 'gemm_q_pack_a', 'matvec_f32', 'matvec_f32p', 'matvec_f16', 'matvec_q8_0', 'matvec_q4_0', 'matvec_q4_k', 'matvec_q5_k', 'matvec_q6_k',
  'rmsnorm_forward', 'rmsnorm_backward', 'rope_forward', 'rope_backward', 'swiglu_forward', 'swiglu_backward',
  'embedding_forward', 'embedding_backward', 'add', 'accumulate', 'adamw', 'sum_squares',
  'attention_forward', 'attention_backward', 'attention_cached', 'log_softmax',
  'cross_entropy_chunk_stats', 'cross_entropy_finish', 'cross_entropy_chunk_dlogits',
] as const;
type KernelName = typeof KERNELS[number];
const K = Object.fromEntries(KERNELS.map((n, i) => [n, i])) as Record<KernelName, number>;

// gemm's B operand kinds (src/kernels/asm/gemm.ts)
const B_NN = 0, B_NT_F32 = 1, B_NT_F16 = 2, B_NT_Q8_0 = 3, B_NT_Q4_0 = 4, B_PANELS8 = 5, B_NT_Q4_K = 6, B_NT_Q6_K = 7, B_NT_Q5_K = 8;
const MATVEC_MAX_N = 32;       // f32: up to here the matrix-vector kernel (weights read once, 4×2 blocks) beats the gemm (measured to N=32)
const MATVEC_MAX_N_F16 = 8;
const MATVEC_MAX_N_QUANT = 7;  // block-quantized: above this the integer gemm (8-row panels) wins (q8_0 4096x4096: matvec ~0.73 ms/row, gemm ~5.6 ms up to 8 rows)
const SUMSQ_BLOCK = 65536;

const SERIAL_WORK = 1 << 16;            // multiply-adds / elements under which a call stays on the caller
// Cross-entropy: vocabulary columns per chunk (fixed, so each row's result does not depend on N;
// 512 and 2048 measured the same) and the most rows one scratch block holds (N×V logits are never
// stored; 2048×1040 floats = 8.5 MiB).
const CE_CHUNK = 1024;
// Row stride of the logits block: a little over the chunk, so its rows are not 4 KiB apart (at a
// 4 KiB stride the transposed reads of the dW product all fall in the same L1 cache sets).
const CE_LD = CE_CHUNK + 16;
const CE_ROWS_MAX = 2048;
const PAGE = 65536;

export interface WasmBackendOptions {
  /** Threads including the caller; default os.availableParallelism(). */
  threads?: number;
  /** Force the plain-SIMD build even where relaxed SIMD validates (for tests and comparisons). */
  noRelaxedSimd?: boolean;
  /** Microseconds an idle worker spins before sleeping (see pool.ts; default 50). */
  spinMicros?: number;
  /**
   * Calls whose work (multiply-adds or elements) is below this run on the calling thread alone
   * (default 65536: waking a worker costs more). 0 always uses every thread (tests do, so small
   * shapes still exercise the partitioning).
   */
  serialBelow?: number;
  /**
   * Caps each WebAssembly memory below the 4 GiB wasm32 limit (bytes, a multiple of 64 KiB): lets
   * tests exercise placement across several memories without allocating gigabytes.
   */
  heapBytesLimit?: number;
}

class WasmBackend implements Backend {
  readonly name: string;
  readonly threads: number;
  private readonly mem: HeapSet;
  private checkFinite = false;
  private readonly serialBelow: number;
  private readonly ceScratchByHeap = new Map<number, { logits: number; stats: number; rows: number }>();

  constructor(private readonly loaded: LoadedModule, private readonly pool: KernelPool, heapBytesLimit?: number, serialBelow?: number) {
    this.threads = pool.threads;
    this.mem = new HeapSet(loaded, pool, this.threads, heapBytesLimit ?? MAX_HEAP_BYTES);
    this.serialBelow = serialBelow ?? SERIAL_WORK;
    this.name = `wasm-${loaded.relaxed ? 'relaxed-simd' : 'simd'}x${this.threads}`;
  }

  /** True when the kernels use relaxed-SIMD fused multiply-add. */
  get relaxedSimd(): boolean { return this.loaded.relaxed; }

  /** Bytes of WebAssembly memory reserved so far over all heaps (for memory-bound tests). */
  get memoryBytes(): number { return this.mem.memoryBytes; }

  createArena(bytes: number, label = 'arena'): Arena { return this.mem.createArena(bytes, label); }

  setCheckFinite(on: boolean): void { this.checkFinite = on; }

  dispose(): void { this.pool.dispose(); }

  // ------------------------------------------------------------------ plumbing

  /** Resolves the arrays of one call to byte offsets, checking they live in one heap. */
  private ptrs(op: string, arrays: Record<string, ArrayBufferView | null>): Record<string, number> & { heap: number } {
    return this.mem.ptrs(op, arrays);
  }

  /** Scratch base, per-thread stride and the zeroed work counters: the trailing arguments of the parallel kernels. */
  private scratch(heap: number): number[] { return this.mem.scratchArgs(heap); }

  /**
   * Runs a kernel; `work` (roughly the multiply-adds or elements it touches) below serialBelow runs
   * on the calling thread alone — waking a sleeping worker costs ~15 µs, more than such a call.
   */
  private run(heap: number, kernel: KernelName, args: number[], work = Infinity): void {
    this.pool.run(heap, K[kernel], args, work < this.serialBelow);
  }

  /** The optional NaN/Inf probe on a kernel's output. */
  private finite(op: string, what: string, heap: number, x: ArrayBufferView | null, n: number, shape: string): void {
    if (!this.checkFinite || x === null || n === 0) return;
    const i = this.mem.heaps[heap].exports.first_non_finite(x.byteOffset, n);
    if (i >= 0) {
      const v = (x as Float32Array)[i];
      throw new Error(`${op}: ${what} ${shape} holds ${v} at flat index ${i} (non-finite value produced; ` +
        'check the learning rate, the inputs, or the previous op)');
    }
  }

  // ------------------------------------------------------------------ matmul

  logSoftmax(out: F32, inp: F32, rows: number, V: number): void {
    const op = 'logSoftmax';
    checkDims(op, { rows, V });
    checkLength(op, 'out', out, rows * V, `[rows, V] = [${rows}, ${V}]`);
    checkLength(op, 'inp', inp, rows * V, `[rows, V] = [${rows}, ${V}]`);
    if (rows === 0 || V === 0) return;
    const p = this.ptrs(op, { out, inp });
    this.run(p.heap, 'log_softmax', [p.out, p.inp, rows, V], rows * V * 8);
    for (let r = 0; r < rows; r++) {
      if (!Number.isFinite(out[r * V]!)) throw new Error(`${op}: row ${r} of [${rows}, ${V}] has a non-finite log-sum-exp (the logits hold NaN or Inf — corrupt weights?)`);
    }
  }

  matmulForward(out: F32, inp: F32, weight: F32, N: number, C: number, OC: number): void {
    const op = 'matmulForward';
    checkDims(op, { N, C, OC });
    checkLength(op, 'out', out, N * OC, `[N, OC] = [${N}, ${OC}]`);
    checkLength(op, 'inp', inp, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'weight', weight, OC * C, `[OC, C] = [${OC}, ${C}]`);
    const p = this.ptrs(op, { out, inp, weight });
    if (N <= MATVEC_MAX_N) this.run(p.heap, 'matvec_f32', [p.out, p.inp, p.weight, N, C, OC], N * C * OC);
    else this.run(p.heap, 'gemm', [p.out, OC, p.inp, C, 1, p.weight, B_NT_F32, C, N, OC, C, 0, ...this.scratch(p.heap)], N * C * OC);
    this.finite(op, 'out', p.heap, out, N * OC, `[${N}, ${OC}]`);
  }

  matmulBackward(dinp: F32 | null, dweight: F32 | null, dout: F32, inp: F32, weight: F32, N: number, C: number, OC: number): void {
    const op = 'matmulBackward';
    checkDims(op, { N, C, OC });
    checkLength(op, 'dinp', dinp, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'dweight', dweight, OC * C, `[OC, C] = [${OC}, ${C}]`);
    checkLength(op, 'dout', dout, N * OC, `[N, OC] = [${N}, ${OC}]`);
    checkLength(op, 'inp', inp, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'weight', weight, OC * C, `[OC, C] = [${OC}, ${C}]`);
    const p = this.ptrs(op, { dinp, dweight, dout, inp, weight });
    // dinp[N,C] += dout[N,OC] · W[OC,C]
    if (dinp) this.run(p.heap, 'gemm', [p.dinp, C, p.dout, OC, 1, p.weight, B_NN, C, N, C, OC, 1, ...this.scratch(p.heap)], N * C * OC);
    // dW[OC,C] += dout^T[OC,N] · inp[N,C]   (A read transposed: A[o,n] = dout[n*OC + o])
    if (dweight) this.run(p.heap, 'gemm', [p.dweight, C, p.dout, 1, OC, p.inp, B_NN, C, OC, C, N, 1, ...this.scratch(p.heap)], N * C * OC);
    this.finite(op, 'dinp', p.heap, dinp, N * C, `[${N}, ${C}]`);
    this.finite(op, 'dweight', p.heap, dweight, OC * C, `[${OC}, ${C}]`);
  }

  /**
   * f32 matrices with a multiple of 8 rows go to panels of 8 rows (Weight.layout): decode then
   * reads each thread's share as one memory stream, and prefill's gemm reads the panels in place.
   */
  prepareWeight(weight: Weight): Weight {
    if (weight.type !== 'f32' || (weight.layout ?? 'rows') !== 'rows' || weight.rows % 8 !== 0 || weight.rows === 0) return weight;
    const { rows, cols } = weight;
    const w = weight.data as Float32Array;
    checkLength('prepareWeight(f32)', 'weight data', w, rows * cols, `[${rows}, ${cols}] f32`);
    this.ptrs('prepareWeight(f32)', { weight: w }); // it must live in this backend's memory
    // panel p occupies the bytes of rows 8p..8p+7: each is rearranged in place through one copy
    const block = new Float32Array(8 * cols);
    for (let r0 = 0; r0 < rows; r0 += 8) {
      const region = w.subarray(r0 * cols, (r0 + 8) * cols);
      block.set(region);
      for (let i = 0; i < 8; i++) for (let c = 0; c < cols; c++) region[c * 8 + i] = block[i * cols + c];
    }
    return { ...weight, layout: 'panels8' };
  }

  matmulWeight(out: F32, inp: F32, weight: Weight, N: number): void {
    if (weight.layout === 'panels8') return this.matmulPanels(out, inp, weight, N);
    const op = `matmulWeight(${weight.type})`;
    const OC = weight.rows, C = weight.cols;
    checkDims(op, { N, C, OC });
    checkLength(op, 'out', out, N * OC, `[N, OC] = [${N}, ${OC}]`);
    checkLength(op, 'inp', inp, N * C, `[N, C] = [${N}, ${C}]`);
    const spec = {
      f32: { ctor: Float32Array, n: OC * C, kind: B_NT_F32, mv: 'matvec_f32' },
      f16: { ctor: Uint16Array, n: OC * C, kind: B_NT_F16, mv: 'matvec_f16' },
      q8_0: { ctor: Uint8Array, n: (OC * C / 32) * 34, kind: B_NT_Q8_0, mv: 'matvec_q8_0' },
      q4_0: { ctor: Uint8Array, n: (OC * C / 32) * 18, kind: B_NT_Q4_0, mv: 'matvec_q4_0' },
      q4_k: { ctor: Uint8Array, n: (OC * C / 256) * 144, kind: B_NT_Q4_K, mv: 'matvec_q4_k' },
      q5_k: { ctor: Uint8Array, n: (OC * C / 256) * 176, kind: B_NT_Q5_K, mv: 'matvec_q5_k' },
      q6_k: { ctor: Uint8Array, n: (OC * C / 256) * 210, kind: B_NT_Q6_K, mv: 'matvec_q6_k' },
    }[weight.type] as { ctor: Function; n: number; kind: number; mv: KernelName } | undefined;
    if (!spec) throw new Error(`${op}: unknown weight type '${weight.type}' (expected f32, f16, q8_0, q4_0, q4_k, q5_k or q6_k)`);
    if ((weight.type === 'q8_0' || weight.type === 'q4_0') && C % 32 !== 0) {
      throw new Error(`${op}: cols = ${C} must be a multiple of 32 (the GGUF block size)`);
    }
    if (weight.type.endsWith('_k') && C % 256 !== 0) throw new Error(`${op}: cols = ${C} must be a multiple of 256 (the K-quant superblock)`);
    if (!(weight.data instanceof spec.ctor)) {
      throw new Error(`${op}: weight data is a ${weight.data.constructor.name}, type ${weight.type} needs a ${spec.ctor.name}`);
    }
    checkLength(op, 'weight data', weight.data, spec.n, `[${OC}, ${C}] ${weight.type}`);
    const p = this.ptrs(op, { out, inp, weight: weight.data });
    const quantized = weight.type !== 'f32' && weight.type !== 'f16';
    // Few rows: read the weights once in their stored type, as far as the quantized activations
    // fit the scratch. More rows of quantized weights: the integer gemm (gemm-q.ts). Both round the
    // activations as llama.cpp does (Q8_0 per 32, Q8_K per 256 for the K-quants) and compute the
    // same integer block sums.
    const qScratch = N * C * 3 + N * (C / 32) * 8 + N * (C / 256) * 4 + 64;
    const maxN = quantized ? MATVEC_MAX_N_QUANT : weight.type === 'f16' ? MATVEC_MAX_N_F16 : MATVEC_MAX_N;
    if (N <= maxN && (!quantized || qScratch <= SCRATCH_PER_THREAD)) {
      if (quantized) this.run(p.heap, spec.mv, [p.out, p.inp, p.weight, N, C, OC, SCRATCH_BASE, SCRATCH_PER_THREAD], N * C * OC);
      else this.run(p.heap, spec.mv, [p.out, p.inp, p.weight, N, C, OC], N * C * OC);
    } else if (quantized) {
      // the activations are quantized and packed once per slice of rows that fits the heap's region
      if (16 * C + 8192 > SCRATCH_PER_THREAD) throw new Error(`${op}: cols = ${C} exceeds ${(SCRATCH_PER_THREAD - 8192) / 16}, the widest rows the quantized gemm packs`);
      const rowBytes = C * 2 + (C / 32) * 8;
      const slice = Math.floor(this.mem.packBytes / rowBytes / 8) * 8;
      if (slice < 8) throw new Error(`${op}: rows of ${C} values do not fit the packing region (${this.mem.packBytes} bytes for 8 rows)`);
      const apk = this.mem.packBase;
      for (let r0 = 0; r0 < N; r0 += slice) {
        const n = Math.min(slice, N - r0);
        const inp0 = p.inp + 4 * r0 * C, out0 = p.out + 4 * r0 * OC;
        this.run(p.heap, 'gemm_q_pack_a', [inp0, C, spec.kind, n, C, apk, ...this.scratch(p.heap)], n * C * 8);
        this.run(p.heap, 'gemm_q', [out0, OC, apk, p.weight, spec.kind, n, OC, C, 0, ...this.scratch(p.heap)], n * C * OC);
      }
    } else {
      this.run(p.heap, 'gemm', [p.out, OC, p.inp, C, 1, p.weight, spec.kind, C, N, OC, C, 0, ...this.scratch(p.heap)], N * C * OC);
    }
    this.finite(op, 'out', p.heap, out, N * OC, `[${N}, ${OC}]`);
  }

  private matmulPanels(out: F32, inp: F32, weight: Weight, N: number): void {
    const op = 'matmulWeight(f32 panels8)';
    const OC = weight.rows, C = weight.cols;
    checkDims(op, { N, C, OC });
    if (weight.type !== 'f32' || OC % 8 !== 0) throw new Error(`${op}: panels hold f32 weights with a multiple of 8 rows, got ${weight.type} [${OC}, ${C}]`);
    checkLength(op, 'out', out, N * OC, `[N, OC] = [${N}, ${OC}]`);
    checkLength(op, 'inp', inp, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'weight data', weight.data as Float32Array, OC * C, `[${OC}, ${C}] f32`);
    const p = this.ptrs(op, { out, inp, weight: weight.data });
    if (N <= MATVEC_MAX_N) this.run(p.heap, 'matvec_f32p', [p.out, p.inp, p.weight, N, C, OC], N * C * OC);
    else this.run(p.heap, 'gemm', [p.out, OC, p.inp, C, 1, p.weight, B_PANELS8, C, N, OC, C, 0, ...this.scratch(p.heap)], N * C * OC);
    this.finite(op, 'out', p.heap, out, N * OC, `[${N}, ${OC}]`);
  }

  // ------------------------------------------------------------------ RMSNorm

  rmsnormForward(out: F32, rstd: F32, inp: F32, weight: F32, N: number, C: number, eps: number): void {
    const op = 'rmsnormForward';
    checkDims(op, { N, C });
    checkLength(op, 'out', out, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'rstd', rstd, N, `[N] = [${N}]`);
    checkLength(op, 'inp', inp, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'weight', weight, C, `[C] = [${C}]`);
    const p = this.ptrs(op, { out, rstd, inp, weight });
    this.run(p.heap, 'rmsnorm_forward', [p.out, p.rstd, p.inp, p.weight, N, C, eps], N * C);
    this.finite(op, 'out', p.heap, out, N * C, `[${N}, ${C}]`);
  }

  rmsnormBackward(dinp: F32, dweight: F32, dout: F32, inp: F32, weight: F32, rstd: F32, N: number, C: number): void {
    const op = 'rmsnormBackward';
    checkDims(op, { N, C });
    for (const [k, a] of [['dinp', dinp], ['dout', dout], ['inp', inp]] as const) checkLength(op, k, a, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'dweight', dweight, C, `[C] = [${C}]`);
    checkLength(op, 'weight', weight, C, `[C] = [${C}]`);
    checkLength(op, 'rstd', rstd, N, `[N] = [${N}]`);
    const p = this.ptrs(op, { dinp, dweight, dout, inp, weight, rstd });
    this.run(p.heap, 'rmsnorm_backward', [p.dinp, p.dweight, p.dout, p.inp, p.weight, p.rstd, N, C], N * C);
    this.finite(op, 'dinp', p.heap, dinp, N * C, `[${N}, ${C}]`);
    this.finite(op, 'dweight', p.heap, dweight, C, `[${C}]`);
  }

  // ------------------------------------------------------------------ RoPE

  private ropeChecks(op: string, a: F32, b: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void {
    checkDims(op, { B, T, nHeads, headDim, pos0 });
    if (headDim % 2 !== 0) throw new Error(`${op}: headDim = ${headDim} must be even (RoPE rotates pairs)`);
    const n = B * T * nHeads * headDim;
    const shape = `[B, T, nHeads, headDim] = [${B}, ${T}, ${nHeads}, ${headDim}]`;
    checkLength(op, 'out', a, n, shape);
    checkLength(op, 'inp', b, n, shape);
    const tab = (pos0 + T) * (headDim / 2);
    checkLength(op, 'cos', cos, tab, `[pos0 + T, headDim/2] = [${pos0 + T}, ${headDim / 2}] (table too short for these positions)`);
    checkLength(op, 'sin', sin, tab, `[pos0 + T, headDim/2] = [${pos0 + T}, ${headDim / 2}] (table too short for these positions)`);
  }

  ropeForward(out: F32, inp: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void {
    const op = 'ropeForward';
    this.ropeChecks(op, out, inp, cos, sin, B, T, nHeads, headDim, pos0);
    const p = this.ptrs(op, { out, inp, cos, sin });
    this.run(p.heap, 'rope_forward', [p.out, p.inp, p.cos, p.sin, B, T, nHeads, headDim, pos0], B * T * nHeads * headDim);
    this.finite(op, 'out', p.heap, out, B * T * nHeads * headDim, `[${B}, ${T}, ${nHeads}, ${headDim}]`);
  }

  ropeBackward(dinp: F32, dout: F32, cos: F32, sin: F32, B: number, T: number, nHeads: number, headDim: number, pos0: number): void {
    const op = 'ropeBackward';
    this.ropeChecks(op, dinp, dout, cos, sin, B, T, nHeads, headDim, pos0);
    const p = this.ptrs(op, { dinp, dout, cos, sin });
    this.run(p.heap, 'rope_backward', [p.dinp, p.dout, p.cos, p.sin, B, T, nHeads, headDim, pos0], B * T * nHeads * headDim);
    this.finite(op, 'dinp', p.heap, dinp, B * T * nHeads * headDim, `[${B}, ${T}, ${nHeads}, ${headDim}]`);
  }

  // ------------------------------------------------------------------ SwiGLU

  swigluForward(out: F32, a: F32, b: F32, n: number): void {
    const op = 'swigluForward';
    checkDims(op, { n });
    for (const [k, x] of [['out', out], ['a', a], ['b', b]] as const) checkLength(op, k, x, n, `[${n}]`);
    const p = this.ptrs(op, { out, a, b });
    this.run(p.heap, 'swiglu_forward', [p.out, p.a, p.b, n], n);
    this.finite(op, 'out', p.heap, out, n, `[${n}]`);
  }

  swigluBackward(da: F32, db: F32, dout: F32, a: F32, b: F32, n: number): void {
    const op = 'swigluBackward';
    checkDims(op, { n });
    for (const [k, x] of [['da', da], ['db', db], ['dout', dout], ['a', a], ['b', b]] as const) checkLength(op, k, x, n, `[${n}]`);
    const p = this.ptrs(op, { da, db, dout, a, b });
    this.run(p.heap, 'swiglu_backward', [p.da, p.db, p.dout, p.a, p.b, n], n);
    this.finite(op, 'da', p.heap, da, n, `[${n}]`);
    this.finite(op, 'db', p.heap, db, n, `[${n}]`);
  }

  // ------------------------------------------------------------------ embedding

  embeddingForward(out: F32, tokens: Int32Array, table: F32, N: number, C: number, V: number): void {
    const op = 'embeddingForward';
    checkDims(op, { N, C, V });
    checkLength(op, 'out', out, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'tokens', tokens, N, `[N] = [${N}]`);
    checkLength(op, 'table', table, V * C, `[V, C] = [${V}, ${C}]`);
    checkTokens(op, 'tokens', tokens, N, 0, V);
    const p = this.ptrs(op, { out, tokens, table });
    this.run(p.heap, 'embedding_forward', [p.out, p.tokens, p.table, N, C], N * C);
  }

  embeddingBackward(dtable: F32, dout: F32, tokens: Int32Array, N: number, C: number): void {
    const op = 'embeddingBackward';
    checkDims(op, { N, C });
    checkLength(op, 'dout', dout, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'tokens', tokens, N, `[N] = [${N}]`);
    const V = C > 0 ? Math.floor(dtable.length / C) : 0;
    checkTokens(op, 'tokens', tokens, N, 0, V);
    const p = this.ptrs(op, { dtable, dout, tokens });
    this.run(p.heap, 'embedding_backward', [p.dtable, p.dout, p.tokens, N, C], N * C);
    this.finite(op, 'dtable', p.heap, dtable, V * C, `[${V}, ${C}]`);
  }

  // ------------------------------------------------------------------ residual stream

  add(out: F32, a: F32, b: F32, n: number): void {
    const op = 'add';
    checkDims(op, { n });
    for (const [k, x] of [['out', out], ['a', a], ['b', b]] as const) checkLength(op, k, x, n, `[${n}]`);
    const p = this.ptrs(op, { out, a, b });
    this.run(p.heap, 'add', [p.out, p.a, p.b, n], n);
    this.finite(op, 'out', p.heap, out, n, `[${n}]`);
  }

  accumulate(dst: F32, src: F32, n: number): void {
    const op = 'accumulate';
    checkDims(op, { n });
    checkLength(op, 'dst', dst, n, `[${n}]`);
    checkLength(op, 'src', src, n, `[${n}]`);
    const p = this.ptrs(op, { dst, src });
    this.run(p.heap, 'accumulate', [p.dst, p.src, n], n);
    this.finite(op, 'dst', p.heap, dst, n, `[${n}]`);
  }

  // ------------------------------------------------------------------ attention

  private attentionScratchCheck(op: string, headDim: number): void {
    if ((2 * 4 * 64 + 12 * headDim + 16) * 4 > SCRATCH_PER_THREAD) throw new Error(`${op}: headDim = ${headDim} exceeds the kernel scratch`);
  }

  attentionForward(out: F32, lse: F32, q: F32, k: F32, v: F32, B: number, T: number, nHeads: number, nKvHeads: number, headDim: number): void {
    const op = 'attentionForward';
    checkDims(op, { B, T, nHeads, nKvHeads, headDim });
    checkHeads(op, nHeads, nKvHeads, headDim);
    this.attentionScratchCheck(op, headDim);
    const nq = B * T * nHeads * headDim, nkv = B * T * nKvHeads * headDim;
    const qs = `[B, T, nHeads, headDim] = [${B}, ${T}, ${nHeads}, ${headDim}]`, kvs = `[B, T, nKvHeads, headDim] = [${B}, ${T}, ${nKvHeads}, ${headDim}]`;
    checkLength(op, 'out', out, nq, qs);
    checkLength(op, 'lse', lse, B * nHeads * T, `[B, nHeads, T] = [${B}, ${nHeads}, ${T}]`);
    checkLength(op, 'q', q, nq, qs);
    checkLength(op, 'k', k, nkv, kvs);
    checkLength(op, 'v', v, nkv, kvs);
    const p = this.ptrs(op, { out, lse, q, k, v });
    this.run(p.heap, 'attention_forward', [p.out, p.lse, p.q, p.k, p.v, B, T, nHeads, nKvHeads, headDim, ...this.scratch(p.heap)]);
    this.finite(op, 'out', p.heap, out, nq, qs);
  }

  attentionBackward(dq: F32, dk: F32, dv: F32, dout: F32, q: F32, k: F32, v: F32, out: F32, lse: F32,
    B: number, T: number, nHeads: number, nKvHeads: number, headDim: number): void {
    const op = 'attentionBackward';
    checkDims(op, { B, T, nHeads, nKvHeads, headDim });
    checkHeads(op, nHeads, nKvHeads, headDim);
    this.attentionScratchCheck(op, headDim);
    const nq = B * T * nHeads * headDim, nkv = B * T * nKvHeads * headDim;
    const qs = `[B, T, nHeads, headDim] = [${B}, ${T}, ${nHeads}, ${headDim}]`, kvs = `[B, T, nKvHeads, headDim] = [${B}, ${T}, ${nKvHeads}, ${headDim}]`;
    for (const [n, a] of [['dq', dq], ['dout', dout], ['q', q], ['out', out]] as const) checkLength(op, n, a, nq, qs);
    for (const [n, a] of [['dk', dk], ['dv', dv], ['k', k], ['v', v]] as const) checkLength(op, n, a, nkv, kvs);
    checkLength(op, 'lse', lse, B * nHeads * T, `[B, nHeads, T] = [${B}, ${nHeads}, ${T}]`);
    const p = this.ptrs(op, { dq, dk, dv, dout, q, k, v, out, lse });
    this.run(p.heap, 'attention_backward', [p.dq, p.dk, p.dv, p.dout, p.q, p.k, p.v, p.out, p.lse, B, T, nHeads, nKvHeads, headDim, ...this.scratch(p.heap)]);
    this.finite(op, 'dq', p.heap, dq, nq, qs);
    this.finite(op, 'dk', p.heap, dk, nkv, kvs);
    this.finite(op, 'dv', p.heap, dv, nkv, kvs);
  }

  attentionCached(out: F32, q: F32, kCache: F32, vCache: F32, T: number, pos0: number, nHeads: number, nKvHeads: number, headDim: number): void {
    const op = 'attentionCached';
    checkDims(op, { T, pos0, nHeads, nKvHeads, headDim });
    checkHeads(op, nHeads, nKvHeads, headDim);
    this.attentionScratchCheck(op, headDim);
    const nq = T * nHeads * headDim;
    const qs = `[T, nHeads, headDim] = [${T}, ${nHeads}, ${headDim}]`;
    checkLength(op, 'out', out, nq, qs);
    checkLength(op, 'q', q, nq, qs);
    const kvs = `[pos0 + T, nKvHeads, headDim] = [${pos0 + T}, ${nKvHeads}, ${headDim}] (cache shorter than the positions attended)`;
    checkLength(op, 'kCache', kCache, (pos0 + T) * nKvHeads * headDim, kvs);
    checkLength(op, 'vCache', vCache, (pos0 + T) * nKvHeads * headDim, kvs);
    const p = this.ptrs(op, { out, q, kCache, vCache });
    this.run(p.heap, 'attention_cached', [p.out, p.q, p.kCache, p.vCache, T, pos0, nHeads, nKvHeads, headDim, ...this.scratch(p.heap)],
      2 * T * nHeads * (pos0 + T) * headDim);
    this.finite(op, 'out', p.heap, out, nq, qs);
  }

  // ------------------------------------------------------------------ cross-entropy

  private ceChecks(op: string, x: F32, weight: F32, targets: Int32Array, lse: F32, N: number, C: number, V: number): void {
    checkDims(op, { N, C, V });
    checkLength(op, 'x', x, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'weight', weight, V * C, `[V, C] = [${V}, ${C}]`);
    checkLength(op, 'targets', targets, N, `[N] = [${N}]`);
    checkLength(op, 'lse', lse, N, `[N] = [${N}]`);
    checkTokens(op, 'targets', targets, N, -1, V);
  }

  /**
   * The cross-entropy's logits scratch in `heap`: CE_ROWS_MAX × CE_LD floats at most (never
   * N×V), plus three floats of online log-sum-exp state per row. Allocated on first use and grown
   * by powers of two up to the cap; rows beyond it are processed in blocks.
   */
  private ceScratch(heap: number, N: number): { logits: number; stats: number; rows: number } {
    const need = Math.min(N, CE_ROWS_MAX);
    let s = this.ceScratchByHeap.get(heap);
    if (!s || s.rows < need) {
      const rows = Math.min(CE_ROWS_MAX, 2 ** Math.ceil(Math.log2(Math.max(64, need))));
      const arena = this.mem.createArena(4 * rows * (CE_LD + 3) + 256, 'cross-entropy scratch', heap);
      s = { logits: arena.f32('logits chunk', [rows, CE_LD]).byteOffset, stats: arena.f32('row stats', [3, rows]).byteOffset, rows };
      this.ceScratchByHeap.set(heap, s);
    }
    return s;
  }

  /** logits[rn, vn] = x[r0.., :] · W[v0.., :]^T into the scratch (the packed gemm). */
  private ceLogits(heap: number, logits: number, x: number, w: number, r0: number, rn: number, v0: number, vn: number, C: number): void {
    this.run(heap, 'gemm', [logits, CE_LD, x + 4 * r0 * C, C, 1, w + 4 * v0 * C, B_NT_F32, C, rn, vn, C, 0, ...this.scratch(heap)], rn * vn * C);
  }

  crossEntropyForward(losses: F32, lse: F32, x: F32, weight: F32, targets: Int32Array, N: number, C: number, V: number): void {
    const op = 'crossEntropyForward';
    this.ceChecks(op, x, weight, targets, lse, N, C, V);
    checkLength(op, 'losses', losses, N, `[N] = [${N}]`);
    if (V === 0 && N > 0) throw new Error(`${op}: V = 0 (empty vocabulary)`);
    if (N === 0) return;
    const p = this.ptrs(op, { losses, lse, x, weight, targets });
    const s = this.ceScratch(p.heap, N);
    for (let r0 = 0; r0 < N; r0 += s.rows) {
      const rn = Math.min(s.rows, N - r0), t = p.targets + 4 * r0;
      for (let v0 = 0; v0 < V; v0 += CE_CHUNK) {
        const vn = Math.min(CE_CHUNK, V - v0);
        this.ceLogits(p.heap, s.logits, p.x, p.weight, r0, rn, v0, vn, C);
        this.run(p.heap, 'cross_entropy_chunk_stats', [s.logits, CE_LD, vn, v0, s.stats, s.rows, t, rn, this.scratch(p.heap)[2]], rn * vn);
      }
      this.run(p.heap, 'cross_entropy_finish', [p.losses + 4 * r0, p.lse + 4 * r0, s.stats, s.rows, t, rn], rn * 16);
    }
    this.finite(op, 'losses', p.heap, losses, N, `[${N}]`);
  }

  crossEntropyBackward(dx: F32, dweight: F32, dlosses: F32, x: F32, weight: F32, targets: Int32Array, lse: F32,
    N: number, C: number, V: number): void {
    const op = 'crossEntropyBackward';
    this.ceChecks(op, x, weight, targets, lse, N, C, V);
    checkLength(op, 'dx', dx, N * C, `[N, C] = [${N}, ${C}]`);
    checkLength(op, 'dweight', dweight, V * C, `[V, C] = [${V}, ${C}]`);
    checkLength(op, 'dlosses', dlosses, N, `[N] = [${N}]`);
    if (N === 0 || V === 0) return;
    const p = this.ptrs(op, { dx, dweight, dlosses, x, weight, targets, lse });
    const s = this.ceScratch(p.heap, N);
    // Three products per chunk: the logits once more, then both gradients from g in the scratch.
    // dx rows sum the chunks in vocabulary order, dW rows the row blocks in order: deterministic.
    for (let r0 = 0; r0 < N; r0 += s.rows) {
      const rn = Math.min(s.rows, N - r0);
      for (let v0 = 0; v0 < V; v0 += CE_CHUNK) {
        const vn = Math.min(CE_CHUNK, V - v0);
        this.ceLogits(p.heap, s.logits, p.x, p.weight, r0, rn, v0, vn, C);
        this.run(p.heap, 'cross_entropy_chunk_dlogits', [s.logits, CE_LD, vn, v0, p.dlosses + 4 * r0, p.targets + 4 * r0, p.lse + 4 * r0, rn,
          this.scratch(p.heap)[2]], rn * vn);
        // dx[r0.., :] += g[rn, vn] · W[v0.., :]
        this.run(p.heap, 'gemm', [p.dx + 4 * r0 * C, C, s.logits, CE_LD, 1, p.weight + 4 * v0 * C, B_NN, C, rn, C, vn, 1, ...this.scratch(p.heap)], rn * vn * C);
        // dW[v0.., :] += g^T[vn, rn] · x[r0.., :]   (A read transposed: A[i, r] = g[r*CE_LD + i])
        this.run(p.heap, 'gemm', [p.dweight + 4 * v0 * C, C, s.logits, 1, CE_LD, p.x + 4 * r0 * C, B_NN, C, vn, C, rn, 1, ...this.scratch(p.heap)], rn * vn * C);
      }
    }
    this.finite(op, 'dx', p.heap, dx, N * C, `[${N}, ${C}]`);
    this.finite(op, 'dweight', p.heap, dweight, V * C, `[${V}, ${C}]`);
  }

  // ------------------------------------------------------------------ optimizer

  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, a: AdamWParams): void {
    const op = 'adamw';
    checkDims(op, { n });
    for (const [k, x] of [['param', param], ['grad', grad], ['m', m], ['v', v]] as const) checkLength(op, k, x, n, `[${n}]`);
    if (!Number.isInteger(a.step) || a.step < 1) throw new Error(`${op}: step ${a.step} must be a positive integer (1-based)`);
    const decay = 1 - a.lr * a.weightDecay;
    const stepSize = a.lr / (1 - Math.pow(a.beta1, a.step));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(a.beta2, a.step));
    const p = this.ptrs(op, { param, grad, m, v });
    this.run(p.heap, 'adamw', [p.param, p.grad, p.m, p.v, n, 1 - a.beta1, a.beta2, 1 - a.beta2, a.eps, decay, stepSize, bc2Sqrt, a.gradScale], 4 * n);
    this.finite(op, 'param', p.heap, param, n, `[${n}]`);
  }

  sumSquares(x: F32, n: number): number {
    const op = 'sumSquares';
    checkDims(op, { n });
    checkLength(op, 'x', x, n, `[${n}]`);
    if (n === 0) return 0;
    const p = this.ptrs(op, { x });
    const blocks = Math.ceil(n / SUMSQ_BLOCK);
    if (blocks * 8 > this.threads * SCRATCH_PER_THREAD) throw new Error(`${op}: n = ${n} exceeds the kernel scratch`);
    this.run(p.heap, 'sum_squares', [p.x, n, SCRATCH_BASE], n);
    const partials = new Float64Array(this.mem.heaps[p.heap].memory.buffer, SCRATCH_BASE, blocks);
    let s = 0;
    for (let b = 0; b < blocks; b++) s += partials[b]; // fixed block order: independent of the thread count
    return s;
  }
}

/** Loads the kernels, starts the pool and returns the WebAssembly backend. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<Backend & { readonly relaxedSimd: boolean; readonly memoryBytes: number }> {
  let threads = opts.threads;
  if (threads === undefined) {
    const os = isNode ? await import('node:os') : null;
    threads = os ? os.availableParallelism() : (globalThis.navigator?.hardwareConcurrency ?? 1);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new Error(`wasm backend: threads must be an integer in [1, 256], got ${threads}`);
  const limit = opts.heapBytesLimit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit % PAGE !== 0 || limit <= 0 || limit > MAX_HEAP_BYTES)) {
    throw new Error(`wasm backend: heapBytesLimit = ${limit} must be a positive multiple of ${PAGE} up to ${MAX_HEAP_BYTES}`);
  }
  const loaded = await loadKernelModule(opts.noRelaxedSimd ?? false);
  const names = [...KERNELS];
  const pool = await KernelPool.create({ threads, kernelNames: names, spinMicros: opts.spinMicros });
  if (opts.serialBelow !== undefined && !(opts.serialBelow >= 0)) throw new Error(`wasm backend: serialBelow = ${opts.serialBelow} must be >= 0`);
  return new WasmBackend(loaded, pool, limit, opts.serialBelow);
}
