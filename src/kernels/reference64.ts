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
import { BumpArena } from './arena.js';

export class Float64Arena extends BumpArena {
  constructor(bytes: number, label = 'arena(f64)') {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`${label}: invalid arena size ${bytes}`);
    super(new ArrayBuffer(2 * bytes), 0, bytes, label);
    this.capacity = 2 * bytes;
  }

  /** A float64 view behind the f32 type (8 bytes per element); every other view is as in BumpArena. */
  override f32(name: string, shape: readonly number[]): Float32Array {
    const n = this.check(name, shape);
    const view = new Float64Array(this.buffer, this.take(name, n * 8), n);
    this.views.push({ name, shape, view });
    return view as unknown as Float32Array; // the documented cast: float64 storage behind the f32 type
  }
}

/** A float64 scratch/test array typed as Float32Array (for tests building inputs outside an arena). */
export function f64Array(n: number): Float32Array {
  return new Float64Array(n) as unknown as Float32Array;
}
