/**
 * The kernel thread pool: worker threads that share the WebAssembly memories ("heaps") with the
 * calling thread, which works too (as thread 0). A dispatch writes the kernel index and its
 * arguments into a small shared control block and bumps a counter; workers that ran a job in the
 * last spinMicros are still spinning and start within ~a microsecond, idle ones sleep in
 * Atomics.wait (a wake-up costs ~15 µs on a quiet machine, 0.1-0.3 ms on a busy one), so a burst
 * of kernel calls stays cheap and an idle pool costs no CPU.
 *
 * One implementation for Node and browsers: only starting a thread differs, and that part is a
 * ThreadPlatform (pool-threads.ts: Node's worker_threads; the web bundle swaps in
 * src/web/web-threads.ts: Web Workers). The worker side is pool-worker-loop.ts, wired to its
 * environment by pool-worker.ts (Node) or src/web/kernel-worker.ts (browser).
 */
import {
  ARGS_BYTE_OFFSET, CONTROL_BYTES, DONE, ERROR, ERROR_BYTE_OFFSET, ERROR_CAPACITY, ERROR_LEN, HEAP, KERNEL,
  MAIN_WAITING, MAX_ARGS, NARGS, OP_EXIT, OP_SYNC_HEAPS, SEQ, SLEEPERS, type HeapMessage, type WorkerInit,
} from './pool-protocol.js';
import { threadPlatform } from './pool-threads.js';

type KernelFn = (...args: number[]) => unknown;

export interface PoolOptions {
  /** Total threads including the caller (>= 1). */
  threads: number;
  /** Export names of the kernels, in the order their indices are used by run(). */
  kernelNames: string[];
  /**
   * Microseconds a worker (and the caller, waiting) spins on the control block before sleeping
   * (default: the platform's, 50 in Node). Measured on the shared 2-core machine: longer spins
   * (0.2-1 ms) made threaded calls 2-5× slower whenever other processes held a core, as the
   * spinning thread kept its sibling from running.
   */
  spinMicros?: number;
}

/** A started worker thread, as the pool sees it. */
export interface SpawnedWorker {
  /** Settles when the worker listens on the control block (rejects if it failed to start). */
  readonly ready: Promise<void>;
  /** Sends a heap announcement (the memory is shared, not copied). */
  postHeap(msg: HeapMessage): void;
  /** Called once every worker is ready: drop start-up listeners (and in Node, let the process exit). */
  started(): void;
  terminate(): void;
}

/** How an environment starts kernel threads: the only part of the pool that differs between Node and a browser. */
export interface ThreadPlatform {
  /** Spin before sleeping when PoolOptions.spinMicros is not given. */
  defaultSpinMicros: number;
  /**
   * Milliseconds the dispatcher waits for workers before failing the call (Infinity: forever).
   * A page cannot be left hanging on a worker whose script failed; a Node process can be killed.
   */
  stallTimeoutMs: number;
  /** Starts the worker for thread init.tid. */
  spawn(init: WorkerInit): SpawnedWorker;
}

/** Kernel calls spread over the workers since the pool started (the web page shows it: proof threads ran). */
export const poolStats = { threads: 1, parallelCalls: 0, serialCalls: 0 };

export class KernelPool {
  readonly threads: number;
  private readonly control: ArrayBuffer | SharedArrayBuffer;
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly workers: SpawnedWorker[] = [];
  private readonly mainKernels: KernelFn[][] = [];
  private readonly argv: number[] = [];
  private readonly kernelNames: string[];
  private readonly spinMicros: number;
  private readonly stallTimeoutMs: number;
  private disposed = false;

  private constructor(opts: PoolOptions, platform: ThreadPlatform) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new Error(`KernelPool: threads must be a positive integer, got ${opts.threads}`);
    if (opts.threads > 1 && typeof SharedArrayBuffer === 'undefined') {
      throw new Error(`KernelPool: ${opts.threads} threads need SharedArrayBuffer, which this page does not have ` +
        '(it is not cross-origin isolated: serve it with COOP same-origin and COEP require-corp), or use 1 thread');
    }
    this.threads = opts.threads;
    this.kernelNames = opts.kernelNames;
    this.spinMicros = opts.spinMicros ?? platform.defaultSpinMicros;
    this.stallTimeoutMs = platform.stallTimeoutMs;
    // one thread needs no sharing (and a page that is not cross-origin isolated has no SharedArrayBuffer)
    this.control = opts.threads > 1 ? new SharedArrayBuffer(CONTROL_BYTES) : new ArrayBuffer(CONTROL_BYTES);
    this.ctrl = new Int32Array(this.control);
    this.args = new Float64Array(this.control, ARGS_BYTE_OFFSET, MAX_ARGS);
    poolStats.threads = opts.threads;
  }

  /** Starts threads-1 workers (on `platform`, by default this environment's) and waits until each is listening. */
  static async create(opts: PoolOptions, platform: ThreadPlatform = threadPlatform): Promise<KernelPool> {
    const pool = new KernelPool(opts, platform);
    for (let tid = 1; tid < pool.threads; tid++) {
      const init: WorkerInit = {
        control: pool.control as SharedArrayBuffer, tid, nthreads: pool.threads, kernelNames: opts.kernelNames,
        spinMicros: pool.spinMicros,
      };
      pool.workers.push(platform.spawn(init));
    }
    try {
      await Promise.all(pool.workers.map((w) => w.ready));
    } catch (e) {
      pool.dispose();
      throw e;
    }
    for (const w of pool.workers) w.started();
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
    const msg: HeapMessage = { heap, module, memory, f16Table };
    for (const w of this.workers) w.postHeap(msg);
    // HEAP carries the heap index: a worker finishes the sync once that heap's message has arrived
    this.dispatch(OP_SYNC_HEAPS, heap, 0);
  }

  /**
   * Runs kernel `kernel` on every thread over heap `heap` with `args` followed by (tid, nthreads),
   * and returns when all threads are done. A failure on any thread is rethrown here. With
   * `serial`, the calling thread does all the work as (0, 1): for calls too small to repay waking
   * the workers (kernels partition by (tid, nthreads), so the result is the same).
   */
  run(heap: number, kernel: number, args: readonly number[], serial = false): void {
    if (this.disposed) throw new Error('kernel pool used after dispose()');
    const fns = this.mainKernels[heap];
    if (!fns) throw new Error(`kernel pool: unknown heap ${heap}`);
    const fn = fns[kernel];
    if (!fn) throw new Error(`kernel pool: unknown kernel ${kernel}`);
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
    // Spin a while (the workers usually finish about when we do), then sleep: a descheduled
    // worker must not have its CPU taken by our spinning for long.
    const spinUntil = performance.now() + this.spinMicros / 1000;
    for (let spins = 1; ; spins++) {
      if (Atomics.load(c, DONE) >= target) return;
      if ((spins & 255) === 0 && performance.now() > spinUntil) break;
    }
    Atomics.store(c, MAIN_WAITING, 1);
    const deadline = performance.now() + this.stallTimeoutMs;
    for (;;) {
      const d = Atomics.load(c, DONE);
      if (d >= target) break;
      if (performance.now() > deadline) {
        Atomics.store(c, MAIN_WAITING, 0);
        throw new Error(`kernel pool: ${target - d} of ${target} worker threads did not finish ` +
          `${kernel >= 0 ? this.kernelNames[kernel] : `control job ${kernel}`} within ${this.stallTimeoutMs / 1000} s`);
      }
      Atomics.wait(c, DONE, d, 1000);
    }
    Atomics.store(c, MAIN_WAITING, 0);
  }

  /** Stops the workers (they exit after their current job); the pool cannot be used afterwards. */
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
