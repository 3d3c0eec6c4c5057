/**
 * ARPA back-off language model files (the text format of SRILM and KenLM's lmplz):
 *
 *   \data\
 *   ngram 1=<count>
 *   ...
 *   \1-grams:
 *   <log10 p>\t<w>[\t<log10 backoff>]
 *   ...
 *   \end\
 *
 * Reading checks the header counts against the sections and names the line of any malformed
 * entry. Writing is deterministic (entries sorted) and atomic.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { NgramModel } from './ngram-model.js';

export function parseArpa(text: string, name = 'ARPA'): NgramModel {
  const lines = text.split('\n');
  let i = 0;
  const err = (msg: string): never => {
    throw new Error(`${name} line ${i + 1}: ${msg}`);
  };
  while (i < lines.length && lines[i].trim() !== '\\data\\') i++;
  if (i === lines.length) throw new Error(`${name}: no "\\data\\" header; not an ARPA language model`);
  i++;
  const declared: number[] = [];
  for (; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l === '') { if (declared.length) break; else continue; }
    const m = /^ngram\s+(\d+)\s*=\s*(\d+)$/.exec(l);
    if (!m) err(`expected "ngram N=count", got "${l.slice(0, 60)}"`);
    const n = Number(m![1]);
    if (n !== declared.length + 1) err(`ngram orders must be listed 1, 2, ... (got ${n})`);
    declared.push(Number(m![2]));
  }
  if (declared.length === 0) err('no "ngram N=count" lines after \\data\\');
  const model = new NgramModel(declared.length);
  for (let n = 1; n <= declared.length; n++) {
    while (i < lines.length && lines[i].trim() === '') i++;
    if (i >= lines.length || lines[i].trim() !== `\\${n}-grams:`) err(`expected "\\${n}-grams:"`);
    i++;
    let count = 0;
    for (; i < lines.length; i++) {
      const l = lines[i];
      if (l.trim() === '') break;
      if (l.startsWith('\\')) break;
      const cols = l.split('\t');
      // Some writers separate with spaces: fall back to whitespace splitting.
      const parts = cols.length >= 2 ? cols : l.trim().split(/\s+/);
      let logProb: number, words: string[], backoff = 0;
      if (cols.length >= 2) {
        logProb = Number(parts[0]);
        words = parts[1].split(' ').filter((w) => w.length > 0);
        if (parts.length > 2 && parts[2].trim() !== '') backoff = Number(parts[2]);
      } else {
        logProb = Number(parts[0]);
        words = parts.slice(1, 1 + n);
        if (parts.length === n + 2) backoff = Number(parts[n + 1]);
        else if (parts.length !== n + 1) err(`expected ${n} words and an optional back-off, got "${l.slice(0, 80)}"`);
      }
      if (!Number.isFinite(logProb) || !Number.isFinite(backoff)) err(`bad number in "${l.slice(0, 80)}"`);
      if (words.length !== n) err(`a ${n}-gram entry has ${words.length} words: "${l.slice(0, 80)}"`);
      model.set(words, { logProb, backoff });
      count++;
    }
    if (count !== declared[n - 1]) throw new Error(`${name}: header declares ${declared[n - 1]} ${n}-grams, section has ${count}`);
  }
  while (i < lines.length && lines[i].trim() === '') i++;
  if (i >= lines.length || lines[i].trim() !== '\\end\\') err('expected "\\end\\" (file truncated?)');
  if (!model.vocab.has('<unk>') || !model.get(['<unk>'])) throw new Error(`${name}: the model has no <unk> unigram; KenLM requires one`);
  return model;
}

export function readArpa(path: string): NgramModel {
  return parseArpa(readFileSync(path, 'utf8'), path);
}

/**
 * Shortest decimal naming the same float32 as x — KenLM stores floats. Depends only on fround(x),
 * so writing a model read back from its own ARPA text reproduces the text exactly.
 */
function fmt(x: number): string {
  const xf = Math.fround(x);
  if (xf === 0) return '0';
  for (let p = 1; p <= 9; p++) {
    const s = String(Number(xf.toPrecision(p)));
    if (Math.fround(Number(s)) === xf) return s;
  }
  return String(xf);
}

export function formatArpa(model: NgramModel): string {
  const out: string[] = ['\\data\\'];
  model.tables.forEach((t, k) => out.push(`ngram ${k + 1}=${t.size}`));
  for (let n = 1; n <= model.order; n++) {
    out.push('', `\\${n}-grams:`);
    const rows: string[] = [];
    for (const [key, e] of model.tables[n - 1]) {
      const words: string[] = [];
      for (let k = 0; k < key.length; k += 2) words.push(model.words[key.charCodeAt(k) | (key.charCodeAt(k + 1) << 16)]);
      const w = words.join(' ');
      const last = words[words.length - 1];
      // Back-off column only where the n-gram can be a context (as lmplz).
      const hasBackoff = n < model.order && last !== '</s>' && last !== '<unk>';
      rows.push(hasBackoff ? `${fmt(e.logProb)}\t${w}\t${fmt(e.backoff)}` : `${fmt(e.logProb)}\t${w}`);
    }
    rows.sort((a, b) => {
      const wa = a.split('\t')[1], wb = b.split('\t')[1];
      return wa < wb ? -1 : wa > wb ? 1 : 0;
    });
    out.push(...rows);
  }
  out.push('', '\\end\\', '');
  return out.join('\n');
}

export function writeArpa(model: NgramModel, path: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, formatArpa(model));
  renameSync(tmp, path);
}
