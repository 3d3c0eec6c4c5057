/**
 * JSONL documents (plain, .gz, .zst — detected by magic bytes). One JSON object per line; the
 * text and id fields are configurable (RedPajama and Dolma use "text" and "id"; our own shards
 * write the Doc fields). A line that is not valid UTF-8 or JSON, or has no string text field, is
 * counted and skipped; the rest of the file is still read.
 */
import { basename } from 'node:path';
import type { BadRecordSink, Doc } from '../document.js';
import { ByteReader, decodeUtf8, openBytes } from '../io/byte-source.js';

export interface JsonlOptions {
  source?: string;
  textField?: string;
  idField?: string;
}

const READER = 'jsonl';

export async function* readJsonlDocs(path: string, sink: BadRecordSink, opts: JsonlOptions = {}): AsyncGenerator<Doc> {
  const textField = opts.textField ?? 'text';
  const idField = opts.idField ?? 'id';
  const src = await openBytes(path);
  const r = new ByteReader(src.chunks()[Symbol.asyncIterator](), src.gaps);
  let lineNo = 0;
  let pendingBad: { where: string; sample: string; error: string } | null = null;
  for (;;) {
    const line = await r.readLine();
    if (r.gapReached) {
      // The line runs into bytes lost with a corrupt gzip member: it is not a whole record.
      sink.bad(READER, { reason: 'corrupt-compressed-member', where: `${path} line ${lineNo + 1}`, detail: `line dropped: ${r.gapReached.detail}` });
      r.gapReached = null;
      pendingBad = null;
      continue;
    }
    if (line === null) break;
    lineNo++;
    if (pendingBad) {
      sink.bad(READER, { reason: 'bad-json', where: pendingBad.where, detail: pendingBad.error, sample: pendingBad.sample });
      pendingBad = null;
    }
    if (line.length === 0 || (line.length === 1 && line[0] === 0x0d)) continue;
    const where = `${path} line ${lineNo}`;
    const text = decodeUtf8(line);
    if (text === null) {
      sink.bad(READER, { reason: 'invalid-utf8', where });
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      // Held back one line: if the stream turns out to be truncated, this was the cut record.
      pendingBad = { where, sample: text.slice(0, 120), error: (e as Error).message };
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      sink.bad(READER, { reason: 'bad-json', where, detail: 'line is not a JSON object', sample: text.slice(0, 120) });
      continue;
    }
    const rec = obj as Record<string, unknown>;
    const body = rec[textField];
    if (typeof body !== 'string') {
      sink.bad(READER, { reason: 'missing-text-field', where, detail: `field "${textField}" is ${body === undefined ? 'absent' : typeof body}` });
      continue;
    }
    const rawId = rec[idField];
    const id = typeof rawId === 'string' || typeof rawId === 'number' ? String(rawId) : `${basename(path)}:${lineNo}`;
    const isDocShape = typeof rec.source === 'string' && typeof rec.meta === 'object' && rec.meta !== null;
    const meta: Record<string, unknown> = isDocShape ? { ...(rec.meta as Record<string, unknown>) } : {};
    if (!isDocShape) for (const [k, v] of Object.entries(rec)) if (k !== textField && k !== idField) meta[k] = v;
    const source = opts.source ?? (isDocShape ? (rec.source as string) : 'jsonl');
    yield { id, text: body, source, meta };
  }
  if (pendingBad) {
    sink.bad(READER, { reason: src.error ? 'truncated-compressed-stream' : 'bad-json', where: pendingBad.where, detail: src.error ?? pendingBad.error, sample: pendingBad.sample });
  } else if (src.error) {
    sink.bad(READER, { reason: 'truncated-compressed-stream', where: `${path} line ${lineNo}`, detail: src.error });
  }
}
