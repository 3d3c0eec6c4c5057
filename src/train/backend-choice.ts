/**
 * Which compute engine a run uses: 'wasm' (the fast WebAssembly SIMD kernels on worker threads)
 * or 'reference' (plain TypeScript: slow, but the oracle).
 */
import type { Backend } from '../kernels/backend.js';
import { createBackend } from '../kernels/index.js';

export type BackendKind = 'wasm' | 'reference';

export async function openBackend(kind: BackendKind, threads: number): Promise<Backend> {
  if (kind !== 'wasm' && kind !== 'reference') throw new Error(`unknown backend '${kind}' (use 'wasm' or 'reference')`);
  return createBackend({ kind, threads });
}
