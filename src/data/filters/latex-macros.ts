/**
 * Inline expansion of user macros, as the paper's arXiv processing ("we inline-expanded the
 * definitions and macros written by users"): `\newcommand`, `\renewcommand`, `\providecommand`
 * (starred too, with `[n]` arguments and an optional `[default]` first argument) and `\def`
 * (with `#1#2...` parameter text). RedPajama's open replication expands only argument-free
 * macros; we expand both kinds. Definitions are removed from the text. Expansion repeats (macros
 * that use macros) up to `maxDepth` passes, so a self-referential macro cannot loop forever.
 */
import { LatexSyntaxError, matchBrace } from './latex-clean.js';

export interface MacroDef { name: string; nargs: number; defaultArg?: string; body: string }

const DEF_START = /\\(?:(?:re)?newcommand|providecommand)\*?\s*|\\def\s*/g;

function readName(text: string, i: number): { name: string; end: number } | null {
  // "{\name}" or "\name"
  let braced = false;
  while (text[i] === ' ') i++;
  if (text[i] === '{') {
    braced = true;
    i++;
    while (text[i] === ' ') i++;
  }
  const m = /^\\([A-Za-z@]+|.)/.exec(text.slice(i, i + 200));
  if (!m) return null;
  let end = i + m[0].length;
  if (braced) {
    while (text[end] === ' ') end++;
    if (text[end] !== '}') return null;
    end++;
  }
  return { name: m[1]!, end };
}

/** Finds and removes definitions; returns the text without them and the macros found. */
export function extractMacros(text: string): { text: string; macros: Map<string, MacroDef> } {
  const macros = new Map<string, MacroDef>();
  let out = '';
  let from = 0;
  DEF_START.lastIndex = 0;
  for (let m: RegExpExecArray | null; (m = DEF_START.exec(text)); ) {
    if (m.index < from) continue;
    const isDef = m[0].startsWith('\\def');
    const nm = readName(text, m.index + m[0].length);
    if (!nm) continue;
    let i = nm.end;
    let nargs = 0;
    let defaultArg: string | undefined;
    if (isDef) {
      const params = /^(?:#\d)*/.exec(text.slice(i, i + 20))![0];
      nargs = params.length / 2;
      i += params.length;
    } else {
      const a = /^\s*\[(\d)\]/.exec(text.slice(i, i + 50));
      if (a) {
        nargs = Number(a[1]);
        i += a[0].length;
        const d = /^\s*\[/.exec(text.slice(i, i + 50));
        if (d) {
          const close = text.indexOf(']', i + d[0].length);
          if (close < 0) throw new LatexSyntaxError(`\\${nm.name}: optional argument default has no "]"`);
          defaultArg = text.slice(i + d[0].length, close);
          i = close + 1;
        }
      }
    }
    while (text[i] === ' ' || text[i] === '\n') i++;
    if (text[i] !== '{') continue; // not a definition we understand (e.g. \def\x\y): leave it
    const end = matchBrace(text, i);
    const body = text.slice(i + 1, end - 1);
    macros.set(nm.name, { name: nm.name, nargs, ...(defaultArg !== undefined ? { defaultArg } : {}), body });
    out += text.slice(from, m.index);
    from = end;
    DEF_START.lastIndex = end;
  }
  return { text: out + text.slice(from), macros };
}

/** Reads one macro argument at i: a {group} or a single token. */
function readArg(text: string, i: number): { arg: string; end: number } | null {
  while (text[i] === ' ' || text[i] === '\n') i++;
  if (i >= text.length) return null;
  if (text[i] === '{') {
    const end = matchBrace(text, i);
    return { arg: text.slice(i + 1, end - 1), end };
  }
  if (text[i] === '\\') {
    const m = /^\\([A-Za-z@]+|.)/.exec(text.slice(i, i + 100))!;
    return { arg: m[0], end: i + m[0].length };
  }
  return { arg: text[i]!, end: i + 1 };
}

function substitute(body: string, args: string[]): string {
  return body.replace(/#(\d)/g, (w, d: string) => args[Number(d) - 1] ?? w);
}

export function expandMacros(text: string, macros: Map<string, MacroDef>, maxDepth = 8): string {
  if (macros.size === 0) return text;
  const names = [...macros.keys()].sort((a, b) => b.length - a.length).map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const use = new RegExp(`\\\\(${names.join('|')})(?![A-Za-z@])`, 'g');
  for (let depth = 0; depth < maxDepth; depth++) {
    let changed = false;
    let out = '';
    let from = 0;
    use.lastIndex = 0;
    for (let m: RegExpExecArray | null; (m = use.exec(text)); ) {
      if (m.index < from) continue;
      const def = macros.get(m[1]!)!;
      let i = m.index + m[0].length;
      const args: string[] = [];
      let need = def.nargs;
      if (def.defaultArg !== undefined && need > 0) {
        const o = /^\s*\[/.exec(text.slice(i, i + 50));
        if (o) {
          const close = text.indexOf(']', i + o[0].length);
          if (close < 0) throw new LatexSyntaxError(`\\${def.name}: optional argument has no "]"`);
          args.push(text.slice(i + o[0].length, close));
          i = close + 1;
        } else args.push(def.defaultArg);
        need--;
      }
      let ok = true;
      for (let k = 0; k < need; k++) {
        const a = readArg(text, i);
        if (!a) {
          ok = false;
          break;
        }
        args.push(a.arg);
        i = a.end;
      }
      if (!ok) continue;
      // TeX ends a control word at the following spaces (or an empty group "{}"): consume them
      // and keep one plain space, so "\\foo bar" reads "FOO bar" rather than "FOObar".
      let trailing = '';
      if (def.nargs === 0) {
        if (text.startsWith('{}', i)) i += 2;
        let j = i;
        while (text[j] === ' ') j++;
        if (j > i) {
          trailing = ' ';
          i = j;
        }
      }
      out += text.slice(from, m.index) + substitute(def.body, args) + trailing;
      from = i;
      use.lastIndex = i;
      changed = true;
    }
    text = out + text.slice(from);
    if (!changed) break;
  }
  return text;
}
