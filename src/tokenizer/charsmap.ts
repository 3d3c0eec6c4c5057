/**
 * SentencePiece's precompiled character map (normalizer_spec.precompiled_charsmap), the compiled
 * form of a normalization rule set such as nmt_nfkc:
 *   uint32 LE trie_size | Darts-clone double array (trie_size bytes, uint32 units) | normalized
 *   strings, each NUL-terminated.
 * The trie maps a UTF-8 byte string to the offset of its replacement. The normalizer takes the
 * longest match at each position (normalizer.cc NormalizePrefix).
 */

export class CharsMapError extends Error {}

export class PrecompiledCharsMap {
  private readonly units: Uint32Array;
  private readonly normalized: Uint8Array;

  constructor(blob: Uint8Array) {
    if (blob.length <= 4) throw new CharsMapError('precompiled_charsmap is broken: shorter than its 4-byte header');
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.length);
    const trieSize = dv.getUint32(0, true);
    if (trieSize > blob.length - 4) throw new CharsMapError(`precompiled_charsmap is broken: trie size ${trieSize} exceeds the ${blob.length - 4} bytes that follow`);
    if (trieSize % 4 !== 0) throw new CharsMapError(`precompiled_charsmap is broken: trie size ${trieSize} is not a multiple of 4`);
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = dv.getUint32(4 + i * 4, true);
    this.normalized = blob.slice(4 + trieSize);
  }

  /**
   * Longest rule matching `input` at `pos` (Darts commonPrefixSearch, at most 32 results as in
   * SentencePiece). Returns [matchedLength, start, end] of the replacement in `replacementBytes`,
   * or null when no rule matches.
   */
  longestMatch(input: Uint8Array, pos: number, end: number): [number, number, number] | null {
    const units = this.units;
    if (units.length === 0) return null;
    let nodePos = 0;
    let unit = units[0];
    nodePos ^= offsetOf(unit);
    let bestLen = 0;
    let bestValue = 0;
    let found = 0;
    for (let i = pos; i < end; i++) {
      const c = input[i];
      nodePos ^= c;
      if (nodePos >= units.length) break;
      unit = units[nodePos];
      // label() includes the leaf bit (bit 31), so a leaf unit never matches a byte label.
      if ((unit & 0x800000ff) >>> 0 !== c) break;
      nodePos ^= offsetOf(unit);
      if ((unit >>> 8) & 1) {
        // has_leaf: the value sits in the unit at the new position.
        if (found < 32) {
          const len = i + 1 - pos;
          if (bestLen === 0 || len > bestLen) { bestLen = len; bestValue = units[nodePos] & 0x7fffffff; }
        }
        found++;
      }
    }
    if (bestLen === 0) return null;
    if (bestValue >= this.normalized.length) throw new CharsMapError(`precompiled_charsmap is broken: replacement offset ${bestValue} is outside its ${this.normalized.length} bytes`);
    let e = bestValue;
    while (e < this.normalized.length && this.normalized[e] !== 0) e++;
    return [bestLen, bestValue, e];
  }

  get replacementBytes(): Uint8Array { return this.normalized; }
}

function offsetOf(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}
