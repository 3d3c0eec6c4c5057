/**
 * Kernel threads in Node: worker_threads running pool-worker.ts. Heaps travel on a MessageChannel
 * port the worker reads synchronously (receiveMessageOnPort), so it never has to return to its
 * event loop while the pool lives. Workers and ports are unref'd once started: they never keep
 * the process alive. (The web bundle replaces this module with src/web/web-threads.ts.)
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import type { HeapMessage, WorkerInit } from './pool-protocol.js';
import type { SpawnedWorker, ThreadPlatform } from './pool.js';

/** What a Node kernel worker receives as workerData: the common start-up plus the port heaps arrive on. */
export interface NodeWorkerInit extends WorkerInit {
  port: import('node:worker_threads').MessagePort;
}

function spawn(init: WorkerInit): SpawnedWorker {
  const { port1, port2 } = new MessageChannel();
  const workerData: NodeWorkerInit = { ...init, port: port2 };
  // Workers inherit the process's node options, minus those that only make sense for the
  // main script (`node --input-type=module -e ...` would make every worker fail to start).
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  const worker = new Worker(new URL('./pool-worker.js', import.meta.url), { workerData, transferList: [port2], execArgv });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', (e) => reject(new Error(`kernel worker ${init.tid} failed to start: ${e.message}`)));
    worker.once('exit', (code) => reject(new Error(`kernel worker ${init.tid} exited during start-up (code ${code})`)));
  });
  return {
    ready,
    postHeap: (msg: HeapMessage) => port1.postMessage(msg),
    started: () => { worker.removeAllListeners('exit'); worker.removeAllListeners('message'); worker.unref(); port1.unref(); },
    terminate: () => { void worker.terminate(); port1.close(); },
  };
}

export const threadPlatform: ThreadPlatform = { defaultSpinMicros: 50, stallTimeoutMs: Infinity, spawn };
