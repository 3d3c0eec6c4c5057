/**
 * The GitHub stage (paper §2 "Github", with RedPajama's open replication for the numbers):
 *   - licence: keep files whose repository licence is MIT, Apache-2.0 or BSD       (`license`)
 *   - extension: keep source files of programming languages (list below)         (`extension`)
 *   - max line length > 1000 characters                                           (`max-line-length`)
 *   - average line length > 100 characters                                        (`avg-line-length`)
 *   - alphanumeric characters < 25% of the file                                   (`alnum-fraction`)
 *   - alphabetic characters per token < 1.5 (RedPajama counts tokens with a
 *     tokenizer; we count whitespace-separated tokens, fewer than BPE tokens, so
 *     the rule is slightly more lenient)                                          (`alpha-per-token`)
 *   - boilerplate: a leading comment block that mentions copyright/licence is removed
 *     (shebang and encoding lines stay); a file left empty is dropped              (`empty`)
 * Exact file deduplication is the `exact-dedup` stage (dedup/exact.ts), run after this one.
 */
import type { Doc, Stage, StageResult } from '../document.js';
import { drop } from '../document.js';
import { PERMISSIVE, type LicenseKind } from './license.js';

/** RedPajama's extension list for code (programming, markup-with-code and config languages). */
export const CODE_EXTENSIONS = new Set([
  'asm', 'bat', 'cmd', 'c', 'h', 'cs', 'cpp', 'hpp', 'c++', 'h++', 'cc', 'hh', 'cmake', 'css', 'dockerfile', 'f90', 'f',
  'f03', 'f08', 'f77', 'f95', 'for', 'fpp', 'go', 'hs', 'html', 'java', 'js', 'jl', 'lua', 'md', 'markdown', 'php', 'php3',
  'php4', 'php5', 'phps', 'phpt', 'pl', 'pm', 'pod', 'perl', 'ps1', 'psd1', 'psm1', 'py', 'rb', 'rs', 'sql', 'scala', 'sh',
  'bash', 'command', 'zsh', 'ts', 'tsx', 'tex', 'vb', 'xml', 'yml', 'yaml', 'kt', 'kts', 'swift', 'r', 'm', 'mm', 'ml', 'mli',
  'clj', 'cljs', 'ex', 'exs', 'erl', 'hrl', 'dart', 'groovy', 'gradle', 'mjs', 'cjs', 'jsx', 'vue', 'sc', 'scss', 'less',
]);

export interface GithubOptions {
  maxLineLength?: number;
  maxAvgLineLength?: number;
  minAlnumFraction?: number;
  minAlphaPerToken?: number;
  /** Licences to keep (default MIT, Apache-2.0, BSD-2/3). */
  licenses?: ReadonlySet<LicenseKind>;
}

const HEADER_WORDS = /copyright|licen[cs]e|spdx-license-identifier|all rights reserved|permission is hereby granted|\(c\)\s*\d{4}/i;

/** Removes a licence/copyright comment block at the top of a source file. */
export function stripLicenseHeader(text: string): string {
  let prefix = '';
  let rest = text;
  // Keep a shebang and a Python/Ruby encoding line.
  const keep = /^(#![^\n]*\n)?(#[^\n]*coding[:=][^\n]*\n)?/.exec(rest)![0];
  prefix = keep;
  rest = rest.slice(keep.length);
  const lead = /^\s*/.exec(rest)![0];
  const body = rest.slice(lead.length);
  let block = '';
  if (body.startsWith('/*')) {
    const end = body.indexOf('*/');
    if (end >= 0) block = body.slice(0, end + 2);
  } else if (body.startsWith('<!--')) {
    const end = body.indexOf('-->');
    if (end >= 0) block = body.slice(0, end + 3);
  } else if (body.startsWith('"""') || body.startsWith("'''")) {
    const q = body.slice(0, 3);
    const end = body.indexOf(q, 3);
    if (end >= 0) block = body.slice(0, end + 3);
  } else {
    const m = /^(?:(?:\/\/|#|--|;;?|%)[^\n]*(?:\n|$))+/.exec(body);
    if (m) block = m[0];
  }
  if (!block || !HEADER_WORDS.test(block)) return text;
  return prefix + body.slice(block.length).replace(/^\s*\n/, '');
}

export interface CodeStats { maxLineLength: number; avgLineLength: number; alnumFraction: number; alphaPerToken: number }

export function codeStats(text: string): CodeStats {
  const lines = text.split('\n');
  let max = 0;
  for (const l of lines) if (l.length > max) max = l.length;
  let alnum = 0;
  let alpha = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) {
      const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
      if (letter) alpha++;
      if (letter || (c >= 48 && c <= 57)) alnum++;
    } else {
      const ch = text[i]!;
      if (/\p{L}/u.test(ch)) {
        alpha++;
        alnum++;
      } else if (/\p{N}/u.test(ch)) alnum++;
    }
  }
  const tokens = text.split(/\s+/).filter(Boolean).length;
  return {
    maxLineLength: max,
    avgLineLength: text.length / Math.max(1, lines.length),
    alnumFraction: text.length ? alnum / text.length : 0,
    alphaPerToken: tokens ? alpha / tokens : 0,
  };
}

export function githubStage(opts: GithubOptions = {}): Stage {
  const licenses = opts.licenses ?? PERMISSIVE;
  const maxLine = opts.maxLineLength ?? 1000;
  const maxAvg = opts.maxAvgLineLength ?? 100;
  const minAlnum = opts.minAlnumFraction ?? 0.25;
  const minAlphaTok = opts.minAlphaPerToken ?? 1.5;
  return {
    name: 'github',
    process(doc: Doc): StageResult {
      const lic = String(doc.meta.license ?? 'none') as LicenseKind;
      if (!licenses.has(lic)) return drop('license', lic);
      const name = String(doc.meta.path ?? doc.id).split('/').pop()!.toLowerCase();
      const ext = String(doc.meta.ext ?? '');
      if (!CODE_EXTENSIONS.has(ext) && name !== 'dockerfile' && name !== 'makefile') return drop('extension', ext || name);
      const text = stripLicenseHeader(doc.text);
      if (!text.trim()) return drop('empty', 'nothing left after the licence header');
      const s = codeStats(text);
      if (s.maxLineLength > maxLine) return drop('max-line-length', `${s.maxLineLength} > ${maxLine}`);
      if (s.avgLineLength > maxAvg) return drop('avg-line-length', `${s.avgLineLength.toFixed(1)} > ${maxAvg}`);
      if (s.alnumFraction < minAlnum) return drop('alnum-fraction', `${s.alnumFraction.toFixed(3)} < ${minAlnum}`);
      if (s.alphaPerToken < minAlphaTok) return drop('alpha-per-token', `${s.alphaPerToken.toFixed(2)} < ${minAlphaTok}`);
      return { ...doc, text };
    },
  };
}
