/**
 * The kernel thread pool: worker_threads that share the WebAssembly memories ("heaps") with the
 * calling thread, which works too (as thread 0). A dispatch writes the kernel index and its
 * arguments into a small shared control block and bumps a counter; workers that ran a job in the
 * last 50 µs are still spinning and start within ~a microsecond, idle ones sleep in Atomics.wait
 * (a wake-up costs ~15 µs on a quiet machine, 0.1-0.3 ms on a busy one), so a burst of kernel
 * calls stays cheap and an idle pool costs no CPU.
 * Workers are unref'd: they never keep the process alive.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import {
  ARGS_BYTE_OFFSET, CONTROL_BYTES, DONE, ERROR, ERROR_BYTE_OFFSET, ERROR_CAPACITY, ERROR_LEN, HEAP, KERNEL,
  MAIN_WAITING, MAX_ARGS, NARGS, OP_EXIT, OP_SYNC_HEAPS, SEQ, SLEEPERS, type HeapMessage, type WorkerInit,
} from './pool-protocol.js';

type KernelFn = (...args: number[]) => unknown;

export interface PoolOptions {
  /** Total threads including the caller (>= 1). */
  threads: number;
  /** Export names of the kernels, in the order their indices are used by run(). */
  kernelNames: string[];
  /**
   * Microseconds a worker (and the caller, waiting) spins on the control block before sleeping
   * (default 50). Measured on the shared 2-core machine: longer spins (0.2-1 ms) made threaded
   * calls 2-5× slower whenever other processes held a core, as the spinning thread kept its
   * sibling from running.
   */
  spinMicros?: number;
}

export class KernelPool {
  readonly threads: number;
  private readonly control = new SharedArrayBuffer(CONTROL_BYTES);
  private readonly ctrl = new Int32Array(this.control);
  private readonly args = new Float64Array(this.control, ARGS_BYTE_OFFSET, MAX_ARGS);
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly mainKernels: KernelFn[][] = [];
  private readonly argv: number[] = [];
  private readonly kernelNames: string[];
  private readonly spinMicros: number;
  private disposed = false;

  private constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new Error(`KernelPool: threads must be a positive integer, got ${opts.threads}`);
    this.threads = opts.threads;
    this.kernelNames = opts.kernelNames;
    this.spinMicros = opts.spinMicros ?? 50;
  }

  /** Starts threads-1 workers and waits until each is listening. */
  static async create(opts: PoolOptions): Promise<KernelPool> {
    const pool = new KernelPool(opts);
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < pool.threads; tid++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit = {
        control: pool.control, tid, nthreads: pool.threads, kernelNames: opts.kernelNames,
        spinMicros: opts.spinMicros ?? 50, port: port2,
      };
      // Workers inherit the process's node options, minus those that only make sense for the
      // main script (`node --input-type=module -e ...` would make every worker fail to start).
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
      const worker = new Worker(new URL('./pool-worker.js', import.meta.url), { workerData: init, transferList: [port2], execArgv });
      ready.push(new Promise((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', (e) => reject(new Error(`kernel worker ${tid} failed to start: ${e.message}`)));
        worker.once('exit', (code) => reject(new Error(`kernel worker ${tid} exited during start-up (code ${code})`)));
      }));
      pool.workers.push(worker);
      pool.ports.push(port1);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      pool.dispose();
      throw e;
    }
    for (const w of pool.workers) { w.removeAllListeners('exit'); w.removeAllListeners('message'); w.unref(); }
    for (const p of pool.ports) p.unref();
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
    for (const p of this.ports) p.postMessage(msg);
    this.dispatch(OP_SYNC_HEAPS, 0, 0);
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
    const n = args.length;
    if (n + 2 > MAX_ARGS) throw new Error(`kernel pool: ${this.kernelNames[kernel]} has too many arguments (${n})`);
    const argv = this.argv;
    argv.length = n + 2;
    for (let i = 0; i < n; i++) argv[i] = args[i];
    argv[n] = 0;
    argv[n + 1] = serial ? 1 : this.threads;
    if (this.workers.length === 0 || serial) { fn.apply(null, argv); return; }
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
    this.waitForWorkers();
    if (mainError) throw mainError;
    if (Atomics.load(c, ERROR) !== 0) {
      const len = Atomics.load(c, ERROR_LEN);
      const text = new TextDecoder().decode(new Uint8Array(this.control, ERROR_BYTE_OFFSET, Math.min(len, ERROR_CAPACITY)).slice());
      throw new Error(`kernel ${kernel >= 0 ? this.kernelNames[kernel] : kernel} failed on a worker thread: ${text}`);
    }
  }

  private waitForWorkers(): void {
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
    for (;;) {
      const d = Atomics.load(c, DONE);
      if (d >= target) break;
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
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
    this.workers.length = 0;
  }
}
