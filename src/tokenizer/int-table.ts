/**
 * A fixed map from non-negative int32 keys to int32 values: open addressing with linear probing
 * in typed arrays. For the BPE pair table, where JS Map lookups of absent number keys dominated
 * the cost of segmenting a word.
 */
export class IntTable {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly shift: number;
  private readonly mask: number;

  constructor(entries: Iterable<[number, number]>, count: number) {
    let bits = 4;
    while ((1 << bits) < count * 2) bits++;
    this.keys = new Int32Array(1 << bits).fill(-1);
    this.values = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    for (const [k, v] of entries) {
      if (!Number.isInteger(k) || k < 0 || k > 0x7fffffff) throw new RangeError(`IntTable key ${k} is not a non-negative int32`);
      let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
      while (this.keys[i] !== -1 && this.keys[i] !== k) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.values[i] = v;
    }
  }

  /** The value of `k`, or `missing`. */
  get(k: number, missing: number): number {
    let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const key = this.keys[i];
      if (key === k) return this.values[i];
      if (key === -1) return missing;
      i = (i + 1) & this.mask;
    }
  }
}
