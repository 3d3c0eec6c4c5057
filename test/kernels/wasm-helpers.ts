// Shared by the wasm kernel tests: seeded inputs, backends at several thread counts, copies into
// backend memory, and comparisons that report the worst element.
import assert from 'node:assert/strict';
import type { Arena, Backend } from '../../src/kernels/backend.js';
import { createWasmBackend } from '../../src/kernels/wasm.js';

export type WasmBackend = Backend & { readonly relaxedSimd: boolean; readonly memoryBytes: number };

/** mulberry32: a small deterministic generator in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, r: () => number, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (r() * 2 - 1) * scale;
  return x;
}

export const THREAD_COUNTS = [1, 2, 3] as const;

/**
 * The relaxed-SIMD build at 1, 2 and 3 threads (results must agree bitwise), then the plain-SIMD
 * build at 2 threads (checked against the reference only: no fused multiply-add, other rounding),
 * then the relaxed build at 2 threads with the default small-call cut-over (small calls on the
 * caller alone: must agree bitwise too). The first four use every thread even for tiny shapes.
 */
export async function makeBackends(): Promise<WasmBackend[]> {
  const relaxed = await Promise.all(THREAD_COUNTS.map((threads) => createWasmBackend({ threads, serialBelow: 0 })));
  return [...relaxed, await createWasmBackend({ threads: 2, noRelaxedSimd: true, serialBelow: 0 }), await createWasmBackend({ threads: 2 })];
}

/** Whether backends[t] must reproduce backends[0] bitwise (same build, another thread count). */
export function sameBuild(backends: WasmBackend[], t: number): boolean {
  return backends[t].relaxedSimd === backends[0].relaxedSimd;
}

/** An arena big enough for `bytes`, and copies of host arrays into it. */
export class Staging {
  readonly arena: Arena;
  private n = 0;
  constructor(be: Backend, bytes: number) { this.arena = be.createArena(bytes + (1 << 16)); }
  f32(src: Float32Array | number): Float32Array {
    const len = typeof src === 'number' ? src : src.length;
    const v = this.arena.f32(`t${this.n++}`, [len]);
    if (typeof src !== 'number') v.set(src);
    return v;
  }
  i32(src: Int32Array): Int32Array {
    const v = this.arena.i32(`t${this.n++}`, [src.length]);
    v.set(src);
    return v;
  }
  u8(src: Uint8Array): Uint8Array {
    const v = this.arena.u8(`t${this.n++}`, src.length);
    v.set(src);
    return v;
  }
  u16(src: Uint16Array): Uint16Array {
    const v = this.arena.u16(`t${this.n++}`, [src.length]);
    v.set(src);
    return v;
  }
}

/** |actual - expected| <= atol + rtol * |expected| everywhere; the message names the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  assert.equal(actual.length >= expected.length, true, `${what}: length ${actual.length} < ${expected.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const excess = d - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Bitwise equality (results that must not depend on the thread count). */
export function assertIdentical(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}
