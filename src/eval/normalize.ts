/**
 * Closed-book QA answer handling (PAPER.md §7): the generated answer is cut at the first line
 * break, dot or comma, then compared to every reference after the SQuAD-style normalization
 * (lowercase; drop punctuation; drop the articles a/an/the; collapse whitespace).
 */

/** ASCII punctuation (Python's string.punctuation) plus common Unicode quotes and dashes. */
const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~\u2018\u2019\u201c\u201d\u2013\u2014\u2026]/g;

/** Lowercase → remove punctuation → remove articles → collapse whitespace (SQuAD's order). */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(PUNCT, '')
    // A Unicode-aware word boundary (JavaScript's \b is ASCII-only: it would see "the" in "caféthe").
    .replace(/(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu, ' ')
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

/** The answer the paper extracts from a greedy generation: text before the first \n, '.' or ','. */
export function cutAnswer(generated: string): string {
  const m = /[\n.,]/.exec(generated);
  return (m ? generated.slice(0, m.index) : generated).trim();
}

/** 1 when the normalized prediction equals the normalized form of any reference, else 0. */
export function exactMatch(prediction: string, references: readonly string[]): number {
  const p = normalizeAnswer(prediction);
  return references.some((r) => normalizeAnswer(r) === p) ? 1 : 0;
}
