// Bad input to the wasm backend gives clear errors that name the operation and the shapes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createBackend } from '../../src/kernels/index.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';
import type { WasmBackend } from './wasm-helpers.js';

let be: WasmBackend;
before(async () => { be = await createWasmBackend({ threads: 2 }); });
after(() => be.dispose());

test('arrays too short for the dims name the op, the argument and the shape', () => {
  const a = be.createArena(1 << 16);
  const out = a.f32('out', [3]), inp = a.f32('inp', [6]), w = a.f32('w', [6]);
  assert.throws(() => be.matmulForward(out, inp, w, 2, 3, 2), /matmulForward: out holds 3 elements but shape \[N, OC\] = \[2, 2\] needs 4/);
  assert.throws(() => be.matmulBackward(null, a.f32('dw', [5]), a.f32('dout', [4]), inp, w, 2, 3, 2),
    /matmulBackward: dweight holds 5 elements but shape \[OC, C\] = \[2, 3\] needs 6/);
  const q = a.f32('q', [2 * 4 * 8]);
  assert.throws(() => be.attentionForward(q, a.f32('lse', [1]), q, q, q, 1, 2, 4, 4, 8),
    /attentionForward: lse holds 1 elements but shape \[B, nHeads, T\] = \[1, 4, 2\] needs 8/);
  assert.throws(() => be.attentionForward(q, a.f32('lse2', [8]), q, q, q, 1, 2, 4, 3, 8), /attentionForward: nHeads = 4 must be a positive multiple of nKvHeads = 3/);
  assert.throws(() => be.matmulForward(out, inp, w, 1.5, 3, 2), /matmulForward: N = 1.5 is not a non-negative integer/);
  const cos = a.f32('cos', [4]);
  assert.throws(() => be.ropeForward(q, q, cos, cos, 1, 2, 4, 8, 0), /ropeForward: cos holds 4 elements but shape \[pos0 \+ T, headDim\/2\] = \[2, 4\]/);
  assert.throws(() => be.ropeForward(q, q, cos, cos, 1, 2, 4, 7, 0), /ropeForward: headDim = 7 must be even/);
});

test('out-of-range token ids and targets are named with their position', () => {
  const a = be.createArena(1 << 16);
  const table = a.f32('table', [4 * 3]), out = a.f32('out', [3 * 3]);
  const tokens = a.i32('tokens', [3]);
  tokens.set([0, 3, 4]);
  assert.throws(() => be.embeddingForward(out, tokens, table, 3, 3, 4), /embeddingForward: tokens\[2\] = 4 is outside \[0, 4\)/);
  tokens.set([0, -1, 1]);
  assert.throws(() => be.embeddingBackward(table, out, tokens, 3, 3), /embeddingBackward: tokens\[1\] = -1 is outside \[0, 4\)/);
  const x = a.f32('x', [3 * 3]), l = a.f32('l', [3]), lse = a.f32('lse', [3]);
  tokens.set([0, -2, 1]);
  assert.throws(() => be.crossEntropyForward(l, lse, x, table, tokens, 3, 3, 4), /crossEntropyForward: targets\[1\] = -2 is outside \[-1, 4\)/);
  tokens.set([0, -1, 1]);
  be.crossEntropyForward(l, lse, x, table, tokens, 3, 3, 4); // -1 is allowed
  assert.equal(l[1], 0);
});

test('arrays outside the backend memory, or from two memories, are refused', async () => {
  const a = be.createArena(1 << 16);
  const inp = a.f32('inp', [4]);
  assert.throws(() => be.add(new Float32Array(4), inp, inp, 4), /add: out is not in this backend's memory .*createArena/);
  const small = await createWasmBackend({ threads: 2, heapBytesLimit: 8 << 20 });
  try {
    const a1 = small.createArena(3 << 20, 'first');
    const a2 = small.createArena(3 << 20, 'second'); // does not fit after the first: a second memory
    const x1 = a1.f32('x1', [8]), x2 = a2.f32('x2', [8]);
    assert.throws(() => small.add(x1, x1, x2, 8), /add: b lives in WebAssembly memory 1 but out in memory 0/);
    assert.throws(() => small.createArena(9 << 20, 'huge'), /createArena\(huge\): 9437184 bytes do not fit one WebAssembly memory/);
  } finally {
    small.dispose();
  }
});

test('matmulWeight refuses bad quantized layouts', () => {
  const a = be.createArena(1 << 16);
  const out = a.f32('out', [2]), inp = a.f32('inp', [40]);
  assert.throws(() => be.matmulWeight(out, inp, { type: 'q8_0', rows: 2, cols: 40, data: a.u8('w', 200) }, 1),
    /matmulWeight\(q8_0\): cols = 40 must be a multiple of 32/);
  assert.throws(() => be.matmulWeight(out, inp, { type: 'f16', rows: 2, cols: 20, data: a.f32('wf', [40]) }, 1),
    /matmulWeight\(f16\): weight data is a Float32Array, type f16 needs a Uint16Array/);
  assert.throws(() => be.matmulWeight(out, a.f32('in2', [32]), { type: 'q4_0', rows: 2, cols: 32, data: a.u8('w4', 18) }, 1),
    /matmulWeight\(q4_0\): weight data holds 18 elements but shape \[2, 32\] q4_0 needs 36/);
});

test('setCheckFinite reports NaN/Inf produced by a kernel, naming op, tensor and shape', () => {
  const a = be.createArena(1 << 16);
  const x = a.f32('x', [10]), y = a.f32('y', [10]), out = a.f32('out', [10]);
  x[7] = Infinity; y[7] = -Infinity;
  be.add(out, x, y, 10); // off by default
  assert.ok(Number.isNaN(out[7]));
  be.setCheckFinite(true);
  try {
    assert.throws(() => be.add(out, x, y, 10), /add: out \[10\] holds NaN at flat index 7/);
    x[7] = 1; y[7] = 2;
    be.add(out, x, y, 10);
  } finally {
    be.setCheckFinite(false);
  }
});

test('a runtime without WebAssembly SIMD gets a clear error', async () => {
  const original = WebAssembly.validate;
  WebAssembly.validate = () => false;
  try {
    await assert.rejects(createWasmBackend({ threads: 1 }), /does not support WebAssembly 128-bit SIMD.*kind: "reference"/);
  } finally {
    WebAssembly.validate = original;
  }
});

test('createBackend options are checked', async () => {
  await assert.rejects(createBackend({ kind: 'gpu' as never }), /unknown kind 'gpu'/);
  await assert.rejects(createBackend({ threads: 0 }), /threads must be an integer in \[1, 256\], got 0/);
  const r = await createBackend({ kind: 'reference' });
  assert.equal(r.threads, 1);
});

test('released arenas are reclaimed from the top of their memory, zeroed for their next owner', async () => {
  const b = await createWasmBackend({ threads: 1 });
  try {
    const a = b.createArena(1 << 20, 'a');
    const x = b.createArena(1 << 20, 'x');
    const xv = x.f32('v', [4]);
    xv.fill(7);
    const grown = b.memoryBytes;
    x.release();
    assert.throws(() => x.f32('more', [1]), /x: allocating 'more' in a released arena/);
    const y = b.createArena(1 << 20, 'y');
    const yv = y.f32('v', [4]);
    assert.equal(yv.byteOffset, xv.byteOffset, 'the space of the released arena is reused');
    assert.deepEqual(Array.from(yv), [0, 0, 0, 0]);
    // releasing below the top waits until everything above it is released too
    a.release();
    const z = b.createArena(1 << 10, 'z');
    assert.ok(z.f32('v', [1]).byteOffset > yv.byteOffset);
    z.release(); y.release();
    const again = b.createArena(2 << 20, 'again');
    assert.ok(again.f32('v', [1]).byteOffset < yv.byteOffset, 'both regions came back');
    assert.equal(b.memoryBytes, grown, 'the memory did not grow');
  } finally { b.dispose(); }
});
