/**
 * Streams an XML file (any compression openBytes detects) through the `sax` parser in strict
 * mode. A well-formedness error is reported through `onError` with line/column, and parsing
 * resumes after it, so elements before (and usually after) the damage are still delivered;
 * the handler decides which partial element to discard.
 */
import sax from 'sax';
import { openBytes } from './byte-source.js';

export interface XmlHandlers {
  onopentag?(tag: sax.Tag): void;
  onclosetag?(name: string): void;
  ontext?(text: string): void;
  oncdata?(text: string): void;
  onerror(where: string, message: string): void;
  /** Invalid UTF-8 bytes were replaced by U+FFFD in the chunk ending at byte `offset`. */
  oninvalidutf8?(where: string, replaced: number): void;
}

const REPLACEMENT = Buffer.from('\uFFFD', 'utf8');

function countReplacements(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\uFFFD'); i >= 0; i = s.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

function countEncodedReplacements(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(REPLACEMENT); i >= 0; i = b.indexOf(REPLACEMENT, i + 1)) n++;
  return n;
}

/**
 * Parses chunk by chunk, yielding after each so the consumer can drain what the handlers
 * collected: the consumer's pace drives the reading, which keeps memory bounded.
 * `status.truncated` is set when the compressed stream ended early.
 */
export async function* streamXml(path: string, h: XmlHandlers, status: { truncated?: string } = {}): AsyncGenerator<void> {
  const parser = sax.parser(true, { trim: false, normalize: false, position: true });
  let errors = 0;
  parser.onerror = (e: Error) => {
    errors++;
    h.onerror(`${path} line ${parser.line + 1} column ${parser.column + 1}`, e.message.split('\n')[0] ?? e.message);
    // sax stops on error unless told to go on; after too many errors the file is hopeless.
    (parser as unknown as { error: Error | null }).error = null;
    if (errors > 1000) throw new Error(`${path}: more than 1000 XML errors, giving up on this file`);
  };
  if (h.onopentag) parser.onopentag = h.onopentag as (t: sax.Tag | sax.QualifiedTag) => void;
  if (h.onclosetag) parser.onclosetag = h.onclosetag;
  if (h.ontext) parser.ontext = h.ontext;
  if (h.oncdata) parser.oncdata = h.oncdata;
  const src = await openBytes(path);
  const decoder = new TextDecoder('utf-8');
  try {
    let offset = 0;
    for await (const chunk of src.chunks()) {
      const text = decoder.decode(chunk, { stream: true });
      offset += chunk.length;
      // More U+FFFD out than encoded U+FFFD in: the decoder replaced invalid bytes. XML text is
      // kept (one bad byte should not cost a whole dump chunk), but the damage is reported.
      if (h.oninvalidutf8 && text.includes('\uFFFD')) {
        const replaced = countReplacements(text) - countEncodedReplacements(chunk);
        if (replaced > 0) h.oninvalidutf8(`${path} bytes ${offset - chunk.length}-${offset}`, replaced);
      }
      parser.write(text);
      yield;
    }
    parser.write(decoder.decode());
    parser.close();
  } catch (e) {
    h.onerror(`${path} line ${parser.line + 1}`, (e as Error).message);
  }
  yield;
  if (src.error) status.truncated = src.error;
}
