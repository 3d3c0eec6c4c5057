/** Messages from the browser kernel pool (web-pool.ts) to its workers (kernel-worker.ts). */

/** The first message a kernel worker receives. */
export interface WebWorkerInit {
  control: SharedArrayBuffer;
  tid: number;
  nthreads: number;
  kernelNames: string[];
  /** microseconds to spin after a job before sleeping */
  spinMicros: number;
}

/** A heap (shared WebAssembly.Memory) every worker instantiates the kernels over. */
export interface WebHeapMessage {
  heap: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  f16Table: number;
}
