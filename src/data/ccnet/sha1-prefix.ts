/**
 * SHA-1 of a byte range, returning only the first 8 digest bytes read as a little-endian uint64
 * (split in two uint32 halves): exactly CCNet's line hash `np.frombuffer(sha1(line).digest()[:8],
 * dtype=uint64)`. Written out instead of calling node:crypto because the dedup stage hashes one short
 * line at a time, where crypto's per-call object setup costs more than the compression itself.
 */

const W = new Int32Array(80);
let block = new Uint8Array(128);

const bswap = (x: number): number => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/** Bytes `sha1Prefix64InPlace` needs in its buffer for a message of `len` bytes (with padding). */
export function paddedLength(len: number): number {
  return ((len + 8) >>> 6) * 64 + 64;
}

/** Writes the 64-bit prefix of sha1(bytes[start, end)) into out[outIndex*2], out[outIndex*2+1] (lo, hi). */
export function sha1Prefix64(bytes: Uint8Array, start: number, end: number, out: Uint32Array, outIndex: number): void {
  const len = end - start;
  if (block.length < paddedLength(len)) block = new Uint8Array(paddedLength(len) * 2);
  block.set(bytes.subarray(start, end), 0);
  sha1Prefix64InPlace(block, len, out, outIndex);
}

/**
 * The same over buf[0, len), padding in place: buf must hold paddedLength(len) bytes and its bytes
 * after `len` are overwritten. Saves a copy when the caller builds the message itself.
 */
export function sha1Prefix64InPlace(block: Uint8Array, len: number, out: Uint32Array, outIndex: number): void {
  const padded = paddedLength(len);
  block.fill(0, len, padded);
  block[len] = 0x80;
  const bitLen = len * 8;
  block[padded - 1] = bitLen & 0xff;
  block[padded - 2] = (bitLen >>> 8) & 0xff;
  block[padded - 3] = (bitLen >>> 16) & 0xff;
  block[padded - 4] = (bitLen >>> 24) & 0xff;
  block[padded - 5] = Math.floor(bitLen / 2 ** 32) & 0xff;

  let h0 = 0x67452301, h1 = 0xefcdab89 | 0, h2 = 0x98badcfe | 0, h3 = 0x10325476, h4 = 0xc3d2e1f0 | 0;
  for (let off = 0; off < padded; off += 64) {
    for (let i = 0; i < 16; i++) {
      const p = off + i * 4;
      W[i] = (block[p] << 24) | (block[p + 1] << 16) | (block[p + 2] << 8) | block[p + 3];
    }
    for (let i = 16; i < 80; i++) {
      const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
      W[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    // The four rounds of 20 as separate loops: no per-step branch on the round number.
    for (let i = 0; i < 20; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 20; i < 40; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 40; i < 60; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e - 0x70e44324 + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    for (let i = 60; i < 80; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e - 0x359d3e2a + W[i]) | 0;
      e = d; d = c; c = (b << 30) | (b >>> 2); b = a; a = t;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0; h4 = (h4 + e) | 0;
  }
  out[outIndex * 2] = bswap(h0);
  out[outIndex * 2 + 1] = bswap(h1);
}
