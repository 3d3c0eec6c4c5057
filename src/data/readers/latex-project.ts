/**
 * arXiv LaTeX sources: one Doc per paper. A paper is a directory, a tar archive (.tar, .tar.gz,
 * .tgz: arXiv's bulk source format), a gzipped single .tex (arXiv serves those too) or a .tex.
 * The main file is the one with `\documentclass` (else `\begin{document}`; ties: main.tex, ms.tex,
 * then the largest); `\input{}`/`\include{}`/`\subfile{}` are inlined recursively (each file's
 * comments are stripped first, so commented-out includes stay out). Bad archives and papers
 * without a main file are counted and skipped.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, posix, relative } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { BadRecordSink, Doc } from '../document.js';
import { decodeUtf8, detectCompression } from '../io/byte-source.js';
import { cutAfterEndDocument, stripCommentsInline } from '../filters/latex-clean.js';

const READER = 'latex';
const TEX = /\.(?:tex|ltx)$/i;
const MAX_FILE = 8 << 20;

type Files = Map<string, string>; // posix relative path → text

async function walkDir(root: string, dir: string, files: Files, sink: BadRecordSink): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walkDir(root, p, files, sink);
    else if (e.isFile() && TEX.test(e.name)) {
      const bytes = await readFile(p);
      if (bytes.length > MAX_FILE) continue;
      const text = decodeUtf8(bytes) ?? new TextDecoder('latin1').decode(bytes); // old papers are often Latin-1
      files.set(relative(root, p).split(/[\\/]/).join('/'), text);
    }
  }
}

async function readTar(path: string, files: Files): Promise<void> {
  const extract = tar.extract();
  const input: Readable = (await detectCompression(path)) === 'gzip' ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract);
  for await (const entry of extract) {
    const name = posix.normalize(entry.header.name).replace(/^\.\//, '');
    if (entry.header.type === 'file' && TEX.test(name) && (entry.header.size ?? 0) <= MAX_FILE) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const bytes = Buffer.concat(chunks);
      files.set(name, decodeUtf8(bytes) ?? new TextDecoder('latin1').decode(bytes));
    } else entry.resume();
  }
}

export function findMainFile(files: Files): string | null {
  const names = [...files.keys()];
  const score = (n: string) => {
    const t = stripCommentsInline(files.get(n)!);
    return (/\\documentclass/.test(t) ? 4 : 0) + (/\\begin\{document\}/.test(t) ? 2 : 0) + (/^(?:main|ms|paper)\.tex$/i.test(basename(n)) ? 1 : 0);
  };
  const ranked = names.map((n) => ({ n, s: score(n), size: files.get(n)!.length })).filter((x) => x.s >= 2);
  ranked.sort((a, b) => b.s - a.s || b.size - a.size || (a.n < b.n ? -1 : 1));
  return ranked[0]?.n ?? null;
}

const INCLUDE = /\\(?:input|include|subfile)\s*\{([^}]+)\}/g;

/** Main file with its includes inlined (missing includes are left as the command). */
export function flattenProject(files: Files, main: string): { text: string; missing: string[] } {
  const missing: string[] = [];
  const resolve = (name: string, fromDir: string): string | null => {
    const n = name.trim();
    for (const cand of [n, `${n}.tex`, posix.join(fromDir, n), posix.join(fromDir, `${n}.tex`)]) {
      const norm = posix.normalize(cand).replace(/^\.\//, '');
      if (files.has(norm)) return norm;
    }
    return null;
  };
  const expand = (file: string, depth: number, seen: Set<string>): string => {
    const text = stripCommentsInline(cutAfterEndDocument(files.get(file)!));
    if (depth > 20) return text;
    return text.replace(INCLUDE, (whole, name: string) => {
      const target = resolve(name, '');
      if (!target) {
        missing.push(name);
        return whole;
      }
      if (seen.has(target)) return ''; // an include cycle: TeX would loop; we stop
      return expand(target, depth + 1, new Set([...seen, target]));
    });
  };
  return { text: expand(main, 0, new Set([main])), missing };
}

export async function* readLatexProjects(paths: Iterable<string>, sink: BadRecordSink, source = 'arxiv'): AsyncGenerator<Doc> {
  for (const path of paths) {
    const files: Files = new Map();
    try {
      const st = await stat(path);
      if (st.isDirectory()) await walkDir(path, path, files, sink);
      else if (/\.(?:tar|tar\.gz|tgz)$/i.test(path)) await readTar(path, files);
      else if (/\.gz$/i.test(path)) {
        const bytes = gunzipSync(await readFile(path));
        // arXiv's ".gz" may hold a tar or a single file; a tar has "ustar" at byte 257.
        if (bytes.toString('latin1', 257, 262) === 'ustar') {
          const tmp = tar.extract();
          Readable.from([bytes]).pipe(tmp);
          for await (const entry of tmp) {
            if (entry.header.type === 'file' && TEX.test(entry.header.name)) {
              const chunks: Buffer[] = [];
              for await (const c of entry) chunks.push(c as Buffer);
              const b = Buffer.concat(chunks);
              files.set(posix.normalize(entry.header.name).replace(/^\.\//, ''), decodeUtf8(b) ?? new TextDecoder('latin1').decode(b));
            } else entry.resume();
          }
        } else files.set(basename(path, '.gz') + (TEX.test(basename(path, '.gz')) ? '' : '.tex'), decodeUtf8(bytes) ?? new TextDecoder('latin1').decode(bytes));
      } else files.set(basename(path), decodeUtf8(await readFile(path)) ?? '');
    } catch (e) {
      sink.bad(READER, { reason: 'unreadable-archive', where: path, detail: (e as Error).message });
      continue;
    }
    const main = findMainFile(files);
    if (!main) {
      sink.bad(READER, { reason: 'no-main-tex', where: path, detail: `${files.size} .tex file(s), none with \\documentclass or \\begin{document}` });
      continue;
    }
    const { text, missing } = flattenProject(files, main);
    yield { id: basename(path).replace(/\.(?:tar\.gz|tgz|tar|gz)$/i, ''), text, source, meta: { file: path, main, texFiles: files.size, ...(missing.length ? { missingIncludes: missing } : {}) } };
  }
}
