/**
 * CCNet's FlatHashSet: a set of 64-bit line hashes with one flag per key, "added more than once".
 * Open addressing with linear probing over typed arrays (8 bytes of key + 1 byte of flag per slot,
 * load factor <= 0.5), so 10 M hashes cost 180-360 MB (depending on where the last doubling fell)
 * instead of a JS Map's ~1 GB.
 *
 * The key 0 marks an empty slot; CCNet itself treats hash 0 as "line removed", so a real line
 * whose hash prefix is 0 (probability 2^-64) is treated the same way.
 *
 * File format (little-endian), written atomically:
 *   "CCNH" | u32 version=1 | f64 count | count × (u32 lo, u32 hi) | count × u8 flag
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const MAGIC = 0x484e4343; // "CCNH" read as little-endian u32
const VERSION = 1;

export class FlatHashSet {
  private keys: Uint32Array; // [lo, hi] per slot
  private flags: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1 << 16) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Uint32Array(cap * 2);
    this.flags = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table (for memory reports). */
  get byteLength(): number {
    return this.keys.byteLength + this.flags.byteLength;
  }

  private slot(lo: number, hi: number): number {
    // The hash is already uniform (SHA-1), so its low bits index the table directly.
    let i = (lo ^ hi) & this.mask;
    const keys = this.keys;
    for (;;) {
      const klo = keys[i * 2], khi = keys[i * 2 + 1];
      if ((klo === lo && khi === hi) || (klo === 0 && khi === 0)) return i;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys, oldFlags = this.flags;
    const cap = oldFlags.length * 2;
    this.keys = new Uint32Array(cap * 2);
    this.flags = new Uint8Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < oldFlags.length; i++) {
      const lo = oldKeys[i * 2], hi = oldKeys[i * 2 + 1];
      if (lo === 0 && hi === 0) continue;
      const j = this.slot(lo, hi);
      this.keys[j * 2] = lo;
      this.keys[j * 2 + 1] = hi;
      this.flags[j] = oldFlags[i];
    }
  }

  /** 0 = absent, 1 = present once, 2 = present more than once (CCNet's `__getitem__` is state === 2). */
  state(lo: number, hi: number): 0 | 1 | 2 {
    if (lo === 0 && hi === 0) return 0;
    const i = this.slot(lo, hi);
    if (this.keys[i * 2] === 0 && this.keys[i * 2 + 1] === 0) return 0;
    return this.flags[i] ? 2 : 1;
  }

  /**
   * CCNet's `add` for one key: returns whether it was already present; the flag becomes "more than
   * once" when it was. `flag` lets `merge` carry a flag loaded from another set.
   */
  add(lo: number, hi: number, flag = 0): boolean {
    if (lo === 0 && hi === 0) return false;
    if ((this.count + 1) * 2 > this.flags.length) this.grow();
    const i = this.slot(lo, hi);
    const present = !(this.keys[i * 2] === 0 && this.keys[i * 2 + 1] === 0);
    if (!present) {
      this.keys[i * 2] = lo;
      this.keys[i * 2 + 1] = hi;
      this.count++;
    }
    this.flags[i] = present || flag ? 1 : 0;
    return present;
  }

  /** Adds every (lo, hi) pair of `hashes` (CCNet's batched add). */
  addAll(hashes: Uint32Array, n = hashes.length >>> 1): void {
    for (let k = 0; k < n; k++) this.add(hashes[k * 2], hashes[k * 2 + 1]);
  }

  /** Merges another set: keys in both, or flagged in either, become "more than once" (CCNet's load). */
  merge(other: FlatHashSet): void {
    other.forEach((lo, hi, flag) => this.add(lo, hi, flag ? 1 : 0));
  }

  forEach(fn: (lo: number, hi: number, moreThanOnce: boolean) => void): void {
    for (let i = 0; i < this.flags.length; i++) {
      const lo = this.keys[i * 2], hi = this.keys[i * 2 + 1];
      if (lo !== 0 || hi !== 0) fn(lo, hi, this.flags[i] === 1);
    }
  }

  serialize(): Buffer {
    const n = this.count;
    const buf = Buffer.alloc(16 + n * 9);
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(VERSION, 4);
    buf.writeDoubleLE(n, 8);
    let k = 0;
    this.forEach((lo, hi, flag) => {
      buf.writeUInt32LE(lo, 16 + k * 8);
      buf.writeUInt32LE(hi, 20 + k * 8);
      buf[16 + n * 8 + k] = flag ? 1 : 0;
      k++;
    });
    return buf;
  }

  /** Writes the set to `path` atomically (temp file + rename). */
  dump(path: string): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, this.serialize());
    renameSync(tmp, path);
  }

  /** Merges a file written by `dump` into this set (keys seen in several files become "more than once"). */
  load(path: string): void {
    const buf = readFileSync(path);
    const where = (what: string) => `${path}: ${what}; expected a hash set written by FlatHashSet.dump (rerun the hashing pass)`;
    if (buf.length < 16 || buf.readUInt32LE(0) !== MAGIC) throw new Error(where('bad magic at byte 0'));
    if (buf.readUInt32LE(4) !== VERSION) throw new Error(where(`unsupported version ${buf.readUInt32LE(4)} at byte 4`));
    const n = buf.readDoubleLE(8);
    if (!Number.isInteger(n) || n < 0 || buf.length !== 16 + n * 9) {
      throw new Error(where(`count ${n} at byte 8 does not match file size ${buf.length}`));
    }
    for (let k = 0; k < n; k++) {
      this.add(buf.readUInt32LE(16 + k * 8), buf.readUInt32LE(20 + k * 8), buf[16 + n * 8 + k]);
    }
  }

  static fromFiles(paths: readonly string[]): FlatHashSet {
    const s = new FlatHashSet();
    for (const p of paths) s.load(p);
    return s;
  }
}
