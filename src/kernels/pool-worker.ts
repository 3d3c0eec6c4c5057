/**
 * A Node kernel worker (started by pool-threads.ts): the shared job loop (pool-worker-loop.ts),
 * with heaps read synchronously from the port when an OP_SYNC_HEAPS job asks for them, so the
 * loop never returns to the event loop while the pool lives.
 */
import { receiveMessageOnPort, workerData, parentPort } from 'node:worker_threads';
import type { HeapMessage } from './pool-protocol.js';
import type { NodeWorkerInit } from './pool-threads.js';
import { KernelWorkerLoop } from './pool-worker-loop.js';

const init = workerData as NodeWorkerInit;
const loop = new KernelWorkerLoop(init, () => {
  for (let msg = receiveMessageOnPort(init.port); msg; msg = receiveMessageOnPort(init.port)) loop.addHeap(msg.message as HeapMessage);
});

function work(): void {
  // A heap message posted before its sync job is normally readable at once; should one still be
  // in flight, wait for it on the event loop rather than hang the dispatcher.
  if (loop.work() === 'wait-for-heap') init.port.once('message', (m: HeapMessage) => { if (loop.addHeap(m)) work(); });
}

parentPort!.postMessage('ready');
work();
