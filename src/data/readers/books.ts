/**
 * Plain-text books (Project Gutenberg): the file is one document; the Gutenberg licence header
 * and footer are removed using the "*** START OF ..." / "*** END OF ..." markers (both the
 * modern "THE PROJECT GUTENBERG EBOOK" and the older "THIS PROJECT GUTENBERG EBOOK" wording, and
 * the pre-2000s "*END*THE SMALL PRINT!" header). A book with no markers is kept whole.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { BadRecordSink, Doc } from '../document.js';
import { decodeUtf8 } from '../io/byte-source.js';

const START = /^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK.*$/im;
const OLD_START = /^\*END\*THE SMALL PRINT!.*$/im;
const END = /^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK.*$/im;
const OLD_END = /^End of (?:the )?Project Gutenberg'?s? .*$/im;

export interface GutenbergStrip { text: string; headerFound: boolean; footerFound: boolean }

export function stripGutenberg(raw: string): GutenbergStrip {
  let text = raw.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let headerFound = false;
  let footerFound = false;
  const start = START.exec(text) ?? OLD_START.exec(text);
  if (start) {
    text = text.slice(start.index + start[0].length);
    headerFound = true;
  }
  // Older files put "End of Project Gutenberg's <title>" just before the *** END marker: cut at
  // whichever comes first.
  const ends = [END.exec(text), OLD_END.exec(text)].filter((m): m is RegExpExecArray => m !== null);
  if (ends.length) {
    text = text.slice(0, Math.min(...ends.map((m) => m.index)));
    footerFound = true;
  }
  return { text: text.trim(), headerFound, footerFound };
}

export async function* readBookDocs(paths: Iterable<string>, sink: BadRecordSink, source = 'books'): AsyncGenerator<Doc> {
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      sink.bad('books', { reason: 'unreadable-file', where: path, detail: (e as Error).message });
      continue;
    }
    const raw = decodeUtf8(bytes);
    if (raw === null) {
      sink.bad('books', { reason: 'invalid-utf8', where: path });
      continue;
    }
    const s = stripGutenberg(raw);
    yield { id: basename(path), text: s.text, source, meta: { file: path, gutenbergHeader: s.headerFound, gutenbergFooter: s.footerFound } };
  }
}
