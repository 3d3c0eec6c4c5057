import type { Arena } from './backend.js';

const ALIGN = 64; // bytes: a cache line, and a multiple of every SIMD width we use

/**
 * A bump allocator over one region of a buffer (an ArrayBuffer for the reference backend, a
 * WebAssembly memory for the wasm backend), handing out named, zeroed, aligned views — llm.c's
 * "one flat buffer, tensors are views" with the names kept for dumps and error messages.
 */
export class BumpArena implements Arena {
  private used = 0;
  readonly views: { name: string; shape: readonly number[]; view: ArrayBufferView }[] = [];

  private released = false;

  constructor(
    readonly buffer: ArrayBufferLike,
    readonly byteOffset: number,
    readonly bytes: number,
    readonly label = 'arena',
    /** called once by release(): the owner takes the region back */
    private readonly onRelease?: () => void,
  ) {
    if (byteOffset % ALIGN !== 0) throw new Error(`${label}: byteOffset ${byteOffset} is not ${ALIGN}-byte aligned`);
    if (byteOffset + bytes > buffer.byteLength) {
      throw new Error(`${label}: region [${byteOffset}, ${byteOffset + bytes}) exceeds its buffer of ${buffer.byteLength} bytes`);
    }
    this.capacity = bytes;
  }

  get bytesUsed(): number { return this.used; }

  /**
   * Bytes the region really holds. Equal to `bytes` here; a subclass that stores tensors wider
   * than their type says (Float64Arena, reference64.ts) reports `bytes` in float32 terms and holds more.
   */
  protected capacity: number;

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease?.();
  }

  /** Reserves `nbytes` (rounded up to ALIGN), zeroed; returns its byte offset in `buffer`. */
  protected take(name: string, nbytes: number): number {
    if (this.released) throw new Error(`${this.label}: allocating '${name}' in a released arena`);
    const start = this.used;
    const end = start + Math.ceil(nbytes / ALIGN) * ALIGN;
    if (end > this.capacity) {
      throw new Error(`${this.label}: out of space allocating '${name}' (${nbytes} bytes): ${this.used} of ${this.capacity} bytes used`);
    }
    this.used = end;
    new Uint8Array(this.buffer, this.byteOffset + start, nbytes).fill(0);
    return this.byteOffset + start;
  }

  /** Elements of a tensor of `shape`, after checking every dimension is a non-negative integer. */
  protected check(name: string, shape: readonly number[]): number {
    let n = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`${this.label}: tensor '${name}' has invalid shape [${shape.join(', ')}]`);
      n *= d;
    }
    return n;
  }

  f32(name: string, shape: readonly number[]): Float32Array {
    const n = this.check(name, shape);
    const view = new Float32Array(this.buffer, this.take(name, n * 4), n);
    this.views.push({ name, shape, view });
    return view;
  }

  i32(name: string, shape: readonly number[]): Int32Array {
    const n = this.check(name, shape);
    const view = new Int32Array(this.buffer, this.take(name, n * 4), n);
    this.views.push({ name, shape, view });
    return view;
  }

  u16(name: string, shape: readonly number[]): Uint16Array {
    const n = this.check(name, shape);
    const view = new Uint16Array(this.buffer, this.take(name, n * 2), n);
    this.views.push({ name, shape, view });
    return view;
  }

  u8(name: string, bytes: number): Uint8Array {
    this.check(name, [bytes]);
    const view = new Uint8Array(this.buffer, this.take(name, bytes), bytes);
    this.views.push({ name, shape: [bytes], view });
    return view;
  }
}

/** Bytes an arena needs for tensors of these element counts and element sizes (alignment included). */
export function arenaBytes(tensors: Iterable<{ numel: number; bytesPerElement: number }>): number {
  let total = 0;
  for (const t of tensors) total += Math.ceil((t.numel * t.bytesPerElement) / ALIGN) * ALIGN;
  return total;
}
