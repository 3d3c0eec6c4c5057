/**
 * CCNet's text normalizers (cc_net/text_normalizer.py), reimplemented to give byte-identical output:
 *
 * - `normalizeForDedup`: what line hashes are computed on. Strip, lowercase, every Unicode decimal
 *   digit → "0", then delete CCNet's list of Unicode punctuation and the C0/C1 control characters.
 *   (ASCII punctuation stays: CCNet only removes the CJK/typographic marks of its table.)
 * - `normalizeForLm`: what the KenLM models see (CCNet's `normalize` with its defaults): strip,
 *   lowercase, strip accents (NFD then drop combining marks, left decomposed as CCNet does), digits
 *   → "0", Unicode punctuation *replaced* by its ASCII twin, control characters deleted.
 */

/** CCNet's UNICODE_PUNCT table: key → ASCII replacement. */
export const UNICODE_PUNCT: Readonly<Record<string, string>> = {
  '，': ',', '。': '.', '、': ',', '„': '"', '”': '"', '“': '"', '«': '"', '»': '"', '１': '"',
  '」': '"', '「': '"', '《': '"', '》': '"', '´': "'", '∶': ':', '：': ':', '？': '?', '！': '!',
  '（': '(', '）': ')', '；': ';', '–': '-', '—': ' - ', '．': '. ', '～': '~', '’': "'",
  '…': '...', '━': '-', '〈': '<', '〉': '>', '【': '[', '】': ']', '％': '%', '►': '-',
};

const escapeClass = (s: string): string => s.replace(/[\\\]\[^-]/g, (c) => '\\' + c);
const PUNCT_CLASS = escapeClass(Object.keys(UNICODE_PUNCT).join(''));
// Control characters 0-31 and 127-159, the NON_PRINTING_CHARS_RE of CCNet.
const CONTROL_CLASS = '\\u0000-\\u001f\\u007f-\\u009f';
const PUNCT_OR_CONTROL_RE = new RegExp(`[${PUNCT_CLASS}${CONTROL_CLASS}]`, 'gu');
const PUNCT_RE = new RegExp(`[${PUNCT_CLASS}]`, 'gu');
const CONTROL_RE = new RegExp(`[${CONTROL_CLASS}]`, 'gu');
// Python's `\d` on str is any Unicode decimal digit (category Nd).
const DIGIT_RE = /\p{Nd}/gu;
const COMBINING_MARK_RE = /\p{Mn}/gu;
// Python's str.strip() whitespace (str.isspace): unlike JS trim() it includes \x1c-\x1f and \x85
// and excludes U+FEFF.
const PY_SPACE = '\\t\\n\\v\\f\\r \\u001c-\\u001f\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP_RE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');
// Fast path: a line of printable ASCII only needs strip + lowercase + digit replacement.
const NON_SIMPLE_ASCII_RE = /[^\x20-\x7e]/;

export function pyStrip(s: string): string {
  return s.replace(PY_STRIP_RE, '');
}

export function normalizeForDedup(line: string): string {
  let s = pyStrip(line);
  if (s.length === 0) return s;
  s = s.toLowerCase();
  if (!NON_SIMPLE_ASCII_RE.test(s)) return s.replace(/[0-9]/g, '0');
  return s.replace(DIGIT_RE, '0').replace(PUNCT_OR_CONTROL_RE, '');
}

export function stripAccents(s: string): string {
  return s.normalize('NFD').replace(COMBINING_MARK_RE, '');
}

export function replaceUnicodePunct(s: string): string {
  return s.replace(PUNCT_RE, (c) => UNICODE_PUNCT[c] ?? c);
}

export function normalizeForLm(line: string): string {
  let s = pyStrip(line);
  if (s.length === 0) return s;
  s = s.toLowerCase();
  if (!NON_SIMPLE_ASCII_RE.test(s)) return s.replace(/[0-9]/g, '0');
  s = stripAccents(s);
  s = s.replace(DIGIT_RE, '0');
  s = replaceUnicodePunct(s);
  return s.replace(CONTROL_RE, '');
}
