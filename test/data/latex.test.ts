import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { cleanLatexSource, resolveIfBlocks, removeCommand, stripCommentsInline, LatexSyntaxError } from '../../src/data/filters/latex-clean.js';
import { expandMacros, extractMacros } from '../../src/data/filters/latex-macros.js';
import { arxivStage, cleanArxivLatex } from '../../src/data/filters/arxiv.js';
import { readLatexProjects, findMainFile } from '../../src/data/readers/latex-project.js';
import { CollectSink, SHARED, collect, doc, tempDir } from './helpers.js';

const CLEANER = join(SHARED, 'arxiv_latex_cleaner');
// The options the expected output was made with (../shared/data/README.md).
const CLEANER_OPTIONS = {
  commandsToDelete: ['mytodo'],
  commandsToUnwrap: ['red'],
  environmentsToDelete: ['mynote'],
  ifExceptions: ['iffalt'],
};

function files(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(dir, join(sub, e.name)) : [join(sub, e.name)]));
}

test('arxiv_latex_cleaner: main.tex matches the expected output byte for byte', () => {
  const input = readFileSync(join(CLEANER, 'tex/main.tex'), 'utf8');
  const expected = readFileSync(join(CLEANER, 'tex_arXiv_true/main.tex'), 'utf8');
  const pdfs = files(join(CLEANER, 'tex')).filter((f) => f.startsWith('ext_tikz/') && f.endsWith('.pdf'));
  assert.equal(cleanLatexSource(input, { ...CLEANER_OPTIONS, externalTikzFiles: pdfs }), expected);
});

test('arxiv_latex_cleaner: every expected .tex/.tikz file of the project matches', () => {
  const expectedFiles = files(join(CLEANER, 'tex_arXiv_true')).filter((f) => /\.(tex|tikz)$/.test(f));
  assert.ok(expectedFiles.length >= 3);
  for (const f of expectedFiles) {
    const pdfs = files(join(CLEANER, 'tex')).filter((p) => p.startsWith('ext_tikz/') && p.endsWith('.pdf'));
    const got = cleanLatexSource(readFileSync(join(CLEANER, 'tex', f), 'utf8'), { ...CLEANER_OPTIONS, externalTikzFiles: pdfs });
    assert.equal(got, readFileSync(join(CLEANER, 'tex_arXiv_true', f), 'utf8'), f);
  }
});

test('comment rules: whole-line comments vanish, inline ones keep the %, escaped % stays', () => {
  assert.equal(stripCommentsInline('a\n  % gone\nb % tail\nc \\% kept % cut\n'), 'a\nb %\nc \\% kept %\n');
  assert.equal(stripCommentsInline('% auto-ignore keeps this line\n'), '% auto-ignore keeps this line\n');
});

test('conditional blocks: \\iffalse with \\else, \\iftrue, nesting, \\newif declarations', () => {
  // One whitespace character after the closing \\fi goes with the block (the cleaner's rule).
  assert.equal(resolveIfBlocks('A\\iffalse B\\else C\\fi D'), 'ACD');
  assert.equal(resolveIfBlocks('\\iftrue keep\\else drop\\fi\n\nnext'), 'keep\nnext');
  assert.equal(resolveIfBlocks('x\\iffalse \\ifx a\\else b\\fi \\fi y'), 'xy');
  assert.equal(resolveIfBlocks('\\newif\\ifdraft\n\\ifdraft a\\fi'), '\\newif\\ifdraft\n\\ifdraft a\\fi');
  assert.equal(resolveIfBlocks('\\if 0 gone\\fi!'), '!');
});

test('commands: delete with argument (nested braces), unwrap nested uses, unbalanced braces throw', () => {
  assert.equal(removeCommand('a\\todo{x {y} z} b', 'todo', false), 'a b');
  assert.equal(removeCommand('\\hl{one \\hl{two}}', 'hl', true), 'one two');
  assert.throws(() => removeCommand('a \\todo{never closed', 'todo', false), LatexSyntaxError);
});

test('macros: \\newcommand with and without arguments, optional default, \\def with parameters', () => {
  const src = [
    '\\newcommand{\\R}{\\mathbb{R}}',
    '\\newcommand\\pair[2]{(#1, #2)}',
    '\\renewcommand{\\opt}[2][x]{#1-#2}',
    '\\def\\sq#1{#1^2}',
    '\\def\\name{LLaMA}',
    'In $\\R$, \\pair{a}{b} and \\opt{y} and \\opt[z]{y}; \\sq{n}; \\name\\ is \\name{} here.',
  ].join('\n');
  const { text, macros } = extractMacros(src);
  assert.equal(macros.size, 5);
  assert.equal(expandMacros(text, macros).trim(), 'In $\\mathbb{R}$, (a, b) and x-y and z-y; n^2; LLaMA\\ is LLaMA here.');
  // Self-reference cannot loop forever.
  const loop = extractMacros('\\newcommand{\\a}{x\\a}\\a');
  assert.ok(expandMacros(loop.text, loop.macros).length < 100);
});

test('arXiv stage: preamble before the first section and the bibliography are removed', () => {
  const tex = String.raw`\documentclass{article}
\newcommand{\model}{LLaMA}
\title{A paper} \author{Someone}
\begin{document}
\maketitle
\begin{abstract}An abstract.\end{abstract}
\section{Introduction}
We train \model{} models. % a comment
\iffalse hidden \fi
\subsection{More}
Text with \cite{x}.
\bibliographystyle{plain}
\bibliography{refs}
\begin{thebibliography}{9}\bibitem{x} X.\end{thebibliography}
\appendix
\section{Extra}
Appendix text.
\end{document}
after`;
  const r = cleanArxivLatex(tex);
  assert.ok('text' in r);
  assert.equal(r.text, '\\section{Introduction}\nWe train LLaMA models. %\n\\subsection{More}\nText with \\cite{x}.\n\n\\appendix\n\\section{Extra}\nAppendix text.');
  const stage = arxivStage({ minChars: 10 });
  assert.deepEqual(stage.process(doc('\\begin{document}no sections here\\end{document}')), { drop: 'no-section', detail: 'no \\section or other sectioning command' });
  const unbalanced = stage.process(doc('\\newcommand{\\x}{oops\n\\section{A}\ntext'));
  assert.equal((unbalanced as { drop: string }).drop, 'latex-unbalanced-braces');
});

test('LaTeX projects: directory and tar.gz give the same flattened paper; includes inlined', async (t) => {
  const dir = tempDir(t);
  const proj = join(dir, '2301.00001');
  mkdirSync(join(proj, 'sections'), { recursive: true });
  writeFileSync(join(proj, 'main.tex'), '\\documentclass{article}\n\\begin{document}\n\\input{sections/intro}\n% \\input{sections/unused}\n\\include{sections/end.tex}\n\\end{document}\n');
  writeFileSync(join(proj, 'sections/intro.tex'), '\\section{Intro}\nHello % comment\n');
  writeFileSync(join(proj, 'sections/unused.tex'), 'SHOULD NOT APPEAR');
  writeFileSync(join(proj, 'sections/end.tex'), 'The end.\n');
  writeFileSync(join(proj, 'notes.tex'), 'stray notes without documentclass');
  execFileSync('tar', ['-czf', join(dir, '2301.00001.tar.gz'), '-C', proj, '.']);
  writeFileSync(join(dir, 'broken.tar.gz'), Buffer.from('not a tar at all'));
  const sink = new CollectSink();
  const docs = await collect(readLatexProjects([proj, join(dir, '2301.00001.tar.gz'), join(dir, 'broken.tar.gz')], sink));
  assert.equal(docs.length, 2);
  assert.equal(docs[0]!.text, docs[1]!.text);
  assert.equal(docs[0]!.id, '2301.00001');
  assert.ok(docs[0]!.text.includes('\\section{Intro}\nHello %\n'));
  assert.ok(docs[0]!.text.includes('The end.'));
  assert.ok(!docs[0]!.text.includes('SHOULD NOT APPEAR'));
  assert.deepEqual(sink.reasons(), ['unreadable-archive']);
  assert.equal(findMainFile(new Map([['a.tex', 'x'], ['b.tex', '\\begin{document}']])), 'b.tex');
});

test('the shared cleaner project reads as one paper with figure_included.tex inlined', async () => {
  const [paper] = await collect(readLatexProjects([join(CLEANER, 'tex')], new CollectSink()));
  assert.ok(paper!.text.includes('\\includegraphics{images/im2_included.jpg}'));
  assert.ok(!paper!.text.includes('figure_not_included'));
  assert.ok(!paper!.text.includes('This should be ignored.'));
});
