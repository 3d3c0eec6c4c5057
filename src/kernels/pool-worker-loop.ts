/**
 * The worker side of the kernel pool, the same in Node and browsers: runs this thread's share
 * (thread `tid`) of every job the dispatcher publishes in the shared control block
 * (pool-protocol.ts). After a job it spins for spinMicros (the next call of a burst arrives within
 * microseconds), then sleeps in Atomics.wait until the dispatcher bumps SEQ (it notifies when
 * SLEEPERS > 0). Spinning is measured in time, not iterations, so it means the same on any
 * machine (see PoolOptions.spinMicros).
 *
 * New heaps arrive as messages, which only the environment can read: the entry script
 * (pool-worker.ts in Node, src/web/kernel-worker.ts in a browser) hands them to addHeap(). On an
 * OP_SYNC_HEAPS job the loop first calls receiveHeaps() (Node reads its port synchronously there);
 * if the named heap still has not arrived (a browser worker can only receive messages from its
 * event loop), work() returns, and the job completes when addHeap() gets that heap.
 */
import {
  ARGS_BYTE_OFFSET, DONE, ERROR, ERROR_BYTE_OFFSET, ERROR_CAPACITY, ERROR_LEN, HEAP, KERNEL, MAIN_WAITING,
  MAX_ARGS, NARGS, OP_EXIT, OP_SYNC_HEAPS, SEQ, SLEEPERS, type HeapMessage, type WorkerInit,
} from './pool-protocol.js';

type KernelFn = (...args: number[]) => unknown;

export class KernelWorkerLoop {
  private readonly ctrl: Int32Array;
  private readonly args: Float64Array;
  private readonly errText: Uint8Array;
  private readonly kernelsByHeap: KernelFn[][] = [];
  /** Heaps whose message arrived (instantiated or failed: either way a sync on them can finish). */
  private readonly announced: boolean[] = [];
  private readonly argv: number[] = [];
  private seen: number;
  /** The heap an unfinished OP_SYNC_HEAPS job waits for, or -1. */
  private pendingHeap = -1;

  /** receiveHeaps: reads heap messages that can be read right now into addHeap() (none in a browser). */
  constructor(private readonly init: WorkerInit, private readonly receiveHeaps: () => void = () => {}) {
    this.ctrl = new Int32Array(init.control);
    this.args = new Float64Array(init.control, ARGS_BYTE_OFFSET, MAX_ARGS);
    this.errText = new Uint8Array(init.control, ERROR_BYTE_OFFSET, ERROR_CAPACITY);
    this.seen = Atomics.load(this.ctrl, SEQ);
  }

  /**
   * Instantiates the kernels over an announced heap; a failure is reported as the current job's.
   * Returns true when this finished the OP_SYNC_HEAPS job work() returned on: call work() again.
   */
  addHeap(m: HeapMessage): boolean {
    try {
      const instance = new WebAssembly.Instance(m.module, { env: { memory: m.memory } });
      const exports = instance.exports as Record<string, unknown>;
      (exports.setF16Table as (p: number) => void)(m.f16Table);
      this.kernelsByHeap[m.heap] = this.init.kernelNames.map((name) => {
        const f = exports[name];
        if (typeof f !== 'function') throw new Error(`kernel '${name}' is missing from the WebAssembly module`);
        return f as KernelFn;
      });
    } catch (e) {
      this.reportError(e);
    }
    this.announced[m.heap] = true;
    if (this.pendingHeap !== m.heap) return false;
    this.pendingHeap = -1;
    this.finishJob();
    return true;
  }

  /**
   * Runs jobs as they are published. Returns 'exit' when the pool is disposed, or 'wait-for-heap'
   * when an OP_SYNC_HEAPS job names a heap whose message has not arrived yet (see addHeap).
   */
  work(): 'exit' | 'wait-for-heap' {
    const ctrl = this.ctrl;
    for (;;) {
      const spinUntil = performance.now() + this.init.spinMicros / 1000;
      let spins = 0;
      while (Atomics.load(ctrl, SEQ) === this.seen) {
        if ((++spins & 255) === 0 && performance.now() > spinUntil) {
          Atomics.add(ctrl, SLEEPERS, 1);
          Atomics.wait(ctrl, SEQ, this.seen);
          Atomics.sub(ctrl, SLEEPERS, 1);
        }
      }
      this.seen = Atomics.load(ctrl, SEQ);
      const kernel = Atomics.load(ctrl, KERNEL);
      if (kernel === OP_EXIT) { this.finishJob(); return 'exit'; }
      if (!this.runJob(kernel)) return 'wait-for-heap';
      this.finishJob();
    }
  }

  /** Runs the current job; false when it must wait for a heap message (DONE is bumped by addHeap). */
  private runJob(kernel: number): boolean {
    const ctrl = this.ctrl;
    try {
      if (kernel === OP_SYNC_HEAPS) {
        const heap = Atomics.load(ctrl, HEAP);
        this.receiveHeaps();
        if (!this.announced[heap]) { this.pendingHeap = heap; return false; }
      } else {
        const fns = this.kernelsByHeap[Atomics.load(ctrl, HEAP)];
        if (!fns) throw new Error(`heap ${Atomics.load(ctrl, HEAP)} was never announced to this worker`);
        const n = Atomics.load(ctrl, NARGS);
        const argv = this.argv;
        argv.length = n + 2;
        for (let i = 0; i < n; i++) argv[i] = this.args[i];
        argv[n] = this.init.tid;
        argv[n + 1] = this.init.nthreads;
        fns[kernel].apply(null, argv);
      }
    } catch (e) {
      this.reportError(e);
    }
    return true;
  }

  private reportError(e: unknown): void {
    const text = new TextEncoder().encode(`worker ${this.init.tid}: ${e instanceof Error ? e.message : String(e)}`);
    const n = Math.min(text.length, this.errText.length);
    this.errText.set(text.subarray(0, n));
    Atomics.store(this.ctrl, ERROR_LEN, n);
    Atomics.store(this.ctrl, ERROR, 1);
  }

  /** Counts this thread done with the job; the last one wakes a dispatcher that went to sleep. */
  private finishJob(): void {
    const done = Atomics.add(this.ctrl, DONE, 1) + 1;
    if (done === this.init.nthreads - 1 && Atomics.load(this.ctrl, MAIN_WAITING) !== 0) Atomics.notify(this.ctrl, DONE);
  }
}
