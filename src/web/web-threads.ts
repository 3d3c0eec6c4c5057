/**
 * Kernel threads in a web page: Web Workers running kernel-worker.ts. The web bundle
 * (scripts/web-bundle.mjs) substitutes this module for src/kernels/pool-threads.ts, so the one
 * kernel pool (src/kernels/pool.ts) runs unchanged in the browser.
 *
 * What the browser forces:
 * - The dispatching thread must be allowed to block (Atomics.wait), so the engine runs in a
 *   dedicated worker (engine-worker.ts), never on the page's main thread.
 * - A browser worker reads messages (its start-up, then heaps) only from its event loop; the
 *   shared worker loop handles that (src/kernels/pool-worker-loop.ts).
 * - A worker whose script fails would hang the page: the dispatcher gives up after 30 s.
 * - Threads need SharedArrayBuffer, which pages only get when cross-origin isolated (pool.ts
 *   checks; with one thread no worker is started).
 */
import type { HeapMessage, WorkerInit } from '../kernels/pool-protocol.js';
import type { SpawnedWorker, ThreadPlatform } from '../kernels/pool.js';

function spawn(init: WorkerInit): SpawnedWorker {
  const worker = new Worker(new URL('./kernel-worker.js', import.meta.url), { type: 'module', name: `kernel-${init.tid}` });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => { e.preventDefault(); reject(new Error(`kernel worker ${init.tid} failed to start: ${e.message || 'script error'}`)); };
  });
  worker.postMessage(init);
  return {
    ready,
    postHeap: (msg: HeapMessage) => worker.postMessage(msg),
    started: () => { worker.onmessage = null; worker.onerror = null; },
    terminate: () => worker.terminate(),
  };
}

/** In a page: spin 1 ms before sleeping unless told otherwise; fail a call whose workers stall for 30 s. */
export const threadPlatform: ThreadPlatform = { defaultSpinMicros: 1000, stallTimeoutMs: 30000, spawn };
