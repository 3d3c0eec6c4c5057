/**
 * UTF-8 helpers with SentencePiece's exact validity rules (util.cc DecodeUTF8): a sequence is
 * valid when its lead byte announces its length, every trail byte is 10xxxxxx, the code point is
 * not overlong, not a surrogate and <= U+10FFFF. Anything else is invalid and consumes ONE byte,
 * which SentencePiece replaces by U+FFFD — so "\xE2\x82" becomes two U+FFFD, unlike the WHATWG
 * decoder (TextDecoder), which would give one.
 */

/** Length of the valid UTF-8 sequence starting at `pos`, or 0 when the byte there starts none. */
export function validUtf8Length(b: Uint8Array, pos: number, end = b.length): number {
  const c0 = b[pos];
  if (c0 < 0x80) return 1;
  const len = end - pos;
  if (len >= 2 && (c0 & 0xe0) === 0xc0) {
    const c1 = b[pos + 1];
    const cp = ((c0 & 0x1f) << 6) | (c1 & 0x3f);
    return (c1 & 0xc0) === 0x80 && cp >= 0x80 ? 2 : 0;
  }
  if (len >= 3 && (c0 & 0xf0) === 0xe0) {
    const c1 = b[pos + 1], c2 = b[pos + 2];
    const cp = ((c0 & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
    return (c1 & 0xc0) === 0x80 && (c2 & 0xc0) === 0x80 && cp >= 0x800 && (cp < 0xd800 || cp >= 0xe000) ? 3 : 0;
  }
  if (len >= 4 && (c0 & 0xf8) === 0xf0) {
    const c1 = b[pos + 1], c2 = b[pos + 2], c3 = b[pos + 3];
    const cp = ((c0 & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
    return (c1 & 0xc0) === 0x80 && (c2 & 0xc0) === 0x80 && (c3 & 0xc0) === 0x80 && cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
  }
  return 0;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Decodes bytes to a string, each invalid byte becoming its own U+FFFD (SentencePiece's rule). */
export function decodeUtf8Lenient(b: Uint8Array): string {
  let pos = 0;
  let start = 0;
  let out = '';
  while (pos < b.length) {
    if (b[pos] < 0x80) { pos++; continue; }
    const n = validUtf8Length(b, pos);
    if (n > 0) { pos += n; continue; }
    if (pos > start) out += decoder.decode(b.subarray(start, pos));
    out += '\uFFFD';
    pos++;
    start = pos;
  }
  if (start === 0) return decoder.decode(b);
  if (pos > start) out += decoder.decode(b.subarray(start, pos));
  return out;
}

/** Index of the first invalid byte per SentencePiece's rules, or -1 when `b` is valid UTF-8. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let pos = 0;
  while (pos < b.length) {
    if (b[pos] < 0x80) { pos++; continue; }
    const n = validUtf8Length(b, pos);
    if (n === 0) return pos;
    pos += n;
  }
  return -1;
}
