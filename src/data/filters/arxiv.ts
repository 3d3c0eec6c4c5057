/**
 * The arXiv stage (paper §2, "ArXiv"): from a paper's flattened LaTeX (readers/latex-project.ts),
 * 1. comments, `comment` environments and `\iffalse` blocks are removed (arxiv_latex_cleaner rules);
 * 2. user macros are inline-expanded (`\newcommand`/`\def`, with and without arguments);
 * 3. everything before the first sectioning command (`\part`, `\chapter`, `\section`,
 *    `\subsection`...) is dropped — title, authors, abstract-less preamble — as the paper says;
 * 4. the bibliography is removed: `thebibliography` environments and `\bibliography{}`,
 *    `\bibliographystyle{}`, `\printbibliography`; anything after `\end{document}` too.
 * Drops: `no-section` (nothing to keep), `latex-unbalanced-braces`, `too-short` after cleaning.
 */
import type { Doc, Stage, StageResult } from '../document.js';
import { drop } from '../document.js';
import { LatexSyntaxError, cleanLatexSource, removeEnvironment } from './latex-clean.js';
import { expandMacros, extractMacros } from './latex-macros.js';

const FIRST_SECTION = /\\(?:part|chapter|section|subsection|subsubsection)\*?\s*[[{]/;
const BIB_COMMANDS = /\\(?:bibliography|bibliographystyle|nobibliography|addbibresource)\s*\{[^}]*\}|\\printbibliography(?:\[[^\]]*\])?/g;

export interface ArxivOptions { minChars?: number }

export function cleanArxivLatex(tex: string): { text: string } | { drop: string; detail?: string } {
  let t = cleanLatexSource(tex);
  const { text: withoutDefs, macros } = extractMacros(t);
  t = withoutDefs;
  const first = FIRST_SECTION.exec(t);
  if (!first) return { drop: 'no-section', detail: 'no \\section or other sectioning command' };
  t = t.slice(first.index);
  t = expandMacros(t, macros);
  t = removeEnvironment(t, 'thebibliography');
  t = t.replace(BIB_COMMANDS, '');
  const end = t.indexOf('\\end{document}');
  if (end >= 0) t = t.slice(0, end);
  t = t.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  return { text: t };
}

export function arxivStage(opts: ArxivOptions = {}): Stage {
  const minChars = opts.minChars ?? 500;
  return {
    name: 'arxiv',
    process(doc: Doc): StageResult {
      let r: ReturnType<typeof cleanArxivLatex>;
      try {
        r = cleanArxivLatex(doc.text);
      } catch (e) {
        if (e instanceof LatexSyntaxError) return drop('latex-unbalanced-braces', e.message);
        throw e;
      }
      if ('drop' in r) return drop(r.drop, r.detail);
      if (r.text.length < minChars) return drop('too-short', `${r.text.length} chars < ${minChars}`);
      return { ...doc, text: r.text };
    },
  };
}
