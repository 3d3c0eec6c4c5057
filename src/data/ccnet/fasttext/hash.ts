/**
 * fastText's string hash (src/dictionary.cc `hash`): 32-bit FNV-1a where each byte is first
 * sign-extended (the C++ code XORs `uint32_t(int8_t(c))`), so bytes >= 0x80 flip the high 24 bits
 * too. Getting this wrong silently changes every non-ASCII n-gram bucket.
 */
export function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5; // 2166136261
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    h ^= b < 0x80 ? b : b | 0xffffff00;
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

const TWO32 = 4294967296;

/**
 * One step of fastText's word n-gram hash `h = h * 116049371 + hashes[j]` on uint64, where
 * `hashes[j]` is a word hash stored as int32 and so sign-extended. State is [hi, lo] uint32s.
 */
export function wordNgramStep(state: Uint32Array, wordHash: number): void {
  const C = 116049371; // < 2^27
  const lo = state[1], hi = state[0];
  // lo * C = b * 2^16 + a with a, b < 2^43 (exact doubles); its high 32 bits without a 2^59 product:
  const a = (lo & 0xffff) * C;
  const b = (lo >>> 16) * C;
  const carryHi = Math.floor((b + Math.floor(a / 65536)) / 65536);
  let newHi = (Math.imul(hi, C) + carryHi) >>> 0;
  const prodLo = Math.imul(lo, C) >>> 0; // low 32 bits of lo * C
  // + sign-extended int32 word hash
  const sum = prodLo + (wordHash >>> 0);
  const carry = sum >= TWO32 ? 1 : 0;
  newHi = (newHi + ((wordHash | 0) < 0 ? 0xffffffff : 0) + carry) >>> 0;
  state[0] = newHi;
  state[1] = sum >>> 0;
}

/**
 * (hi * 2^32 + lo) mod m for 0 < m < 2^31, exactly (every intermediate stays below 2^53). `r` is
 * 2^32 mod m, which callers with a fixed m can pass precomputed.
 */
export function mod64(hi: number, lo: number, m: number, r = TWO32 % m): number {
  const x = hi % m;
  const t = (x * Math.floor(r / 65536)) % m;
  return (t * 65536 + x * (r % 65536) + lo) % m;
}
