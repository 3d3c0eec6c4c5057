// f16 conversion and GGUF Q8_0 / Q4_0 blocks: hand-computed values, the round-to-nearest-even
// property at every midpoint between consecutive halves, and whole-matrix round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  f16ToF32, f32ToF16, quantizeQ8_0, dequantizeQ8_0, quantizeQ4_0, dequantizeQ4_0, quantizeF16, dequantizeF16,
  quantBytes, Q8_0_BLOCK_BYTES, Q4_0_BLOCK_BYTES,
} from '../../src/kernels/quant.js';
import { Rng } from '../../src/util/rng.js';
import { dequantizeK, quantizeQ4_K } from '../../src/kernels/quant-k.js';
import { roundActivationsQ8_K } from './kquant-helpers.js';

test('f32 -> f16 on hand-picked values (normals, subnormals, ties, overflow, specials)', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [1 / 3, 0x3555],
    [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00],
    [Infinity, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -25, 0x0001], [3 * 2 ** -25, 0x0002],
    [1023 * 2 ** -24, 0x03ff], [1023.5 * 2 ** -24, 0x0400], [1e-10, 0x0000],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [1 + 2 ** -11 + 2 ** -20, 0x3c01],
  ];
  for (const [x, h] of cases) assert.equal(f32ToF16(x), h, `f32ToF16(${x}) = 0x${f32ToF16(x).toString(16)}, want 0x${h.toString(16)}`);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
  assert.equal(f16ToF32(0x7bff), 65504);
  assert.equal(f16ToF32(0x0001), 2 ** -24);
  assert.equal(f16ToF32(0xfc00), -Infinity);
});

test('f16: every half round-trips, and every midpoint rounds to the even neighbour', () => {
  for (let h = 0; h < 0x10000; h++) {
    const x = f16ToF32(h);
    if (Number.isNaN(x)) continue;
    assert.equal(f32ToF16(x), h);
  }
  for (const sign of [0, 0x8000]) {
    for (let h = 0; h < 0x7bff; h++) {
      const a = f16ToF32(sign | h), b = f16ToF32(sign | (h + 1));
      const mid = (a + b) / 2; // 12 significant bits: exact in float32
      const even = (h & 1) === 0 ? h : h + 1;
      assert.equal(f32ToF16(mid), sign | even, `midpoint after 0x${(sign | h).toString(16)}`);
      // one float32 ulp either side of the midpoint goes to the nearer half
      const up = Math.fround(mid + Math.abs(mid) * 2 ** -23), down = Math.fround(mid - Math.abs(mid) * 2 ** -23);
      if (mid !== 0) {
        assert.equal(f32ToF16(sign ? down : up), sign | (h + 1));
        assert.equal(f32ToF16(sign ? up : down), sign | h);
      }
    }
  }
});

test('Q8_0 block: scale max|x|/127, roundf (halves away from zero), int8 two-complement, 34 bytes', () => {
  const x = new Float32Array(32);
  // max |x| = 127 makes d = 1 exactly (f16 0x3c00), so q = roundf(x).
  x.set([127, -127, 2.5, -2.5, 0.49, -0.5, 126.6, 3.5]);
  const b = quantizeQ8_0(x, 1, 32);
  assert.equal(b.length, Q8_0_BLOCK_BYTES);
  assert.deepEqual(Array.from(b.subarray(0, 2)), [0x00, 0x3c]);
  const q = Array.from(new Int8Array(b.buffer, 2, 32));
  assert.deepEqual(q.slice(0, 9), [127, -127, 3, -3, 0, -1, 127, 4, 0]);
  // scale 16/127 -> f16 0x3008 (0.1259765625); dequantized values are q * that
  const y = Float32Array.from({ length: 32 }, (_, j) => j - 16);
  const by = quantizeQ8_0(y, 1, 32);
  assert.deepEqual(Array.from(by.subarray(0, 2)), [0x08, 0x30]);
  assert.equal(new Int8Array(by.buffer, 2, 32)[0], -127);
  const back = dequantizeQ8_0(by, 1, 32);
  assert.equal(back[0], -127 * 0.1259765625);
  // an all-zero block has d = 0 and q = 0
  assert.deepEqual(Array.from(quantizeQ8_0(new Float32Array(32), 1, 32)), new Array(34).fill(0));
});

test('Q4_0 block: d = (signed max)/-8, q = min(15, trunc(x/d + 8.5)), nibbles j | (j+16) << 4, 18 bytes', () => {
  const x = new Float32Array(32);
  x[0] = -8; x[1] = 7; x[2] = 0; x[3] = 0.5; x[4] = -0.5; x[5] = 1.49; x[6] = 1.5; x[7] = 8;
  x[16] = 3; x[17] = -3; x[31] = -7.9;
  const b = quantizeQ4_0(x, 1, 32);
  assert.equal(b.length, Q4_0_BLOCK_BYTES);
  // largest magnitude: x[7] = 8 comes after x[0] = -8 with equal |x|, first wins: max = -8, d = 1
  assert.deepEqual(Array.from(b.subarray(0, 2)), [0x00, 0x3c]);
  const lo = (j: number) => b[2 + j] & 15, hi = (j: number) => b[2 + j] >> 4;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(lo), [0, 15, 8, 9, 8, 9, 10, 15]);
  assert.deepEqual([hi(0), hi(1), hi(15)], [11, 5, 0]);
  const back = dequantizeQ4_0(b, 1, 32);
  assert.deepEqual(Array.from(back.subarray(0, 8)), [-8, 7, 0, 1, 0, 1, 2, 7]);
  assert.equal(back[16], 3);
  assert.equal(back[31], -8);
  // a positive maximum gives a negative scale: 8 -> d = -1 (f16 0xbc00), 8 maps to q 0, -7 to 15
  const y = new Float32Array(32); y[0] = 8; y[1] = -7;
  const by = quantizeQ4_0(y, 1, 32);
  assert.deepEqual(Array.from(by.subarray(0, 2)), [0x00, 0xbc]);
  assert.equal(by[2] & 15, 0);
  assert.equal(by[3] & 15, 15);
});

test('whole-matrix round trips stay within half a step (Q8_0, f16) and one step (Q4_0)', () => {
  const rng = new Rng(21);
  const rows = 5, cols = 96;
  const w = Float32Array.from({ length: rows * cols }, () => rng.normal() * 0.05);
  assert.equal(quantBytes('q8_0', rows, cols), rows * 3 * 34);
  assert.equal(quantBytes('q4_0', rows, cols), rows * 3 * 18);
  const q8 = dequantizeQ8_0(quantizeQ8_0(w, rows, cols), rows, cols);
  const q4 = dequantizeQ4_0(quantizeQ4_0(w, rows, cols), rows, cols);
  const f16 = dequantizeF16(quantizeF16(w, rows, cols), rows, cols);
  for (let blk = 0; blk < (rows * cols) / 32; blk++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(w[blk * 32 + j]));
    for (let j = 0; j < 32; j++) {
      const i = blk * 32 + j;
      assert.ok(Math.abs(q8[i] - w[i]) <= (amax / 127) * 0.57 + 1e-7, `q8_0 element ${i}`);
      assert.ok(Math.abs(q4[i] - w[i]) <= (amax / 8) * 1.01, `q4_0 element ${i}`);
      assert.ok(Math.abs(f16[i] - w[i]) <= Math.abs(w[i]) * 2 ** -11 + 2 ** -25, `f16 element ${i}`);
    }
  }
});

test('bad input: rows not made of whole blocks, short buffers', () => {
  assert.throws(() => quantizeQ8_0(new Float32Array(40), 1, 40), /q8_0: a row of 40 values is not a whole number of 32-value blocks/);
  assert.throws(() => quantizeQ4_0(new Float32Array(32), 2, 32), /quantizeQ4_0: input holds 32 values, \[2, 32\] needs 64/);
  assert.throws(() => dequantizeQ4_0(new Uint8Array(17), 1, 32), /dequantizeQ4_0: 17 bytes, \[1, 32\] needs 18/);
});

test("bit-exact with llama.cpp's ggml (fixtures/model/ggml-quant.*, from its reference quantizers)", () => {
  const dir = new URL('../../../fixtures/model/', import.meta.url);
  const meta = JSON.parse(readFileSync(new URL('ggml-quant.json', dir), 'utf8')) as { rows: number; cols: number; sections: [string, number][] };
  const raw = readFileSync(new URL('ggml-quant.bin', dir));
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const { rows, cols } = meta;
  const n = rows * cols;
  const [, , q8Len, q4Len] = meta.sections.map((s) => s[1]);
  const x = new Float32Array(buf, 0, n);
  const f16 = new Uint16Array(buf, n * 4, n);
  const q8 = new Uint8Array(buf, n * 6, q8Len);
  const q4 = new Uint8Array(buf, n * 6 + q8Len, q4Len);
  const firstDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i; return -1; };
  assert.equal(firstDiff(quantizeF16(x, rows, cols), f16), -1, 'f16 bits');
  assert.equal(firstDiff(quantizeQ8_0(x, rows, cols), q8), -1, 'q8_0 bytes');
  assert.equal(firstDiff(quantizeQ4_0(x, rows, cols), q4), -1, 'q4_0 bytes');
});

/** The sections of fixtures/model/ggml-kquant.bin by name (see scripts/fixtures/model-ggml-kquant.py). */
function kquantFixture(): { rows: number; cols: number; section: (name: string) => Uint8Array; f32: (name: string) => Float32Array } {
  const dir = new URL('../../../fixtures/model/', import.meta.url);
  const meta = JSON.parse(readFileSync(new URL('ggml-kquant.json', dir), 'utf8')) as { rows: number; cols: number; sections: [string, number][] };
  const raw = new Uint8Array(readFileSync(new URL('ggml-kquant.bin', dir)));
  const at = new Map<string, [number, number]>();
  let o = 0;
  for (const [name, len] of meta.sections) { at.set(name, [o, len]); o += len; }
  assert.equal(o, raw.length, 'fixture size');
  const section = (name: string) => { const [s, len] = at.get(name)!; return raw.slice(s, s + len); };
  return { rows: meta.rows, cols: meta.cols, section, f32: (name) => new Float32Array(section(name).buffer) };
}

test("K-quants decode bit-exactly as llama.cpp's ggml (fixtures/model/ggml-kquant.*)", () => {
  const fx = kquantFixture();
  for (const [type, name] of [['q4_k', 'q4_K'], ['q5_k', 'q5_K'], ['q6_k', 'q6_K']] as const) {
    const got = dequantizeK(type, fx.section(name), fx.rows, fx.cols);
    const want = fx.f32(`${name}_decoded_f32`);
    let bad = -1;
    for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) { bad = i; break; }
    assert.equal(bad, -1, `${type}: value ${bad} is ${got[bad]}, ggml gives ${want[bad]}`);
    // and the decoded values are a quantization of the input (a sanity check on the fixture itself)
    const x = fx.f32('input_f32');
    let err = 0, mag = 0;
    for (let i = 0; i < x.length; i++) { err += (got[i] - x[i]) ** 2; mag += x[i] ** 2; }
    assert.ok(Math.sqrt(err / mag) < 0.1, `${type}: relative error ${Math.sqrt(err / mag)}`);
  }
  assert.throws(() => dequantizeK('q4_k', new Uint8Array(144), 1, 128), /q4_k: a row of 128 values is not a whole number of 256-value superblocks/);
  assert.throws(() => dequantizeK('q6_k', new Uint8Array(100), 1, 256), /dequantize q6_k: 100 bytes, \[1, 256\] needs 210/);
});

test("the test emulation of llama.cpp's Q8_K activation rounding is ggml's (fixtures/model/ggml-kquant.*)", () => {
  const fx = kquantFixture();
  const x = Float32Array.from(fx.f32('input_f32'));
  roundActivationsQ8_K(x, 1, x.length);
  const want = fx.f32('q8_K_decoded_f32');
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], want[i])) assert.fail(`value ${i}: ${x[i]}, ggml gives ${want[i]}`);
});

test("Q4_K quantization is bit-exact with ggml's quantize_row_q4_K_ref (fixtures/model/ggml-kquant.*)", () => {
  const fx = kquantFixture();
  const got = quantizeQ4_K(fx.f32('input_f32'), fx.rows, fx.cols);
  const want = fx.section('q4_K');
  let bad = -1;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) { bad = i; break; }
  assert.equal(bad, -1, `byte ${bad} (superblock ${Math.floor(bad / 144)}, offset ${bad % 144}): ${got[bad]} vs ggml ${want[bad]}`);
  assert.throws(() => quantizeQ4_K(new Float32Array(128), 1, 128), /q4_k: a row of 128 values is not a whole number of 256-value superblocks/);
});
