/**
 * The float64 arena of the reference backend's 'f64' precision: it hands out Float64Array views
 * TYPED as Float32Array, so the same model code (written against Float32Array and the Backend
 * interface) runs entirely in double precision. This is a contained cast used ONLY by gradient
 * checks, where float32 rounding would drown the finite-difference signal. Every reference kernel
 * reads and writes through plain indexing, which behaves identically on both array types.
 *
 * Sizes stay in float32 terms: an arena created for `bytes` (computed by callers as 4 bytes per
 * float) reserves 2*bytes, and each f32 tensor takes 8 bytes per element. Since
 * ceil(8n/64)*64 <= 2*ceil(4n/64)*64, anything that fits the float32 budget fits here.
 */
import type { Arena } from './backend.js';

const ALIGN = 64;

export class Float64Arena implements Arena {
  private used = 0;
  private readonly buffer: ArrayBuffer;
  readonly views: { name: string; shape: readonly number[]; view: ArrayBufferView }[] = [];

  constructor(readonly bytes: number, readonly label = 'arena(f64)') {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`${label}: invalid arena size ${bytes}`);
    this.buffer = new ArrayBuffer(2 * bytes);
  }

  get bytesUsed(): number { return this.used; }

  private take(name: string, nbytes: number): number {
    const start = this.used;
    const end = start + Math.ceil(nbytes / ALIGN) * ALIGN;
    if (end > this.buffer.byteLength) {
      throw new Error(`${this.label}: out of space allocating '${name}' (${nbytes} bytes in float64): ` +
        `${this.used} of ${this.buffer.byteLength} bytes used`);
    }
    this.used = end;
    return start; // a fresh ArrayBuffer is zeroed and never reused
  }

  private count(name: string, shape: readonly number[]): number {
    let n = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`${this.label}: tensor '${name}' has invalid shape [${shape.join(', ')}]`);
      n *= d;
    }
    return n;
  }

  f32(name: string, shape: readonly number[]): Float32Array {
    const n = this.count(name, shape);
    const view = new Float64Array(this.buffer, this.take(name, n * 8), n);
    this.views.push({ name, shape, view });
    return view as unknown as Float32Array; // the documented cast: float64 storage behind the f32 type
  }

  i32(name: string, shape: readonly number[]): Int32Array {
    const n = this.count(name, shape);
    const view = new Int32Array(this.buffer, this.take(name, n * 4), n);
    this.views.push({ name, shape, view });
    return view;
  }

  u16(name: string, shape: readonly number[]): Uint16Array {
    const n = this.count(name, shape);
    const view = new Uint16Array(this.buffer, this.take(name, n * 2), n);
    this.views.push({ name, shape, view });
    return view;
  }

  u8(name: string, bytes: number): Uint8Array {
    this.count(name, [bytes]);
    const view = new Uint8Array(this.buffer, this.take(name, bytes), bytes);
    this.views.push({ name, shape: [bytes], view });
    return view;
  }
}

/** A float64 scratch/test array typed as Float32Array (for tests building inputs outside an arena). */
export function f64Array(n: number): Float32Array {
  return new Float64Array(n) as unknown as Float32Array;
}
