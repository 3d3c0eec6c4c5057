/**
 * LaTeX source cleaning, the comment/conditional/command part of google-research's
 * arxiv_latex_cleaner (checked against its expected output in ../shared/data/arxiv_latex_cleaner,
 * test/data/arxiv.test.ts), written from its documented behaviour:
 *
 * 1. everything after the line holding an uncommented `\end{document}` is dropped;
 * 2. a line whose first non-blank character is `%` is removed with its newline; otherwise the text
 *    after the first unescaped `%` is removed, keeping the `%` (so no lines join); a line
 *    containing "auto-ignore" is left alone;
 * 3. `\begin{comment}...\end{comment}` environments are removed;
 * 4. `\iffalse`/`\if 0` blocks are removed, keeping their `\else` branch; `\iftrue` blocks keep their
 *    first branch; nesting counts every `\ifXXX` except the names in `ifExceptions`; one whitespace
 *    character after the closing `\fi` goes too;
 * 5. optional: TikZ pictures replaced by their externalised PDF; environments to delete, commands to unwrap (keep the argument), commands to delete
 *    (argument too; a `%` replaces one that ended its line, so paragraphs don't merge).
 */

export interface LatexCleanOptions {
  environmentsToDelete?: string[];
  commandsToUnwrap?: string[];
  commandsToDelete?: string[];
  ifExceptions?: string[];
  /**
   * Paths of externalised TikZ PDFs (the cleaner's `use_external_tikz`): a
   * `\tikzsetnextfilename{name}...\end{tikzpicture}` becomes `\includegraphics{path}` when
   * exactly one path ends in `/name.pdf`.
   */
  externalTikzFiles?: string[];
}

/** Thrown when braces do not balance; the arXiv stage turns it into a counted drop. */
export class LatexSyntaxError extends Error {}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function cutAfterEndDocument(text: string): string {
  const lines = text.split(/(?<=\n)/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const at = line.indexOf('\\end{document}');
    if (at < 0) continue;
    const pct = line.indexOf('%');
    if (pct < 0 || pct > at) return lines.slice(0, i + 1).join('');
  }
  return text;
}

export function stripCommentsInline(text: string): string {
  const lines = text.split(/(?<=\n)/);
  let out = '';
  for (const line of lines) {
    if (line.includes('auto-ignore')) {
      out += line;
      continue;
    }
    if (/^[ \t]*%/.test(line)) continue;
    const m = /(?<!\\)%/.exec(line);
    out += m ? line.slice(0, m.index + 1) + '\n' : line;
  }
  return out;
}

export function removeEnvironment(text: string, env: string): string {
  const e = escapeRe(env);
  return text.replace(new RegExp(`\\\\begin\\{${e}\\}[\\s\\S]*?\\\\end\\{${e}\\}`, 'g'), '');
}

/** Conditional blocks: see rule 4 in the header. */
export function resolveIfBlocks(text: string, ifExceptions: readonly string[] = []): string {
  const exceptions = new Set(ifExceptions.map((x) => (x.startsWith('\\') ? x.slice(1) : x)));
  // \if<name> (allowing "\if  false" / "\if 0"), \else, \fi — as control words (not \fix, \elsewhere).
  const tok = /\\if\s*(\w+)|\\else(?![A-Za-z])|\\fi(?![A-Za-z])/g;
  let out = '';
  let copyFrom = 0;
  // Active block state (only one top-level block is rewritten at a time; nested ones are inside it).
  let level = -1;
  let kind: 'false' | 'true' = 'false';
  let blockStart = 0;
  let keepFrom = -1; // start of the branch we keep inside the block
  let kept = '';
  const newifDeclared = (at: number) => /\\newif\s*$/.test(text.slice(Math.max(0, at - 12), at));
  for (let m: RegExpExecArray | null; (m = tok.exec(text)); ) {
    const t = m[0];
    if (t.startsWith('\\if')) {
      const name = 'if' + t.slice(3).replace(/\s+/g, '');
      if (exceptions.has(name) || newifDeclared(m.index)) continue;
      if (level === -1) {
        if (name === 'iffalse' || name === 'if0' || name === 'iftrue') {
          level = 0;
          kind = name === 'iftrue' ? 'true' : 'false';
          blockStart = m.index;
          kept = '';
          keepFrom = kind === 'true' ? skipSpaces(text, m.index + t.length) : -1;
        }
      } else level++;
    } else if (t.startsWith('\\else')) {
      if (level === 0) {
        if (kind === 'true') {
          kept = text.slice(keepFrom, m.index);
          keepFrom = -1;
        } else keepFrom = skipSpaces(text, m.index + t.length);
      }
    } else if (level >= 0) {
      if (level === 0) {
        if (keepFrom >= 0) kept = text.slice(keepFrom, m.index);
        let end = m.index + t.length;
        if (end < text.length && /\s/.test(text[end]!)) end++;
        out += text.slice(copyFrom, blockStart) + kept;
        copyFrom = end;
        tok.lastIndex = end;
      }
      level--;
    }
  }
  return out + text.slice(copyFrom);
}

function skipSpaces(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  return i;
}

/** Index just after the `}` matching the `{` at `open`; throws LatexSyntaxError if unbalanced. */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  const line = text.slice(0, open).split('\n').length;
  throw new LatexSyntaxError(`unbalanced braces: the "{" on line ${line} is never closed`);
}

/** `\cmd{...}` → '' (delete) or its argument (unwrap); repeats so nested uses unwrap too. */
export function removeCommand(text: string, cmd: string, keepArgument: boolean): string {
  const re = new RegExp(`\\\\${escapeRe(cmd)}\\{`, 'g');
  for (let pass = 0; pass < 100; pass++) {
    let out = '';
    let from = 0;
    let any = false;
    re.lastIndex = 0;
    for (let m: RegExpExecArray | null; (m = re.exec(text)); ) {
      if (m.index < from) continue;
      const open = m.index + m[0].length - 1;
      const close = matchBrace(text, open);
      let replacement = keepArgument ? text.slice(open + 1, close - 1) : '';
      if (!keepArgument) {
        const nl = text.indexOf('\n', close);
        if (nl >= 0 && /^\s*$/.test(text.slice(close, nl))) replacement = '%';
      }
      out += text.slice(from, m.index) + replacement;
      from = close;
      re.lastIndex = close;
      any = true;
    }
    text = out + text.slice(from);
    if (!any || !keepArgument) break;
  }
  return text;
}

export function replaceExternalTikz(text: string, files: readonly string[]): string {
  return text.replace(/\\tikzsetnextfilename\{([^}]*)\}[\s\S]*?\\end\{tikzpicture\}/g, (whole, name: string) => {
    const hits = files.filter((f) => f.endsWith(`/${name}.pdf`));
    return hits.length === 1 ? `\\includegraphics{${hits[0]}}` : whole;
  });
}

/** arxiv_latex_cleaner's text pass (rules 1–5). */
export function cleanLatexSource(text: string, opts: LatexCleanOptions = {}): string {
  let t = cutAfterEndDocument(text);
  t = stripCommentsInline(t);
  t = removeEnvironment(t, 'comment');
  t = resolveIfBlocks(t, opts.ifExceptions);
  if (opts.externalTikzFiles) t = replaceExternalTikz(t, opts.externalTikzFiles);
  for (const env of opts.environmentsToDelete ?? []) t = removeEnvironment(t, env);
  for (const cmd of opts.commandsToUnwrap ?? []) t = removeCommand(t, cmd, true);
  for (const cmd of opts.commandsToDelete ?? []) t = removeCommand(t, cmd, false);
  return t;
}
