/**
 * Which strings may become pieces (SentencePiece's TrainerInterface::IsValidSentencePiece): not
 * too long, no <unk> placeholder (U+2585), NUL, tab or space, "▁" only where whitespace rules
 * allow, at most one script (Hiragana/Katakana count as Han, combining marks inherit the script
 * before them), and with split_digits no digit inside a longer piece.
 */
import { SCRIPT_INHERITED, scriptOf } from './unicode-script.js';

export const WS_CHAR = 0x2581;       // ▁
export const UNK_CHAR = 0x2585;      // ▅ stands for characters outside the alphabet
export const BOUNDARY_CHAR = 0x09;   // tab: where meta pieces were cut out of the text

export interface PieceRules {
  maxPieceLength: number;
  splitByUnicodeScript: boolean;
  splitByNumber: boolean;
  splitByWhitespace: boolean;
  splitDigits: boolean;
  treatWhitespaceAsSuffix: boolean;
  allowWhitespaceOnlyPieces: boolean;
}

const ANY = -1;

export function isDecimalDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0xff10 && c <= 0xff19);
}

export function isValidPiece(cps: readonly number[], r: PieceRules): boolean {
  const n = cps.length;
  if (n === 0 || n > r.maxPieceLength) return false;
  let prev = ANY;
  let allWs = true;
  for (const c of cps) if (c !== WS_CHAR) { allWs = false; break; }
  for (let pos = 0; pos < n; pos++) {
    const c = cps[pos];
    if (c === UNK_CHAR || c === 0 || c === BOUNDARY_CHAR || c === 0x20) return false;
    if (c >= 0xd800 && c <= 0xdfff) return false;
    if (c === WS_CHAR) {
      if (!r.allowWhitespaceOnlyPieces || !allWs) {
        if (r.treatWhitespaceAsSuffix) {
          if ((r.splitByWhitespace && pos < n - 1) || (!r.splitByWhitespace && pos < n - 1 && pos === 0)) return false;
        } else if ((r.splitByWhitespace && pos > 0) || (!r.splitByWhitespace && pos > 0 && pos === n - 1)) {
          return false;
        }
      }
      continue;
    }
    let s = scriptOf(c);
    if (s === SCRIPT_INHERITED) s = prev;
    if (!r.splitByNumber && isDecimalDigit(c)) s = ANY;
    if (r.splitDigits && isDecimalDigit(c) && n > 1) return false;
    if (r.splitByUnicodeScript && s !== ANY && prev !== ANY && prev !== s) return false;
    prev = s;
  }
  return true;
}
