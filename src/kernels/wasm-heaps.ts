/**
 * The WebAssembly backend's memories ("heaps"): shared WebAssembly.Memory objects of at most 4 GiB
 * each (wasm32). Arenas are carved from the current heap, growing it, or from a new heap when 4 GiB
 * would be exceeded, so a model larger than 4 GiB spans several heaps; every heap has its own
 * kernel instance on every thread (registered with the pool), and the arrays of one kernel call
 * must live in one heap.
 * Heap layout: [0, 64 KiB) unused but for the work-claim counters at 1 KiB (offsets near 0 stay
 * free, so a null offset is caught), the f16 -> f32 table (256 KiB), per-thread scratch (packing
 * buffers, cross-entropy tiles, quantized activations), the packed activations of the quantized
 * gemm (PACK_BYTES), then arenas.
 */
import { BumpArena } from './arena.js';
import type { Arena } from './backend.js';
import type { KernelPool } from './pool.js';
import type { LoadedModule } from './wasm-loader.js';

const PAGE = 65536;
const MAX_PAGES = 65536;                 // 4 GiB: the wasm32 limit
export const MAX_HEAP_BYTES = MAX_PAGES * PAGE;
export const COUNTERS = 1024;            // work-claim counters (two, a cache line apart), zeroed per call
const F16_TABLE = 65536;
export const SCRATCH_BASE = F16_TABLE + 65536 * 4;
export const SCRATCH_PER_THREAD = 1 << 20; // gemm packing 480 KiB, attention tiles, quantized activations; see asm
/** Bytes for one call's activations quantized and packed for the quantized gemm (rows are sliced to fit). */
const PACK_BYTES = 4 << 20;
const SLACK = 256;                       // kernels may read (never use) a few floats past an array's end

export type Exports = Record<string, unknown> & {
  initF16Table(ptr: number): void;
  first_non_finite(ptr: number, n: number): number;
  relaxedSimd(): number;
};

export class Heap {
  top: number;
  /** Regions handed out, in address order; released ones are reclaimed from the top down. */
  readonly regions: { start: number; released: boolean }[] = [];
  /** The work-claim counters the parallel kernels take chunks from. */
  readonly counters: Int32Array;
  constructor(readonly index: number, readonly memory: WebAssembly.Memory, readonly exports: Exports, start: number) {
    this.top = start;
    this.counters = new Int32Array(memory.buffer, COUNTERS, 32);
  }
  get bytes(): number { return this.memory.buffer.byteLength; }
}

export class HeapSet {
  readonly heaps: Heap[] = [];
  private readonly heapOfBuffer = new Map<ArrayBufferLike, Heap>();
  private readonly heapStart: number;
  /** Where the quantized gemm's packed activations go, in every heap, and their room. */
  readonly packBase: number;
  readonly packBytes: number;

  constructor(private readonly loaded: LoadedModule, private readonly pool: KernelPool, threads: number,
    private readonly maxHeapBytes = MAX_HEAP_BYTES) {
    this.packBase = Math.ceil((SCRATCH_BASE + threads * SCRATCH_PER_THREAD) / PAGE) * PAGE;
    // 4 MiB: 128 rows of 11008 (7B's hidden width); less under a small test limit on heap size
    this.packBytes = Math.max(PAGE, Math.min(PACK_BYTES, Math.floor(maxHeapBytes / 16 / PAGE) * PAGE));
    this.heapStart = this.packBase + this.packBytes;
  }

  /** Bytes of WebAssembly memory reserved so far over all heaps. */
  get memoryBytes(): number { return this.heaps.reduce((s, h) => s + h.bytes, 0); }

  private newHeap(): Heap {
    const pages = Math.ceil((this.heapStart + SLACK) / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(this.loaded.module, { env: { memory } });
    const exports = instance.exports as Exports;
    exports.initF16Table(F16_TABLE);
    const heap = new Heap(this.heaps.length, memory, exports, this.heapStart);
    this.heaps.push(heap);
    this.heapOfBuffer.set(memory.buffer, heap);
    this.pool.addHeap(heap.index, this.loaded.module, memory, exports, F16_TABLE);
    return heap;
  }

  /**
   * An arena in the first heap with room at its top (a new heap when none has), or, with `inHeap`,
   * in that heap (for kernel scratch that must sit next to a call's arrays; an error if it is full).
   * Released arenas are reclaimed from the top of their heap down (memories cannot shrink, but the
   * space is reused): disposing a model and loading another reuses the memory.
   */
  createArena(bytes: number, label = 'arena', inHeap?: number): Arena {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`createArena(${label}): invalid size ${bytes}`);
    const need = Math.ceil(bytes / 64) * 64;
    if (this.heapStart + need + SLACK > this.maxHeapBytes) {
      throw new Error(`createArena(${label}): ${bytes} bytes do not fit one WebAssembly memory ` +
        `(${this.maxHeapBytes} bytes, ${this.maxHeapBytes - this.heapStart - SLACK} usable); split it into several arenas`);
    }
    let heap = inHeap === undefined ? this.heaps.find((h) => h.top + need + SLACK <= this.maxHeapBytes) : this.heaps[inHeap];
    if (inHeap !== undefined && (!heap || heap.top + need + SLACK > this.maxHeapBytes)) {
      throw new Error(`createArena(${label}): ${bytes} bytes do not fit in WebAssembly memory ${inHeap} ` +
        `(${heap ? this.maxHeapBytes - heap.top - SLACK : 0} bytes left there)`);
    }
    if (!heap || heap.top + need + SLACK > this.maxHeapBytes) heap = this.newHeap();
    const end = heap.top + need + SLACK;
    if (end > heap.bytes) {
      try {
        heap.memory.grow(Math.ceil((end - heap.bytes) / PAGE));
      } catch (e) {
        throw new Error(`createArena(${label}): growing WebAssembly memory ${heap.index} to ${end} bytes failed ` +
          `(${(e as Error).message}); the machine may be out of memory`);
      }
    }
    // A grown shared memory hands out a new (longer) SharedArrayBuffer; older views stay valid.
    const buffer = heap.memory.buffer;
    this.heapOfBuffer.set(buffer, heap);
    const region = { start: heap.top, released: false };
    const owner = heap;
    const arena = new BumpArena(buffer, heap.top, bytes, label, () => this.release(owner, region));
    heap.regions.push(region);
    heap.top += need;
    return arena;
  }

  private release(heap: Heap, region: { start: number; released: boolean }): void {
    region.released = true;
    while (heap.regions.length && heap.regions[heap.regions.length - 1].released) heap.top = heap.regions.pop()!.start;
  }

  /** Resolves the arrays of one call to byte offsets, checking they live in one heap. */
  ptrs(op: string, arrays: Record<string, ArrayBufferView | null>): Record<string, number> & { heap: number } {
    let first: { name: string; heap: Heap } | null = null;
    const out: Record<string, number> = {};
    for (const [name, a] of Object.entries(arrays)) {
      if (a === null) { out[name] = 0; continue; }
      const heap = this.heapOfBuffer.get(a.buffer);
      if (!heap) {
        throw new Error(`${op}: ${name} is not in this backend's memory (a plain ${a.constructor.name}?); ` +
          'allocate kernel arrays with backend.createArena(...)');
      }
      if (first && first.heap !== heap) {
        throw new Error(`${op}: ${name} lives in WebAssembly memory ${heap.index} but ${first.name} in memory ${first.heap.index}; ` +
          'all arrays of one call must come from arenas of the same memory (copy activations across)');
      }
      first ??= { name, heap };
      out[name] = a.byteOffset;
    }
    if (!first) throw new Error(`${op}: no arrays given`);
    return Object.assign(out, { heap: first.heap.index });
  }

  /** Scratch base, per-thread stride and the zeroed work counters: the trailing arguments of the parallel kernels. */
  scratchArgs(heap: number): number[] {
    const c = this.heaps[heap].counters;
    Atomics.store(c, 0, 0);
    Atomics.store(c, 16, 0);
    return [SCRATCH_BASE, SCRATCH_PER_THREAD, COUNTERS];
  }
}
