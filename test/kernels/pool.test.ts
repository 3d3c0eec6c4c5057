// The kernel thread pool: bursts of dispatches with workers sleeping and waking in between,
// errors raised on a worker thread surfacing in the caller, several memories, and workers that
// never keep the process alive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KernelPool } from '../../src/kernels/pool.js';
import { createReferenceBackend } from '../../src/kernels/reference.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import { assertClose, randn, rng } from './wasm-helpers.js';

const wasmPath = fileURLToPath(new URL('../../wasm/kernels-simd.wasm', import.meta.url));

async function poolOverOneMemory(threads: number, spinMicros: number) {
  const module = await WebAssembly.compile(readFileSync(wasmPath));
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, unknown>;
  (exports.initF16Table as (p: number) => void)(65536 * 8);
  const pool = await KernelPool.create({ threads, kernelNames: ['add'], spinMicros });
  pool.addHeap(0, module, memory, exports, 65536 * 8);
  return { pool, memory };
}

test('bursts of dispatches, with workers going to sleep and waking between them', async () => {
  const { pool, memory } = await poolOverOneMemory(3, 10);
  try {
    const f = new Float32Array(memory.buffer, 0, 1000);
    f.fill(0);
    const one = new Float32Array(memory.buffer, 4096, 1000).fill(1);
    for (let i = 0; i < 300; i++) {
      pool.run(0, 0, [0, 0, one.byteOffset, 1000]);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 2)); // let the workers fall asleep
    }
    assert.ok(f.every((x) => x === 300), 'every element added 300 times');
  } finally {
    pool.dispose();
  }
});

test('a trap on a worker thread is rethrown to the caller, and the pool keeps working', async () => {
  const { pool, memory } = await poolOverOneMemory(2, 1000);
  try {
    const floats = memory.buffer.byteLength / 4;
    // thread 0 gets the first half (in bounds), thread 1 the second half (beyond the memory)
    assert.throws(() => pool.run(0, 0, [0, 0, 0, 2 * floats]), /kernel add failed on a worker thread: worker 1: .*out of bounds/);
    pool.run(0, 0, [0, 0, 0, 16]);
  } finally {
    pool.dispose();
  }
  assert.throws(() => pool.run(0, 0, [0, 0, 0, 16]), /used after dispose/);
});

test('kernels run on a second memory once the first is full', async () => {
  const be = await createWasmBackend({ threads: 3, heapBytesLimit: 8 << 20, serialBelow: 0 });
  try {
    const N = 20, C = 33, OC = 17;
    const a1 = be.createArena(3 << 20), a2 = be.createArena(3 << 20); // a2 lands in memory 1
    a1.f32('filler', [16]);
    const r = rng(5);
    const x = a2.f32('x', [N, C]), w = a2.f32('w', [OC, C]), out = a2.f32('out', [N, OC]);
    x.set(randn(N * C, r)); w.set(randn(OC * C, r));
    be.matmulForward(out, x, w, N, C, OC);
    const expected = new Float32Array(N * OC);
    createReferenceBackend().matmulForward(expected, x, w, N, C, OC);
    assertClose(out, expected, 1e-5, 1e-5, 'matmul in memory 1');
  } finally {
    be.dispose();
  }
});

test('workers do not keep the process alive when dispose() is never called', () => {
  const wasmJs = new URL('../../src/kernels/wasm.js', import.meta.url).href;
  const script = `const { createWasmBackend } = await import(${JSON.stringify(wasmJs)});
    const be = await createWasmBackend({ threads: 3, serialBelow: 0 });
    const a = be.createArena(1 << 16); const x = a.f32('x', [64]).fill(2);
    be.add(x, x, x, 64); console.log(x[63]);`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60000 });
  assert.equal(res.error, undefined, `child did not exit: ${res.error?.message}`);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), '4');
});
