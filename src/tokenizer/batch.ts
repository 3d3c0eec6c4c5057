/**
 * encodeBatch: splits the texts into `threads` contiguous shares of about equal length; this
 * thread encodes the first share while worker threads (each with its own copy of the model and
 * its own word cache) encode the others. Results keep the input order.
 */
import { Worker } from 'node:worker_threads';
import type { SentencePieceTokenizer } from './tokenizer.js';

export interface BatchOptions { threads?: number }

interface WorkerReply { ids: Int32Array; offsets: Int32Array; error?: string }

function shares(texts: readonly string[], parts: number): [number, number][] {
  let total = 0;
  for (const t of texts) total += t.length + 1;
  const out: [number, number][] = [];
  let start = 0, acc = 0, k = 1;
  for (let i = 0; i < texts.length && k < parts; i++) {
    acc += texts[i].length + 1;
    if (acc >= (total * k) / parts) { out.push([start, i + 1]); start = i + 1; k++; }
  }
  out.push([start, texts.length]);
  return out;
}

export async function encodeBatch(tok: SentencePieceTokenizer, texts: readonly string[],
  opts: BatchOptions & { bos?: boolean; eos?: boolean }): Promise<number[][]> {
  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const enc = { bos: opts.bos, eos: opts.eos };
  if (threads === 1 || texts.length < 2) return texts.map((t) => tok.encode(t, enc));
  const parts = shares(texts, threads);
  const modelBytes = tok.toBytes();
  const jobs = parts.slice(1).map(([a, b]) => new Promise<number[][]>((resolve, reject) => {
    const worker = new Worker(new URL('./batch-worker.js', import.meta.url), {
      workerData: { modelBytes, name: tok.name, texts: texts.slice(a, b), bos: !!opts.bos, eos: !!opts.eos },
    });
    worker.once('message', (r: WorkerReply) => {
      void worker.terminate();
      if (r.error) { reject(new Error(r.error)); return; }
      const out: number[][] = [];
      for (let i = 0; i + 1 < r.offsets.length; i++) out.push(Array.from(r.ids.subarray(r.offsets[i], r.offsets[i + 1])));
      resolve(out);
    });
    worker.once('error', reject);
    // A worker killed before it answered (out of memory, terminated) must not leave us waiting.
    worker.once('exit', (code) => reject(new Error(`tokenizer worker exited with code ${code} before returning its ${b - a} texts`)));
  }));
  const [a0, b0] = parts[0];
  const first = texts.slice(a0, b0).map((t) => tok.encode(t, enc));
  const rest = await Promise.all(jobs);
  return first.concat(...rest);
}
