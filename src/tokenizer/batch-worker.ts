/**
 * Worker side of TokenizerWorkerPool: loads the model once from the shared bytes, then answers
 * each chunk of texts with flat ids + offsets (buffers transferred back, not copied).
 * A model that fails to load, or a text that fails to encode, is answered with an error naming
 * the text's index in the caller's input; the worker stays up for the next chunk.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SentencePieceTokenizer } from './tokenizer.js';
import type { ChunkReply, WorkerRequest } from './worker-pool.js';

const { model, name } = workerData as { model: SharedArrayBuffer; name: string };

let tok: SentencePieceTokenizer | null = null;
let loadError: string | null = null;
try {
  tok = SentencePieceTokenizer.fromBytes(new Uint8Array(model), name);
} catch (e) {
  loadError = (e as Error).message;
}

/** Scratch space reused across chunks; grows by doubling and is copied out at the exact size. */
let scratch = new Int32Array(1 << 16);

function encodeChunk(t: SentencePieceTokenizer, req: WorkerRequest): ChunkReply {
  const { texts, bos, eos } = req;
  const offsets = new Int32Array(texts.length + 1);
  let n = 0;
  for (let i = 0; i < texts.length; i++) {
    let ids: number[];
    try {
      ids = t.encode(texts[i], { bos, eos });
    } catch (e) {
      const index = req.firstIndex + i;
      return { job: req.job, error: `text ${index}: ${(e as Error).message}`, index };
    }
    if (n + ids.length > scratch.length) {
      const bigger = new Int32Array(Math.max(scratch.length * 2, n + ids.length));
      bigger.set(scratch.subarray(0, n));
      scratch = bigger;
    }
    for (let k = 0; k < ids.length; k++) scratch[n + k] = ids[k];
    n += ids.length;
    offsets[i + 1] = n;
  }
  return { job: req.job, ids: scratch.slice(0, n), offsets };
}

// Tell the pool the model is loaded (or why not), so TokenizerWorkerPool.ready() can resolve.
parentPort!.postMessage(loadError === null ? { ready: true } : { ready: true, error: `cannot load ${name} in a tokenizer worker: ${loadError}` });

parentPort!.on('message', (req: WorkerRequest) => {
  const reply: ChunkReply = tok
    ? encodeChunk(tok, req)
    : { job: req.job, error: `cannot load ${name} in a tokenizer worker: ${loadError}`, index: req.firstIndex };
  if ('error' in reply) parentPort!.postMessage(reply);
  // Both arrays were made here with their own ArrayBuffers (slice / new), so they can be moved.
  else parentPort!.postMessage(reply, [reply.ids.buffer as ArrayBuffer, reply.offsets.buffer as ArrayBuffer]);
});
