/**
 * Batch and streaming encoding on a persistent pool of tokenizer worker threads.
 *
 * One TokenizerWorkerPool per (tokenizer, thread count), made on first use and reused by every
 * later call, so worker start-up and model load are paid once, and each worker's word cache stays
 * warm. Pools never keep the process alive (idle workers are unref'd); closeTokenizerPools(tok)
 * ends them explicitly, and they are also closed when their tokenizer is garbage-collected.
 *
 * Inputs are cut into chunks of about equal UTF-8 length (plus a per-text allowance, so many tiny
 * texts also spread out); results come back in input order and equal tok.encode text by text.
 */
import type { SentencePieceTokenizer } from './tokenizer.js';
import { BatchEncodeError, TokenizerWorkerPool, type EncodedChunk } from './worker-pool.js';

export interface BatchOptions { threads?: number }

export interface StreamOptions extends BatchOptions {
  bos?: boolean;
  eos?: boolean;
  /** Aim for chunks of about this many UTF-8 bytes (default 64 KiB). */
  chunkBytes?: number;
  /** Chunks submitted but not yet yielded, at most (default 2 per thread): bounds memory. */
  maxInFlight?: number;
}

/** Per-text cost in "bytes" on top of its length: message and call overhead of one encode. */
const PER_TEXT = 16;
/** One chunk never holds more texts than this, however short they are. */
const MAX_TEXTS_PER_CHUNK = 8192;

const pools = new WeakMap<SentencePieceTokenizer, Map<number, TokenizerWorkerPool>>();
const closeOnCollect = new FinalizationRegistry<Map<number, TokenizerWorkerPool>>((m) => {
  for (const p of m.values()) void p.close();
});

function threadCount(threads: number | undefined): number {
  const n = threads ?? 1;
  if (!Number.isFinite(n) || n < 1) throw new RangeError(`threads must be a number >= 1, got ${threads}`);
  return Math.floor(n);
}

/** The tokenizer's pool of `threads` workers (created on first use, then reused). */
export function tokenizerPool(tok: SentencePieceTokenizer, threads: number): TokenizerWorkerPool {
  let m = pools.get(tok);
  if (!m) { m = new Map(); pools.set(tok, m); closeOnCollect.register(tok, m); }
  let p = m.get(threads);
  if (!p || p.isClosed) { p = new TokenizerWorkerPool(tok.toBytes(), tok.name, threads); m.set(threads, p); }
  return p;
}

/** Terminates the worker pools of `tok` (all thread counts); later calls start new ones. */
export async function closeTokenizerPools(tok: SentencePieceTokenizer): Promise<void> {
  const m = pools.get(tok);
  if (!m) return;
  const all = [...m.values()];
  m.clear();
  await Promise.all(all.map((p) => p.close()));
}

function textWeight(t: string): number { return Buffer.byteLength(t) + PER_TEXT; }

function checkText(t: unknown, index: number): asserts t is string {
  if (typeof t !== 'string') throw new TypeError(`text ${index} is ${t === null ? 'null' : typeof t}, not a string`);
}

/** [start, end) ranges of texts with about `target` weight each. */
function chunkRanges(texts: readonly string[], target: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0, acc = 0;
  for (let i = 0; i < texts.length; i++) {
    acc += textWeight(texts[i]);
    if (acc >= target || i + 1 - start >= MAX_TEXTS_PER_CHUNK) { out.push([start, i + 1]); start = i + 1; acc = 0; }
  }
  if (start < texts.length) out.push([start, texts.length]);
  return out;
}

function toArrays(c: EncodedChunk, out: number[][], at: number): void {
  const { ids, offsets } = c;
  for (let i = 0; i + 1 < offsets.length; i++) {
    const a = offsets[i], b = offsets[i + 1];
    const row = new Array<number>(b - a);
    for (let k = a; k < b; k++) row[k - a] = ids[k];
    out[at + i] = row;
  }
}

/**
 * Encodes all texts; result i equals tok.encode(texts[i], opts). threads: 1 encodes on this
 * thread; more uses the tokenizer's pool of that many workers. A text that fails rejects with a
 * BatchEncodeError naming its index (the first failing one in input order).
 */
export async function encodeBatch(tok: SentencePieceTokenizer, texts: readonly string[],
  opts: BatchOptions & { bos?: boolean; eos?: boolean }): Promise<number[][]> {
  const threads = threadCount(opts.threads);
  const enc = { bos: opts.bos, eos: opts.eos };
  for (let i = 0; i < texts.length; i++) checkText(texts[i], i);
  if (threads === 1 || texts.length === 0) return texts.map((t) => tok.encode(t, enc));
  return encodeBatchOnPool(tokenizerPool(tok, threads), texts, enc);
}

/**
 * encodeBatch on a given pool, whatever its size — e.g. a pool of one worker, to keep this thread
 * free (a server's event loop) while a batch is encoded.
 */
export async function encodeBatchOnPool(pool: TokenizerWorkerPool, texts: readonly string[],
  enc: { bos?: boolean; eos?: boolean }): Promise<number[][]> {
  let total = 0;
  for (let i = 0; i < texts.length; i++) { checkText(texts[i], i); total += textWeight(texts[i]); }
  // About 8 chunks per worker: enough for the queue to even out uneven threads, few enough
  // that message overhead stays small.
  const target = Math.min(1 << 20, Math.max(16 << 10, Math.ceil(total / (pool.threads * 8))));
  const out = new Array<number[]>(texts.length);
  // Each chunk is turned into arrays as soon as it arrives, while the workers go on encoding.
  const settled = await Promise.allSettled(chunkRanges(texts, target).map(([a, b]) =>
    pool.encodeChunk(texts.slice(a, b), a, enc).then((c) => toArrays(c, out, a))));
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return out;
}

/**
 * Streaming encode: lines in (any iterable or async iterable of strings), one Int32Array of ids
 * per line out, in order. At most `maxInFlight` chunks are encoded or waiting at any time, so a
 * large input is never held in memory whole. The arrays yielded are views into per-chunk buffers.
 * Texts are grouped into chunks before they are sent, so with a slow source the first ids
 * arrive after about `chunkBytes` of input (or at its end).
 */
export async function* encodeStream(tok: SentencePieceTokenizer, lines: AsyncIterable<string> | Iterable<string>,
  opts: StreamOptions = {}): AsyncGenerator<Int32Array> {
  const threads = threadCount(opts.threads);
  const enc = { bos: opts.bos, eos: opts.eos };
  let index = 0;
  if (threads === 1) {
    for await (const line of lines) { checkText(line, index++); yield Int32Array.from(tok.encode(line, enc)); }
    return;
  }
  const chunkBytes = Math.max(1, opts.chunkBytes ?? 64 << 10);
  const maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? 2 * threads));
  const pool = tokenizerPool(tok, threads);
  const pending: Promise<EncodedChunk>[] = [];
  let batch: string[] = [], batchStart = 0, weight = 0;
  const submit = () => {
    const p = pool.encodeChunk(batch, batchStart, enc);
    p.catch(() => { /* observed when it is awaited below; this keeps an abandoned stream quiet */ });
    pending.push(p);
    batch = []; batchStart = index; weight = 0;
  };
  function* rows(c: EncodedChunk): Generator<Int32Array> {
    for (let i = 0; i + 1 < c.offsets.length; i++) yield c.ids.subarray(c.offsets[i], c.offsets[i + 1]);
  }
  for await (const line of lines) {
    checkText(line, index);
    batch.push(line);
    index++;
    weight += textWeight(line);
    if (weight >= chunkBytes || batch.length >= MAX_TEXTS_PER_CHUNK) {
      submit();
      while (pending.length >= maxInFlight) yield* rows(await pending.shift()!);
    }
  }
  if (batch.length > 0) submit();
  while (pending.length > 0) yield* rows(await pending.shift()!);
}

export { BatchEncodeError, TokenizerWorkerPool };
