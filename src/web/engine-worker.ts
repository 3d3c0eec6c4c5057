/**
 * The engine of the browser page: a dedicated Web Worker that reads the chosen model file, loads
 * it into WebAssembly memory and generates, posting each token to the page as it comes.
 * It runs off the page's main thread because the kernel pool blocks in Atomics.wait while the
 * kernel threads work (src/kernels/pool.ts), which a page's main thread may not do — and so the page stays
 * responsive during a long prefill.
 */
import type { Backend } from '../kernels/backend.js';
import { createWasmBackend } from '../kernels/wasm.js';
import { createReferenceBackend } from '../kernels/reference.js';
import type { LlamaModel } from '../inference/model.js';
import { loadModelFromBytes } from './load-bytes.js';
import { poolStats } from '../kernels/pool.js';
import { installSetImmediate } from './set-immediate.js';
import type { FromEngine, SamplingSettings, ToEngine } from './engine-protocol.js';

installSetImmediate();

const scope = self as unknown as { onmessage: ((e: MessageEvent<ToEngine>) => void) | null; postMessage(m: FromEngine): void };
const post = (m: FromEngine) => scope.postMessage(m);

let model: LlamaModel | null = null;
let backend: Backend | null = null;
let abort: AbortController | null = null;
let busy = false;

/** Reads a Blob into memory in chunks, reporting progress (a 1 GB file takes a while). */
async function readAll(file: Blob, name: string): Promise<Uint8Array> {
  const out = new Uint8Array(file.size);
  const reader = file.stream().getReader();
  let at = 0, lastPost = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > out.length) throw new Error(`${name} grew while being read`);
    out.set(value, at);
    at += value.length;
    if (at - lastPost >= out.length / 100 || at === out.length) {
      lastPost = at;
      post({ type: 'progress', phase: 'read', done: at, total: out.length, what: name });
    }
  }
  if (at !== out.length) throw new Error(`${name}: read ${at} of ${out.length} bytes`);
  return out;
}

/** The WebAssembly backend with `threads` threads (0 = all the page may use). */
async function makeBackend(threads: number): Promise<Backend> {
  const isolated = globalThis.crossOriginIsolated === true;
  const cores = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 16));
  const want = threads > 0 ? threads : cores;
  if (want > 1 && !isolated) {
    // Without cross-origin isolation there is no SharedArrayBuffer to share with workers.
    if (threads > 1) throw new Error(`${threads} threads need a cross-origin isolated page (COOP/COEP headers); this page is not: choose 1 thread`);
    return createWasmBackend({ threads: 1 });
  }
  return createWasmBackend({ threads: want });
}

async function load(msg: Extract<ToEngine, { type: 'load' }>): Promise<void> {
  const t0 = performance.now();
  model?.dispose();
  backend?.dispose();
  model = null;
  backend = null;
  post({ type: 'progress', phase: 'start', done: 0, total: 1, what: 'starting the WebAssembly kernels' });
  const bytes = await readAll(msg.file, msg.name);
  const tokenizer = msg.tokenizer ? { bytes: await readAll(msg.tokenizer.file, msg.tokenizer.name), name: msg.tokenizer.name } : undefined;
  let b: Backend;
  try {
    b = await makeBackend(msg.threads);
  } catch (e) {
    // A browser without WebAssembly SIMD or shared memory still runs, slowly, on the plain kernels.
    if (msg.threads > 1) throw e;
    console.warn(`WebAssembly backend unavailable (${(e as Error).message}); using the reference kernels`);
    b = createReferenceBackend();
  }
  backend = b;
  poolStats.parallelCalls = 0;
  poolStats.serialCalls = 0;
  model = loadModelFromBytes(bytes, msg.name, {
    backend: b, tokenizer,
    onProgress: (done, total, what) => post({ type: 'progress', phase: 'weights', done, total, what }),
  });
  const c = model.config;
  post({
    type: 'loaded',
    info: {
      name: msg.name, fileBytes: bytes.length, dim: c.dim, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads,
      vocabSize: c.vocabSize, contextLength: model.contextLength, weightTypes: model.weights.typeSummary,
      backend: b.name, threads: b.name.startsWith('wasm') ? poolStats.threads : 1,
      crossOriginIsolated: globalThis.crossOriginIsolated === true, loadMs: performance.now() - t0,
    },
  });
}

function checkSampling(s: SamplingSettings): void {
  const bad = (what: string) => { throw new Error(`sampling: ${what}`); };
  if (!(s.temperature >= 0)) bad(`temperature must be >= 0, got ${s.temperature}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) bad(`top-k must be an integer >= 0 (0 = off), got ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) bad(`top-p must be in (0, 1] (1 = off), got ${s.topP}`);
  if (!Number.isInteger(s.maxTokens) || s.maxTokens < 1) bad(`max tokens must be an integer >= 1, got ${s.maxTokens}`);
  if (!Number.isInteger(s.seed) || s.seed < 0) bad(`seed must be an integer >= 0, got ${s.seed}`);
}

async function generate(msg: Extract<ToEngine, { type: 'generate' }>): Promise<void> {
  if (!model) throw new Error('no model loaded: choose a model file first');
  checkSampling(msg.sampling);
  const tok = model.tokenizer!;
  const ids = tok.encode(msg.prompt, { bos: msg.addBos });
  if (ids.length === 0) throw new Error('the prompt encodes to no tokens: type some text or add BOS');
  if (ids.length >= model.contextLength) {
    throw new Error(`the prompt is ${ids.length} tokens; the context holds ${model.contextLength}: shorten it`);
  }
  abort = new AbortController();
  const t0 = performance.now();
  let first = 0, last = 0, index = 0;
  const s = msg.sampling;
  const res = await model.generate(ids, { temperature: s.temperature, topK: s.topK, topP: s.topP, seed: s.seed, maxTokens: s.maxTokens },
    (t) => {
      const now = performance.now();
      if (t.id >= 0) { if (index === 0) first = now; last = now; }
      post({ type: 'token', id: t.id, text: t.text, index: t.id >= 0 ? index++ : index, elapsedMs: now - t0 });
    }, abort.signal);
  const ms = performance.now() - t0;
  const n = res.tokens.length;
  post({
    type: 'done', text: res.text,
    stats: {
      promptTokens: res.promptTokens, generatedTokens: n, finishReason: res.finishReason, ms,
      tokensPerSec: n > 1 ? (n - 1) / ((last - first) / 1000) : n / (ms / 1000),
      firstTokenMs: first - t0, parallelCalls: poolStats.parallelCalls, serialCalls: poolStats.serialCalls,
    },
  });
}

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'stop') { abort?.abort(); return; }
  if (busy) { post({ type: 'error', phase: msg.type === 'load' ? 'load' : 'generate', message: 'the engine is busy; wait or press Stop' }); return; }
  busy = true;
  const job = msg.type === 'load' ? load(msg) : generate(msg);
  job.catch((err: unknown) => {
    if (msg.type === 'load') { model = null; }
    post({ type: 'error', phase: msg.type === 'load' ? 'load' : 'generate', message: err instanceof Error ? err.message : String(err) });
  }).finally(() => { busy = false; abort = null; });
};
