/**
 * The compute engine's entry point: `createBackend()` gives the WebAssembly SIMD backend (default)
 * or the plain-TypeScript reference; the contract and helpers are re-exported.
 */
import type { Backend } from './backend.js';
import { createReferenceBackend } from './reference.js';
import { createWasmBackend } from './wasm.js';

export * from './backend.js';
export { BumpArena, arenaBytes } from './arena.js';
export * from './quant.js';
export { createReferenceBackend } from './reference.js';
export { createWasmBackend, type WasmBackendOptions } from './wasm.js';

export interface BackendOptions {
  /** 'wasm' (default): WebAssembly SIMD on a worker pool; 'reference': plain TypeScript, one thread. */
  kind?: 'wasm' | 'reference';
  /** Threads for the wasm backend, the caller included (default: os.availableParallelism()). */
  threads?: number;
}

export async function createBackend(opts: BackendOptions = {}): Promise<Backend> {
  const kind = opts.kind ?? 'wasm';
  if (kind === 'reference') return createReferenceBackend();
  if (kind === 'wasm') return createWasmBackend({ threads: opts.threads });
  throw new Error(`createBackend: unknown kind '${String(kind)}' (expected 'wasm' or 'reference')`);
}
