/**
 * A browser kernel worker (a Web Worker started by web-pool.ts): runs its share (thread `tid`) of
 * every job published in the shared control block (src/kernels/pool-protocol.ts), like Node's
 * pool-worker.ts: it spins briefly after a job (a call that follows within spinMicros starts at
 * once), then sleeps in Atomics.wait (allowed in workers) until the dispatcher bumps SEQ.
 *
 * One difference: a Web Worker can only receive messages — new heaps — from its event loop, and
 * has no receiveMessageOnPort to read them synchronously. Every heap message is followed by an
 * OP_SYNC_HEAPS job naming that heap; a worker that has not seen the heap yet returns to its event
 * loop, and finishes the job (bumps DONE) when the message has arrived.
 */
import {
  ARGS_BYTE_OFFSET, DONE, ERROR, ERROR_BYTE_OFFSET, ERROR_CAPACITY, ERROR_LEN, HEAP, KERNEL, MAIN_WAITING,
  MAX_ARGS, NARGS, OP_EXIT, OP_SYNC_HEAPS, SEQ, SLEEPERS,
} from '../kernels/pool-protocol.js';
import type { WebHeapMessage, WebWorkerInit } from './kernel-worker-protocol.js';

type KernelFn = (...args: number[]) => unknown;

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void; close(): void };

let init: WebWorkerInit;
let ctrl: Int32Array;
let args: Float64Array;
let errText: Uint8Array;
const kernelsByHeap: KernelFn[][] = [];
const argv: number[] = [];
let seen = 0;
/** The heap an OP_SYNC_HEAPS job is waiting for, or -1. */
let pendingHeap = -1;

function addHeap(m: WebHeapMessage): void {
  const instance = new WebAssembly.Instance(m.module, { env: { memory: m.memory } });
  const exports = instance.exports as Record<string, unknown>;
  (exports.setF16Table as (p: number) => void)(m.f16Table);
  kernelsByHeap[m.heap] = init.kernelNames.map((name) => {
    const f = exports[name];
    if (typeof f !== 'function') throw new Error(`kernel '${name}' is missing from the WebAssembly module`);
    return f as KernelFn;
  });
}

function reportError(e: unknown): void {
  const text = new TextEncoder().encode(`worker ${init.tid}: ${e instanceof Error ? e.message : String(e)}`);
  const n = Math.min(text.length, errText.length);
  errText.set(text.subarray(0, n));
  Atomics.store(ctrl, ERROR_LEN, n);
  Atomics.store(ctrl, ERROR, 1);
}

function finishJob(): void {
  const done = Atomics.add(ctrl, DONE, 1) + 1;
  if (done === init.nthreads - 1 && Atomics.load(ctrl, MAIN_WAITING) !== 0) Atomics.notify(ctrl, DONE);
}

/** Runs the current job; false when it must wait for a heap message (DONE is bumped later). */
function runJob(kernel: number): boolean {
  try {
    if (kernel === OP_SYNC_HEAPS) {
      const heap = Atomics.load(ctrl, HEAP);
      if (!kernelsByHeap[heap]) { pendingHeap = heap; return false; }
    } else {
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

/** Runs jobs until one needs a heap this worker has not received (or the pool exits). */
function work(): void {
  for (;;) {
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
    const kernel = Atomics.load(ctrl, KERNEL);
    if (kernel === OP_EXIT) { finishJob(); scope.close(); return; }
    if (!runJob(kernel)) return; // back to the event loop: the heap message is waiting there
    finishJob();
  }
}

scope.onmessage = (e: MessageEvent) => {
  if (!init) {
    init = e.data as WebWorkerInit;
    ctrl = new Int32Array(init.control);
    args = new Float64Array(init.control, ARGS_BYTE_OFFSET, MAX_ARGS);
    errText = new Uint8Array(init.control, ERROR_BYTE_OFFSET, ERROR_CAPACITY);
    seen = Atomics.load(ctrl, SEQ);
    scope.postMessage('ready');
    work();
    return;
  }
  try {
    addHeap(e.data as WebHeapMessage);
  } catch (err) {
    reportError(err);
    kernelsByHeap[(e.data as WebHeapMessage).heap] ??= [];
  }
  if (pendingHeap >= 0 && kernelsByHeap[pendingHeap]) {
    pendingHeap = -1;
    finishJob();
    work();
  }
};
