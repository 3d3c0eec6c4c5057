/**
 * A browser kernel worker (a Web Worker started by web-threads.ts): the shared job loop
 * (src/kernels/pool-worker-loop.ts) wired to the worker's messages. The first message is its
 * start-up (WorkerInit); later ones are heaps. A Web Worker has no receiveMessageOnPort, so when
 * a heap's OP_SYNC_HEAPS job comes before the heap's message, the loop returns here to the event
 * loop and resumes once the message has arrived.
 */
import type { HeapMessage, WorkerInit } from '../kernels/pool-protocol.js';
import { KernelWorkerLoop } from '../kernels/pool-worker-loop.js';

const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void; close(): void };

let loop: KernelWorkerLoop | undefined;

function work(): void {
  if (loop!.work() === 'exit') scope.close();
}

scope.onmessage = (e: MessageEvent) => {
  if (!loop) {
    loop = new KernelWorkerLoop(e.data as WorkerInit);
    scope.postMessage('ready');
    work();
    return;
  }
  if (loop.addHeap(e.data as HeapMessage)) work();
};
