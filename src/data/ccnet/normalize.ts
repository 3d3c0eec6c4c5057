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

/** Python's str.isspace() for one UTF-16 unit (all Unicode spaces are in the BMP). */
function isPySpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

export function pyStrip(s: string): string {
  let a = 0, b = s.length;
  while (a < b && isPySpace(s.charCodeAt(a))) a++;
  while (b > a && isPySpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** The regex form of pyStrip (tests check the loop against it). */
export function pyStripSlow(s: string): string {
  return s.replace(PY_STRIP_RE, '');
}

// Per-UTF-16-unit classes for the one-pass normalizers (BMP; astral characters use the regexes).
const DIGIT = 1, MARK = 2, DROP = 4, PUNCT = 8;
const CLASS = new Uint8Array(0x10000);
const PUNCT_REPLACEMENT: string[] = [];
(() => {
  const digit = /^\p{Nd}$/u, mark = /^\p{Mn}$/u;
  for (let c = 0; c < 0x10000; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue; // surrogates: handled per code point below
    const ch = String.fromCharCode(c);
    if (digit.test(ch)) CLASS[c] |= DIGIT;
    if (mark.test(ch)) CLASS[c] |= MARK;
    if (c < 32 || (c >= 127 && c < 160)) CLASS[c] |= DROP;
  }
  for (const [k, v] of Object.entries(UNICODE_PUNCT)) {
    CLASS[k.charCodeAt(0)] |= PUNCT;
    PUNCT_REPLACEMENT[k.charCodeAt(0)] = v;
  }
})();

/**
 * One pass over an already stripped, lowercased (and for the LM, NFD-decomposed) line: digits →
 * "0", control characters dropped, CCNet's punctuation dropped (`removePunct`) or replaced, and
 * combining marks dropped (`dropMarks`). Equivalent to the regex chain of CCNet, without building
 * an intermediate string per step.
 */
function classPass(s: string, removePunct: boolean, dropMarks: boolean): string {
  let out = '';
  let runStart = 0; // start of a run of characters copied unchanged
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    let width = 1;
    let cls: number;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      // astral code point: classify with the regexes (rare)
      const ch = s.slice(i, i + 2);
      width = 2;
      cls = (/^\p{Nd}$/u.test(ch) ? DIGIT : 0) | (/^\p{Mn}$/u.test(ch) ? MARK : 0);
      c = -1;
    } else cls = CLASS[c];
    if (cls === 0 || (cls === MARK && !dropMarks)) {
      i += width - 1;
      continue;
    }
    out += s.slice(runStart, i);
    if (cls & DIGIT) out += '0';
    else if (cls & PUNCT) { if (!removePunct) out += PUNCT_REPLACEMENT[c]; }
    else if (cls & (DROP | MARK)) { /* dropped */ }
    i += width - 1;
    runStart = i + 1;
  }
  return runStart === 0 ? s : out + s.slice(runStart);
}

export function normalizeForDedup(line: string): string {
  let s = pyStrip(line);
  if (s.length === 0) return s;
  s = s.toLowerCase();
  if (!NON_SIMPLE_ASCII_RE.test(s)) return s.replace(/[0-9]/g, '0');
  return classPass(s, true, false);
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
  return classPass(s.normalize('NFD'), false, true);
}

/** The regex chain, kept as the readable definition the one-pass versions are tested against. */
export function normalizeForDedupSlow(line: string): string {
  const s = pyStripSlow(line);
  if (s.length === 0) return s;
  return s.toLowerCase().replace(DIGIT_RE, '0').replace(PUNCT_OR_CONTROL_RE, '');
}

export function normalizeForLmSlow(line: string): string {
  let s = pyStripSlow(line);
  if (s.length === 0) return s;
  s = stripAccents(s.toLowerCase());
  return replaceUnicodePunct(s.replace(DIGIT_RE, '0')).replace(CONTROL_RE, '');
}
