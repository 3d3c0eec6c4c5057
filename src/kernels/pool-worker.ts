/**
 * A kernel worker: runs its share (thread `tid`) of every job the dispatcher publishes in the
 * shared control block (pool-protocol.ts). It never returns to the event loop while the pool
 * lives — new heaps arrive as messages it reads synchronously with receiveMessageOnPort when
 * told to (OP_SYNC_HEAPS).
 */
import { receiveMessageOnPort, workerData, parentPort } from 'node:worker_threads';
import {
  ARGS_BYTE_OFFSET, DONE, ERROR, ERROR_BYTE_OFFSET, ERROR_CAPACITY, ERROR_LEN, HEAP, KERNEL, MAIN_WAITING,
  MAX_ARGS, NARGS, OP_EXIT, OP_SYNC_HEAPS, SEQ, SLEEPERS, type HeapMessage, type WorkerInit,
} from './pool-protocol.js';

type KernelFn = (...args: number[]) => unknown;

const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.control);
const args = new Float64Array(init.control, ARGS_BYTE_OFFSET, MAX_ARGS);
const errText = new Uint8Array(init.control, ERROR_BYTE_OFFSET, ERROR_CAPACITY);
const kernelsByHeap: KernelFn[][] = [];
const argv: number[] = [];

function syncHeaps(): void {
  for (let msg = receiveMessageOnPort(init.port); msg; msg = receiveMessageOnPort(init.port)) {
    const m = msg.message as HeapMessage;
    const instance = new WebAssembly.Instance(m.module, { env: { memory: m.memory } });
    const exports = instance.exports as Record<string, unknown>;
    (exports.setF16Table as (p: number) => void)(m.f16Table);
    kernelsByHeap[m.heap] = init.kernelNames.map((name) => {
      const f = exports[name];
      if (typeof f !== 'function') throw new Error(`kernel '${name}' is missing from the WebAssembly module`);
      return f as KernelFn;
    });
  }
}

function reportError(e: unknown): void {
  const text = new TextEncoder().encode(`worker ${init.tid}: ${e instanceof Error ? e.message : String(e)}`);
  const n = Math.min(text.length, errText.length);
  errText.set(text.subarray(0, n));
  Atomics.store(ctrl, ERROR_LEN, n);
  Atomics.store(ctrl, ERROR, 1);
}

function runJob(): boolean {
  const kernel = Atomics.load(ctrl, KERNEL);
  if (kernel === OP_EXIT) return false;
  try {
    if (kernel === OP_SYNC_HEAPS) syncHeaps();
    else {
      const fns = kernelsByHeap[Atomics.load(ctrl, HEAP)];
      if (!fns) throw new Error(`heap ${Atomics.load(ctrl, HEAP)} was never announced to this worker`);
      const n = Atomics.load(ctrl, NARGS);
      argv.length = n + 2;
      for (let i = 0; i < n; i++) argv[i] = args[i];
      argv[n] = init.tid;
      argv[n + 1] = init.nthreads;
      fns[kernel].apply(null, argv);
    }
  } catch (e) {
    reportError(e);
  }
  return true;
}

let seen = Atomics.load(ctrl, SEQ);
parentPort!.postMessage('ready');
for (;;) {
  // Spin for spinMicros after a job (the next call of a burst arrives within microseconds), then
  // sleep until the dispatcher bumps SEQ (it notifies when SLEEPERS > 0). Measured in time, not
  // iterations, so the spin means the same on any machine (see PoolOptions.spinMicros).
  const spinUntil = performance.now() + init.spinMicros / 1000;
  let spins = 0;
  while (Atomics.load(ctrl, SEQ) === seen) {
    if ((++spins & 255) === 0 && performance.now() > spinUntil) {
      Atomics.add(ctrl, SLEEPERS, 1);
      Atomics.wait(ctrl, SEQ, seen);
      Atomics.sub(ctrl, SLEEPERS, 1);
    }
  }
  seen = Atomics.load(ctrl, SEQ);
  const more = runJob();
  const done = Atomics.add(ctrl, DONE, 1) + 1;
  if (done === init.nthreads - 1 && Atomics.load(ctrl, MAIN_WAITING) !== 0) Atomics.notify(ctrl, DONE);
  if (!more) break;
}
