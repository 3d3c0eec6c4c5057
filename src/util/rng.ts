/**
 * A small, fast, seeded pseudo-random generator: xoshiro128** (Blackman & Vigna, 2018), 128 bits of
 * state, period 2^128 - 1, 32-bit outputs from integer ops only — so sequences are identical on
 * every platform and JS engine. Seeds are expanded with splitmix32 so that nearby seeds (0, 1, 2...)
 * give unrelated streams.
 *
 * The whole state (including the spare normal of Box–Muller) is exposed by getState()/setState(),
 * so a training checkpoint can save it and a resumed run continues the exact same stream.
 */

export interface RngState {
  /** The four 32-bit words of xoshiro128** (unsigned). */
  s: [number, number, number, number];
  /** The second Box–Muller normal not yet handed out, or null. */
  spare: number | null;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restarts the stream from a seed (any finite number; integers up to 2^53 are distinct seeds). */
  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    // Fold a 53-bit integer seed into 32 bits of each of two splitmix32 inputs.
    const lo = Math.trunc(seed) >>> 0;
    const hi = Math.trunc(Math.trunc(seed) / 4294967296) >>> 0;
    let x = (lo ^ Math.imul(hi, 0x9e3779b9)) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
    this.spare = null;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextU32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = (s1 ^ n2) >>> 0;
    this.s0 = (s0 ^ n3) >>> 0;
    this.s2 = (n2 ^ t) >>> 0;
    this.s3 = rotl(n3, 11) >>> 0;
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer uniformly in [0, n), without modulo bias (rejection sampling); n in [1, 2^32]. */
  intBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new Error(`Rng.intBelow: n must be an integer in [1, 2^32], got ${n}`);
    // Reject the top partial copy of [0, n) in [0, 2^32) so every value is equally likely.
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** A standard normal (mean 0, std 1) by the Box–Muller transform; pairs are used fully. */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.uniform(); // log(0) would be -inf
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills `out` with normals of the given mean and standard deviation. */
  fillNormal(out: { length: number; [i: number]: number }, std = 1, mean = 0): void {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
  }

  /** Fills `out` with uniforms in [lo, hi). */
  fillUniform(out: { length: number; [i: number]: number }, lo = 0, hi = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.uniform();
  }

  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  setState(state: RngState): void {
    const ok = state && Array.isArray(state.s) && state.s.length === 4 &&
      state.s.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      (state.spare === null || Number.isFinite(state.spare));
    if (!ok) throw new Error(`Rng.setState: expected { s: four unsigned 32-bit integers, spare: number | null }, got ${JSON.stringify(state)}`);
    if ((state.s[0] | state.s[1] | state.s[2] | state.s[3]) === 0) throw new Error('Rng.setState: the all-zero state is invalid for xoshiro128**');
    [this.s0, this.s1, this.s2, this.s3] = state.s;
    this.spare = state.spare;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
