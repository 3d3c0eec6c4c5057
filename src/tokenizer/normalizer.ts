/**
 * SentencePiece's normalizer (normalizer.cc Normalizer::Normalize), applied to a JS string:
 * user-defined symbols pass through untouched, every other character is rewritten by the
 * precompiled charsmap (longest match), invalid UTF-8 becomes U+FFFD one byte at a time, then the
 * whitespace rules apply: remove_extra_whitespaces, add_dummy_prefix, escape_whitespaces (' ' →
 * U+2581). JS strings are converted to UTF-8 the way TextEncoder does (a lone surrogate becomes
 * U+FFFD), which is what a JS caller handing such a string to SentencePiece would pass.
 */
import { PrecompiledCharsMap } from './charsmap.js';
import { NORMALIZER_DEFAULTS, type NormalizerSpec } from './model-proto.js';
import { validUtf8Length } from './utf8.js';

export const SPACE_SYMBOL = '\u2581';
const SPACE_SYMBOL_BYTES = [0xe2, 0x96, 0x81];
const REPLACEMENT = new Uint8Array([0xef, 0xbf, 0xbd]);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class Normalizer {
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
  private readonly charsMap: PrecompiledCharsMap | null;
  /** User-defined symbols as UTF-8, grouped by first byte, longest first. */
  private readonly userSymbols = new Map<number, Uint8Array[]>();
  private readonly fast: boolean;

  constructor(spec: NormalizerSpec, userDefinedSymbols: readonly string[], private readonly treatWhitespaceAsSuffix: boolean) {
    this.addDummyPrefix = spec.addDummyPrefix ?? NORMALIZER_DEFAULTS.addDummyPrefix;
    this.removeExtraWhitespaces = spec.removeExtraWhitespaces ?? NORMALIZER_DEFAULTS.removeExtraWhitespaces;
    this.escapeWhitespaces = spec.escapeWhitespaces ?? NORMALIZER_DEFAULTS.escapeWhitespaces;
    this.charsMap = spec.precompiledCharsmap && spec.precompiledCharsmap.length > 0 ? new PrecompiledCharsMap(spec.precompiledCharsmap) : null;
    for (const s of userDefinedSymbols) {
      const b = encoder.encode(s);
      if (b.length === 0) continue;
      const list = this.userSymbols.get(b[0]) ?? [];
      list.push(b);
      list.sort((x, y) => y.length - x.length);
      this.userSymbols.set(b[0], list);
    }
    // Without a charsmap every character maps to itself; only spaces inside a user-defined
    // symbol could then behave differently from plain string rules.
    this.fast = this.charsMap === null && !userDefinedSymbols.some((s) => s.includes(' '));
  }

  normalize(text: string): string {
    return this.fast ? this.normalizeIdentity(text) : this.normalizeBytes(encoder.encode(text));
  }

  private get wsString(): string { return this.escapeWhitespaces ? SPACE_SYMBOL : ' '; }

  /** The identity-rule path, on strings (the common case: Meta's model). */
  private normalizeIdentity(text: string): string {
    let s = toWellFormed(text);
    if (this.removeExtraWhitespaces) {
      let i = 0;
      while (i < s.length && s.charCodeAt(i) === 0x20) i++;
      s = s.slice(i).replace(/ {2,}/g, ' ');
    }
    if (s.length === 0) return '';
    const ws = this.wsString;
    if (this.escapeWhitespaces) s = s.replaceAll(' ', SPACE_SYMBOL);
    if (!this.treatWhitespaceAsSuffix && this.addDummyPrefix) s = ws + s;
    if (this.removeExtraWhitespaces) {
      let end = s.length;
      while (end > 0 && s.endsWith(ws, end)) end -= ws.length;
      s = s.slice(0, end);
    }
    if (this.treatWhitespaceAsSuffix && this.addDummyPrefix) s += ws;
    return s;
  }

  /** The general path on UTF-8 bytes: user-defined symbols, charsmap, invalid bytes. */
  normalizeBytes(input: Uint8Array): string {
    const out: number[] = [];
    let src: Uint8Array = input;
    let s = 0, e = 0;
    const prefix = (pos: number): number => {
      const users = this.userSymbols.get(input[pos]);
      if (users) {
        for (const u of users) {
          if (u.length > input.length - pos) continue;
          let ok = true;
          for (let k = 1; k < u.length; k++) if (input[pos + k] !== u[k]) { ok = false; break; }
          if (ok) { src = input; s = pos; e = pos + u.length; return u.length; }
        }
      }
      if (this.charsMap) {
        const m = this.charsMap.longestMatch(input, pos, input.length);
        if (m) { src = this.charsMap.replacementBytes; s = m[1]; e = m[2]; return m[0]; }
      }
      const n = validUtf8Length(input, pos);
      if (n === 0) { src = REPLACEMENT; s = 0; e = 3; return 1; }
      src = input; s = pos; e = pos + n; return n;
    };
    let pos = 0;
    if (this.removeExtraWhitespaces) {
      while (pos < input.length) {
        const consumed = prefix(pos);
        if (!(e - s === 1 && src[s] === 0x20)) break;
        pos += consumed;
      }
    }
    if (pos >= input.length) return '';
    const addWs = () => { if (this.escapeWhitespaces) out.push(...SPACE_SYMBOL_BYTES); else out.push(0x20); };
    if (!this.treatWhitespaceAsSuffix && this.addDummyPrefix) addWs();
    let isPrevSpace = this.removeExtraWhitespaces;
    while (pos < input.length) {
      const consumed = prefix(pos);
      while (isPrevSpace && s < e && src[s] === 0x20) s++;
      if (s < e) {
        for (let k = s; k < e; k++) {
          if (this.escapeWhitespaces && src[k] === 0x20) out.push(...SPACE_SYMBOL_BYTES);
          else out.push(src[k]);
        }
        isPrevSpace = src[e - 1] === 0x20;
      }
      pos += consumed;
      if (!this.removeExtraWhitespaces) isPrevSpace = false;
    }
    if (this.removeExtraWhitespaces) {
      const ws = this.escapeWhitespaces ? SPACE_SYMBOL_BYTES : [0x20];
      const endsWithWs = () => out.length >= ws.length && ws.every((b, k) => out[out.length - ws.length + k] === b);
      while (endsWithWs()) out.length -= ws.length;
    }
    if (this.treatWhitespaceAsSuffix && this.addDummyPrefix) addWs();
    return decoder.decode(Uint8Array.from(out));
  }
}

/** Lone surrogates → U+FFFD, as TextEncoder does (String.prototype.toWellFormed where available). */
function toWellFormed(s: string): string {
  const native = (s as unknown as { toWellFormed?: () => string }).toWellFormed;
  if (native) return native.call(s);
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
