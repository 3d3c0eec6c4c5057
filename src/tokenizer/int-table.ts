/**
 * A map from non-negative int32 keys to int32 values: open addressing with linear probing in
 * typed arrays, doubling when half full. For the BPE pair cache, where JS Map lookups of number
 * keys dominated the cost of segmenting a word.
 */
export class IntTable {
  private keys: Int32Array;
  private values: Int32Array;
  private shift: number;
  private mask: number;
  private count = 0;

  constructor(capacityHint = 16) {
    let bits = 4;
    while ((1 << bits) < capacityHint * 2) bits++;
    this.keys = new Int32Array(1 << bits).fill(-1);
    this.values = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  get size(): number { return this.count; }

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

  set(k: number, v: number): void {
    if (!Number.isInteger(k) || k < 0 || k > 0x7fffffff) throw new RangeError(`IntTable key ${k} is not a non-negative int32`);
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    let i = Math.imul(k, 0x9e3779b1) >>> this.shift;
    while (this.keys[i] !== -1 && this.keys[i] !== k) i = (i + 1) & this.mask;
    if (this.keys[i] === -1) this.count++;
    this.keys[i] = k;
    this.values[i] = v;
  }

  private grow(): void {
    const oldKeys = this.keys, oldValues = this.values;
    const bits = 32 - this.shift + 1;
    this.keys = new Int32Array(1 << bits).fill(-1);
    this.values = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.count = 0;
    for (let j = 0; j < oldKeys.length; j++) if (oldKeys[j] !== -1) this.set(oldKeys[j], oldValues[j]);
  }
}
