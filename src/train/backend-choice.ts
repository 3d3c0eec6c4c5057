/**
 * Which compute engine a run uses: 'wasm' (the fast WebAssembly SIMD kernels on worker threads,
 * src/kernels/index.ts) or 'reference' (plain TypeScript: slow, but the oracle).
 */
import type { Backend } from '../kernels/backend.js';
import { createReferenceBackend } from '../kernels/reference.js';

export type BackendKind = 'wasm' | 'reference';

export async function openBackend(kind: BackendKind, threads: number): Promise<Backend> {
  if (kind === 'reference') return createReferenceBackend();
  if (kind !== 'wasm') throw new Error(`unknown backend '${kind}' (use 'wasm' or 'reference')`);
  // Imported lazily so that runs on the reference backend never load the WebAssembly engine.
  const spec = '../kernels/index.js';
  const mod = (await import(spec)) as { createBackend: (o: { threads?: number }) => Promise<Backend> | Backend };
  return await mod.createBackend({ threads });
}
