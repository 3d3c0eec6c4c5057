/**
 * The kernel thread pool in a web page: the browser twin of src/kernels/pool.ts (same public
 * surface, same shared control block and protocol, pool-protocol.ts), over Web Workers instead of
 * worker_threads. The web bundle (scripts/build-web.mjs) substitutes this file for pool.ts, so the
 * WebAssembly backend runs unchanged in the browser.
 *
 * Differences forced by the browser:
 * - The dispatching thread must be allowed to block (Atomics.wait), so the engine runs in a
 *   dedicated worker (engine-worker.ts), never on the page's main thread.
 * - A browser worker cannot read a message synchronously (there is no receiveMessageOnPort): on
 *   OP_SYNC_HEAPS a kernel worker that lacks the announced heap returns to its event loop, where
 *   the heap arrives as an ordinary message, and completes the job then (kernel-worker.ts).
 * - Threads need SharedArrayBuffer, which pages only get when cross-origin isolated; with one
 *   thread no worker is started and the control block is a plain ArrayBuffer.
 */
import {
  ARGS_BYTE_OFFSET, CONTROL_BYTES, DONE, ERROR, ERROR_BYTE_OFFSET, ERROR_CAPACITY, ERROR_LEN, HEAP, KERNEL,
  MAIN_WAITING, MAX_ARGS, NARGS, OP_EXIT, OP_SYNC_HEAPS, SEQ, SLEEPERS,
} from '../kernels/pool-protocol.js';
import type { KernelPool as NodeKernelPool, PoolOptions } from '../kernels/pool.js';
import type { WebHeapMessage, WebWorkerInit } from './kernel-worker-protocol.js';

type KernelFn = (...args: number[]) => unknown;

/** Kernel calls spread over the workers since the pool started (the page shows it: proof threads ran). */
export const poolStats = { threads: 1, parallelCalls: 0, serialCalls: 0 };

export class KernelPool {
  readonly threads: number;
  private readonly control: ArrayBuffer | SharedArrayBuffer;
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: Worker[] = [];
  private readonly mainKernels: KernelFn[][] = [];
  private readonly argv: number[] = [];
  private readonly kernelNames: string[];
  /** Microseconds a worker (and the caller, waiting) spins before sleeping, as in pool.ts (default 1000). */
  private readonly spinMicros: number;
  private disposed = false;

  private constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new Error(`KernelPool: threads must be a positive integer, got ${opts.threads}`);
    if (opts.threads > 1 && typeof SharedArrayBuffer === 'undefined') {
      throw new Error(`KernelPool: ${opts.threads} threads need SharedArrayBuffer, which this page does not have ` +
        '(it is not cross-origin isolated: serve it with COOP same-origin and COEP require-corp), or use 1 thread');
    }
    this.threads = opts.threads;
    this.kernelNames = opts.kernelNames;
    this.spinMicros = (opts as PoolOptions & { spinMicros?: number }).spinMicros ?? 1000;
    this.control = opts.threads > 1 ? new SharedArrayBuffer(CONTROL_BYTES) : new ArrayBuffer(CONTROL_BYTES);
    this.ctrl = new Int32Array(this.control);
    this.args = new Float64Array(this.control, ARGS_BYTE_OFFSET, MAX_ARGS);
    poolStats.threads = opts.threads;
  }

  /** Starts threads-1 Web Workers and waits until each is listening. */
  static async create(opts: PoolOptions): Promise<KernelPool> {
    const pool = new KernelPool(opts);
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < pool.threads; tid++) {
      const worker = new Worker(new URL('./kernel-worker.js', import.meta.url), { type: 'module', name: `kernel-${tid}` });
      ready.push(new Promise((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (e) => { e.preventDefault(); reject(new Error(`kernel worker ${tid} failed to start: ${e.message || 'script error'}`)); };
      }));
      const init: WebWorkerInit = {
        control: pool.control as SharedArrayBuffer, tid, nthreads: pool.threads,
        kernelNames: opts.kernelNames, spinMicros: pool.spinMicros,
      };
      worker.postMessage(init);
      pool.workers.push(worker);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      pool.dispose();
      throw e;
    }
    for (const w of pool.workers) { w.onmessage = null; w.onerror = null; }
    return pool;
  }

  /** Makes a heap (its memory, with the kernels instantiated over it) known to every thread. */
  addHeap(heap: number, module: WebAssembly.Module, memory: WebAssembly.Memory, exports: Record<string, unknown>, f16Table: number): void {
    this.mainKernels[heap] = this.kernelNames.map((name) => {
      const f = exports[name];
      if (typeof f !== 'function') throw new Error(`kernel '${name}' is missing from the WebAssembly module`);
      return f as KernelFn;
    });
    if (this.workers.length === 0) return;
    const msg: WebHeapMessage = { heap, module, memory, f16Table };
    for (const w of this.workers) w.postMessage(msg);
    // HEAP carries the heap index: a worker answers the sync once that heap's message has arrived
    this.dispatch(OP_SYNC_HEAPS, heap, 0);
  }

  /** Runs kernel `kernel` on every thread (or, with `serial`, on this one alone); see pool.ts. */
  run(heap: number, kernel: number, args: readonly number[], serial = false): void {
    if (this.disposed) throw new Error('kernel pool used after dispose()');
    const fn = this.mainKernels[heap]?.[kernel];
    if (!fn) throw new Error(`kernel pool: unknown heap ${heap} or kernel ${kernel}`);
    const n = args.length;
    if (n + 2 > MAX_ARGS) throw new Error(`kernel pool: ${this.kernelNames[kernel]} has too many arguments (${n})`);
    const argv = this.argv;
    argv.length = n + 2;
    for (let i = 0; i < n; i++) argv[i] = args[i];
    argv[n] = 0;
    argv[n + 1] = serial ? 1 : this.threads;
    if (this.workers.length === 0 || serial) { poolStats.serialCalls++; fn.apply(null, argv); return; }
    poolStats.parallelCalls++;
    this.args.set(args);
    this.dispatch(kernel, heap, n, fn);
  }

  private dispatch(kernel: number, heap: number, nargs: number, mainFn?: KernelFn): void {
    const c = this.ctrl;
    c[KERNEL] = kernel;
    c[HEAP] = heap;
    c[NARGS] = nargs;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, ERROR, 0);
    Atomics.add(c, SEQ, 1);
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, SEQ);
    let mainError: unknown = null;
    if (mainFn) {
      try { mainFn.apply(null, this.argv); } catch (e) { mainError = e; }
    }
    this.waitForWorkers(kernel);
    if (mainError) throw mainError;
    if (Atomics.load(c, ERROR) !== 0) {
      const len = Atomics.load(c, ERROR_LEN);
      const text = new TextDecoder().decode(new Uint8Array(this.control, ERROR_BYTE_OFFSET, Math.min(len, ERROR_CAPACITY)).slice());
      throw new Error(`kernel ${kernel >= 0 ? this.kernelNames[kernel] : kernel} failed on a worker thread: ${text}`);
    }
  }

  private waitForWorkers(kernel: number): void {
    const c = this.ctrl;
    const target = this.workers.length;
    const spinUntil = performance.now() + this.spinMicros / 1000;
    for (let spins = 1; ; spins++) {
      if (Atomics.load(c, DONE) >= target) return;
      if ((spins & 255) === 0 && performance.now() > spinUntil) break;
    }
    Atomics.store(c, MAIN_WAITING, 1);
    // A worker that stops answering (crashed, or its script failed) would hang the page: give up
    // after a generous time with an error instead.
    const deadline = performance.now() + 30000;
    for (;;) {
      const d = Atomics.load(c, DONE);
      if (d >= target) break;
      if (performance.now() > deadline) {
        Atomics.store(c, MAIN_WAITING, 0);
        throw new Error(`kernel pool: ${target - d} of ${target} worker threads did not finish ` +
          `${kernel >= 0 ? this.kernelNames[kernel] : `control job ${kernel}`} within 30 s`);
      }
      Atomics.wait(c, DONE, d, 1000);
    }
    Atomics.store(c, MAIN_WAITING, 0);
  }

  /** Stops the workers; the pool cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.workers.length) {
      const c = this.ctrl;
      c[KERNEL] = OP_EXIT;
      Atomics.store(c, DONE, 0);
      Atomics.add(c, SEQ, 1);
      Atomics.notify(c, SEQ);
    }
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}

// The bundle swaps this class in for pool.ts's at the import seam, where no type check happens:
// these lines stop compiling when pool.ts's public surface changes and this twin does not follow.
type PublicSurface<T> = { [K in keyof T]: T[K] };
const instanceSurface: PublicSurface<NodeKernelPool> = null as unknown as KernelPool;
const staticSurface: (o: PoolOptions) => Promise<PublicSurface<NodeKernelPool>> = KernelPool.create;
void instanceSurface;
void staticSurface;
