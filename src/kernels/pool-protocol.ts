/**
 * The shared control block of the kernel thread pool (pool.ts ↔ pool-worker-loop.ts): one
 * SharedArrayBuffer read as Int32 slots, a Float64 argument area and an error-text area.
 * A job is published by writing kernel, heap and arguments, then bumping SEQ; each worker runs
 * the kernel as thread `tid` and bumps DONE. Idle workers spin a while, then sleep on SEQ
 * (counted in SLEEPERS so the dispatcher only pays for Atomics.notify when someone sleeps).
 */
export const SEQ = 0;          // job generation; a change means "new job"
export const KERNEL = 1;       // kernel index into the name table, or a control code below
export const HEAP = 2;         // heap index (each heap has its own instance on every thread)
export const NARGS = 3;        // number of f64 arguments (tid and nthreads are appended)
export const DONE = 4;         // workers finished with the current job
export const SLEEPERS = 5;     // workers asleep in Atomics.wait on SEQ
export const MAIN_WAITING = 6; // the dispatcher sleeps on DONE
export const ERROR = 7;        // 1 when a worker failed the current job
export const ERROR_LEN = 8;    // bytes of UTF-8 error text

export const ARGS_BYTE_OFFSET = 64;
export const MAX_ARGS = 32;
export const ERROR_BYTE_OFFSET = ARGS_BYTE_OFFSET + MAX_ARGS * 8;
export const CONTROL_BYTES = 4096;
export const ERROR_CAPACITY = CONTROL_BYTES - ERROR_BYTE_OFFSET;

/** Control codes in KERNEL (negative: not a kernel). */
export const OP_SYNC_HEAPS = -1; // pick up the heap (in HEAP) announced by a message
export const OP_EXIT = -2;

/** What the dispatcher posts to every worker when a heap is added (an OP_SYNC_HEAPS job naming it follows). */
export interface HeapMessage {
  heap: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the f16 -> f32 table the main thread built in this heap. */
  f16Table: number;
}

/** What a worker is started with (in Node as workerData, in a browser as its first message). */
export interface WorkerInit {
  control: SharedArrayBuffer;
  tid: number;
  nthreads: number;
  kernelNames: string[];
  /** microseconds to spin after a job before sleeping */
  spinMicros: number;
}
