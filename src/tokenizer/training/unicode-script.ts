/**
 * The Unicode script of a code point, for SentencePiece's rule that a piece must not mix scripts
 * (split_by_unicode_script). SentencePiece ships its own table; we ask the JS engine's Unicode
 * data (\p{Script=…}), which agrees except for characters assigned after SentencePiece's table
 * was made. Characters the table lacks count as Common, as in SentencePiece.
 */

// Scripts in rough order of frequency, so the common cases are found after few tests.
const SCRIPTS = [
  'Latin', 'Common', 'Inherited', 'Han', 'Cyrillic', 'Greek', 'Arabic', 'Hiragana', 'Katakana', 'Hangul',
  'Hebrew', 'Devanagari', 'Thai', 'Bengali', 'Tamil', 'Telugu', 'Gujarati', 'Gurmukhi', 'Kannada',
  'Malayalam', 'Oriya', 'Sinhala', 'Armenian', 'Georgian', 'Ethiopic', 'Khmer', 'Lao', 'Myanmar',
  'Tibetan', 'Mongolian', 'Thaana', 'Syriac', 'Bopomofo', 'Yi', 'Cherokee', 'Canadian_Aboriginal',
  'Ogham', 'Runic', 'Tagalog', 'Hanunoo', 'Buhid', 'Tagbanwa', 'Limbu', 'Tai_Le', 'New_Tai_Lue',
  'Buginese', 'Balinese', 'Sundanese', 'Javanese', 'Lepcha', 'Ol_Chiki', 'Vai', 'Saurashtra', 'Kayah_Li',
  'Rejang', 'Cham', 'Tai_Tham', 'Tai_Viet', 'Meetei_Mayek', 'Batak', 'Brahmi', 'Braille', 'Coptic',
  'Glagolitic', 'Tifinagh', 'Syloti_Nagri', 'Phags_Pa', 'Nko', 'Samaritan', 'Mandaic', 'Lisu', 'Bamum',
  'Old_Italic', 'Gothic', 'Deseret', 'Shavian', 'Osmanya', 'Cypriot', 'Linear_B', 'Ugaritic',
  'Old_Persian', 'Kharoshthi', 'Phoenician', 'Cuneiform', 'Egyptian_Hieroglyphs', 'Adlam', 'Osage',
  'Unknown',
];
const SCRIPT_RES = SCRIPTS.map((s) => { try { return new RegExp(`^\\p{Script=${s}}$`, 'u'); } catch { return null; } });
const COMMON = SCRIPTS.indexOf('Common');
export const SCRIPT_INHERITED = SCRIPTS.indexOf('Inherited');
export const SCRIPT_HAN = SCRIPTS.indexOf('Han');
const HIRAGANA = SCRIPTS.indexOf('Hiragana');
const KATAKANA = SCRIPTS.indexOf('Katakana');
const UNKNOWN = SCRIPTS.indexOf('Unknown');
const OTHER = SCRIPTS.length;

const cache = new Map<number, number>();

/** A small integer naming the script of `cp`; Hiragana, Katakana and U+30FC count as Han (as SentencePiece merges them). */
export function scriptOf(cp: number): number {
  let s = cache.get(cp);
  if (s !== undefined) return s;
  const ch = String.fromCodePoint(cp);
  s = OTHER;
  for (let i = 0; i < SCRIPT_RES.length; i++) if (SCRIPT_RES[i]?.test(ch)) { s = i; break; }
  if (s === UNKNOWN) s = COMMON;
  // A script we do not list: give it its own id so it still differs from its neighbours.
  if (s === OTHER) s = OTHER + 1 + (cp >> 7);
  if (s === HIRAGANA || s === KATAKANA || cp === 0x30fc) s = SCRIPT_HAN;
  cache.set(cp, s);
  return s;
}
