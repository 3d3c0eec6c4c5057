/**
 * TokenizerWorkerPool: a fixed set of worker threads, each holding its own SentencePieceTokenizer
 * (and its own per-word cache, which stays warm across calls), fed chunks of texts.
 *
 * - The model bytes are copied once into a SharedArrayBuffer that every worker reads at start-up.
 * - Chunks wait in one queue; a worker takes the next when it has fewer than MAX_PER_WORKER in
 *   flight, so a slow (or descheduled) thread gets less work — the split adapts to the machine.
 * - Replies are flat Int32Arrays (ids + offsets) whose buffers are transferred, not copied.
 * - Idle workers are unref'd: a pool never keeps the process alive. While a chunk is in flight its
 *   worker is ref'd, so a caller awaiting a result is not cut off by the event loop emptying.
 * - A worker that dies (out of memory, terminated) fails the chunks it held and is replaced on the
 *   next dispatch; close() terminates all workers and fails whatever is still queued.
 */
import { Worker } from 'node:worker_threads';

/** ids of `offsets.length - 1` texts: text i has ids[offsets[i] .. offsets[i + 1]). */
export interface EncodedChunk { ids: Int32Array; offsets: Int32Array }

export interface ChunkOptions { bos?: boolean; eos?: boolean }

/** A text could not be encoded; `index` is its position in the caller's input. */
export class BatchEncodeError extends Error {
  constructor(message: string, readonly index: number) { super(message); this.name = 'BatchEncodeError'; }
}

/** What batch-worker.ts receives and answers. */
export interface WorkerRequest { job: number; texts: string[]; firstIndex: number; bos: boolean; eos: boolean }
export type ChunkReply =
  | { job: number; ids: Int32Array; offsets: Int32Array }
  | { job: number; error: string; index: number };
/** Sent once after start-up: the model loaded, or the error that stopped it. */
export interface ReadyReply { ready: true; error?: string }
export type WorkerReply = ChunkReply | ReadyReply;

interface Job extends WorkerRequest {
  resolve: (r: EncodedChunk) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker | null;
  inFlight: Map<number, Job>;
  /** Settles when the worker has loaded the model (rejects when it could not). */
  ready: Promise<void>;
  readyAwaited: boolean;
  /** The ready message has arrived. */
  started: boolean;
}

/** Two chunks per worker: one being encoded, one already waiting, so a worker never idles between chunks. */
const MAX_PER_WORKER = 2;

const WORKER_URL = new URL('./batch-worker.js', import.meta.url);

/**
 * The parent's node options minus --input-type, which workers reject ("can only be used with
 * string input"): a script run with `node --input-type=module -e ...` could not start a pool.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith('--input-type=')) continue;
    if (a[i] === '--input-type') { i++; continue; }
    out.push(a[i]);
  }
  return out;
}

export class TokenizerWorkerPool {
  private readonly model: SharedArrayBuffer;
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextJob = 0;
  private closed = false;

  /** `modelBytes`: a serialized SentencePiece ModelProto; `name` appears in errors (usually its path). */
  constructor(modelBytes: Uint8Array, readonly name: string, readonly threads: number) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`tokenizer worker pool: threads must be a positive integer, got ${threads}`);
    this.model = new SharedArrayBuffer(modelBytes.length);
    new Uint8Array(this.model).set(modelBytes);
    this.slots = Array.from({ length: threads }, () => ({ worker: null, inFlight: new Map<number, Job>(), ready: Promise.resolve(), readyAwaited: false, started: false }));
    // Start the workers now: their start-up and model load overlap with the caller's preparation.
    for (const s of this.slots) this.spawn(s);
  }

  get isClosed(): boolean { return this.closed; }

  /**
   * Resolves when every worker has started and loaded the model (e.g. to pay start-up before the
   * first batch arrives); rejects with the load error of a worker that could not.
   */
  async ready(): Promise<void> {
    if (this.closed) throw new Error(`tokenizer worker pool for ${this.name} is closed`);
    await Promise.all(this.slots.map((s) => {
      const w = s.worker ?? this.spawn(s);
      // Someone waits for this worker: keep the process alive until it answers.
      if (!s.started && !s.readyAwaited) { s.readyAwaited = true; w.ref(); }
      return s.ready;
    }));
  }

  /** Encodes `texts` (the caller's texts firstIndex, firstIndex + 1, ...) on some worker. */
  encodeChunk(texts: string[], firstIndex: number, opts: ChunkOptions = {}): Promise<EncodedChunk> {
    if (this.closed) return Promise.reject(new Error(`tokenizer worker pool for ${this.name} is closed`));
    return new Promise<EncodedChunk>((resolve, reject) => {
      this.queue.push({ job: this.nextJob++, texts, firstIndex, bos: !!opts.bos, eos: !!opts.eos, resolve, reject });
      this.pump();
    });
  }

  /** Terminates the workers; chunks not yet answered are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error(`tokenizer worker pool for ${this.name} was closed before the chunk was encoded`);
    for (const j of this.queue.splice(0)) j.reject(err);
    const exits: Promise<number>[] = [];
    for (const s of this.slots) {
      for (const j of s.inFlight.values()) j.reject(err);
      s.inFlight.clear();
      if (s.worker) { exits.push(s.worker.terminate()); s.worker = null; }
    }
    await Promise.all(exits);
  }

  private spawn(slot: Slot): Worker {
    const worker = new Worker(WORKER_URL, { workerData: { model: this.model, name: this.name }, execArgv: workerExecArgv() });
    slot.worker = worker;
    slot.readyAwaited = false;
    slot.started = false;
    let readyDone: (error?: string) => void = () => {};
    slot.ready = new Promise<void>((resolve, reject) => {
      readyDone = (error) => (error ? reject(new Error(error)) : resolve());
    });
    slot.ready.catch(() => { /* reported to whoever awaits ready(), and per chunk */ });
    worker.on('message', (r: WorkerReply) => {
      if ('ready' in r) {
        slot.started = true;
        if (slot.readyAwaited && slot.inFlight.size === 0) worker.unref();
        readyDone(r.error);
      } else this.onReply(slot, r);
    });
    const fail = (why: string) => {
      readyDone(`tokenizer worker for ${this.name} ${why} before it was ready`);
      if (slot.worker !== worker) return; // already replaced or closed
      slot.worker = null;
      const jobs = [...slot.inFlight.values()];
      slot.inFlight.clear();
      for (const j of jobs) {
        j.reject(new BatchEncodeError(`tokenizer worker for ${this.name} ${why} while encoding texts ${j.firstIndex}..${j.firstIndex + j.texts.length - 1}`, j.firstIndex));
      }
      this.pump();
    };
    worker.on('error', (e) => fail(`failed (${e.message})`));
    worker.on('exit', (code) => fail(`exited with code ${code}`));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return worker;
  }

  private onReply(slot: Slot, r: ChunkReply): void {
    const job = slot.inFlight.get(r.job);
    if (!job) return;
    slot.inFlight.delete(r.job);
    if (slot.inFlight.size === 0) slot.worker?.unref();
    if ('error' in r) job.reject(new BatchEncodeError(r.error, r.index));
    else job.resolve({ ids: r.ids, offsets: r.offsets });
    this.pump();
  }

  /** Hands queued chunks to the least busy workers that have room. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closed) {
      let best: Slot | null = null;
      for (const s of this.slots) {
        if (s.inFlight.size < MAX_PER_WORKER && (!best || s.inFlight.size < best.inFlight.size)) best = s;
      }
      if (!best) return;
      const job = this.queue.shift()!;
      const worker = best.worker ?? this.spawn(best);
      if (best.inFlight.size === 0) worker.ref();
      best.inFlight.set(job.job, job);
      const req: WorkerRequest = { job: job.job, texts: job.texts, firstIndex: job.firstIndex, bos: job.bos, eos: job.eos };
      worker.postMessage(req);
    }
  }
}
