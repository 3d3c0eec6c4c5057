/**
 * CommonCrawl WARC / WET reader (ISO 28500 WARC/1.0 and 1.1): gzip per-record members or plain.
 *
 * - `readWarcRecords` yields raw records (headers + block bytes) with their byte offset in the
 *   decompressed stream. A record without a `WARC/` version line or a usable Content-Length is
 *   reported as `malformed-warc-record` and skipped by resynchronising on the next version line;
 *   a record cut short by the end of file is `truncated-warc-record`.
 * - `readWarcDocs` turns WET `conversion` records (plain text) and WARC `response` records
 *   (HTTP + HTML, extracted with html-text.ts) into Docs; other record types (warcinfo, request,
 *   metadata, resource) are skipped silently since they carry no page text.
 */
import { basename } from 'node:path';
import type { BadRecordSink, Doc } from '../document.js';
import { ByteReader, decodeUtf8, openBytes } from '../io/byte-source.js';
import { htmlToText } from './html-text.js';

export interface WarcRecord {
  headers: Map<string, string>; // lower-cased names
  block: Buffer;
  /** Byte offset of the record's version line in the decompressed stream. */
  offset: number;
}

const READER = 'warc';

function isVersionLine(line: Buffer): boolean {
  return line.length >= 8 && line.toString('latin1', 0, 6) === 'WARC/1';
}

export async function* readWarcRecords(path: string, sink: BadRecordSink): AsyncGenerator<WarcRecord> {
  const src = await openBytes(path);
  const r = new ByteReader(src.chunks()[Symbol.asyncIterator](), src.gaps);
  let resyncing = false;
  /**
   * Whether the last read stopped at a gap left by a corrupt gzip member and the record (whose
   * trusted bytes end at `trustedEnd`) is damaged by it; reported when so.
   */
  const hitGap = (recordStart: number, trustedEnd = Infinity): boolean => {
    const g = r.gapReached;
    if (!g) return false;
    r.gapReached = null;
    if (trustedEnd <= g.from) {
      sink.bad(READER, { reason: 'corrupt-compressed-member', where: `${path} byte ${g.at}`, detail: g.detail });
      return false; // the record ended before the damaged member began
    }
    sink.bad(READER, { reason: 'corrupt-compressed-member', where: `${path} byte ${recordStart}`, detail: `record dropped: ${g.detail}` });
    return true;
  };
  // A version line already read while checking the end of the previous record.
  let pending: { line: Buffer; offset: number } | null = null;
  for (;;) {
    let start: number;
    let line: Buffer | null;
    if (pending) {
      ({ line, offset: start } = pending);
      pending = null;
    } else {
      start = r.offset;
      line = await r.readLine();
      if (hitGap(start)) continue; // debris of the damaged member
    }
    if (line === null) break;
    if (line.length === 0) continue; // the blank lines between records
    if (!isVersionLine(line)) {
      if (!resyncing) {
        sink.bad(READER, { reason: 'malformed-warc-record', where: `${path} byte ${start}`, detail: 'expected a WARC/1.x version line', sample: line.toString('latin1', 0, 120) });
        resyncing = true;
      }
      continue;
    }
    resyncing = false;
    const headers = new Map<string, string>();
    let headerLine: Buffer | null;
    let bad = '';
    while ((headerLine = await r.readLine()) !== null && headerLine.length > 0) {
      const s = headerLine.toString('utf8');
      const colon = s.indexOf(':');
      if (colon <= 0) {
        if (/^[ \t]/.test(s) && headers.size > 0) continue; // obsolete line folding: ignore continuation
        bad = `header line without a colon: ${JSON.stringify(s.slice(0, 80))}`;
        continue;
      }
      headers.set(s.slice(0, colon).trim().toLowerCase(), s.slice(colon + 1).trim());
    }
    if (hitGap(start)) continue;
    const lenText = headers.get('content-length');
    const len = lenText !== undefined && /^\d+$/.test(lenText) ? Number(lenText) : NaN;
    if (!Number.isFinite(len) || bad) {
      sink.bad(READER, { reason: 'malformed-warc-record', where: `${path} byte ${start}`, detail: bad || `missing or invalid Content-Length ${JSON.stringify(lenText ?? null)}` });
      resyncing = true;
      continue;
    }
    let block = await r.read(len);
    if (hitGap(start)) continue;
    if (block.length < len) {
      sink.bad(READER, {
        reason: src.error ? 'truncated-compressed-stream' : 'truncated-warc-record',
        where: `${path} byte ${start}`,
        detail: `record ${headers.get('warc-record-id') ?? '?'} has ${block.length} of ${len} bytes${src.error ? `; ${src.error}` : ''}`,
      });
      return;
    }
    block = Buffer.from(block);
    // A Content-Length that is too large swallows the next record: find a version line followed
    // by a WARC header inside the block and give the rest back to the reader.
    const inner = findEmbeddedRecord(block);
    if (inner >= 0) {
      sink.bad(READER, { reason: 'content-length-mismatch-repaired', where: `${path} byte ${start}`, detail: `record ${headers.get('warc-record-id') ?? '?'}: declared ${len} bytes overlap the next record at +${inner}` });
      r.unread(block.subarray(inner));
      block = block.subarray(0, inner);
    }
    // The block must be followed by blank lines and the next version line. Some WET writers
    // (CCNet's own test sample among them) count characters instead of bytes in Content-Length;
    // then text follows the block. Append it up to the next version line rather than lose it.
    const extra: Buffer[] = [];
    const blockEnd = r.offset;
    let damaged = false;
    for (;;) {
      const at = r.offset;
      const next = await r.readLine();
      if (r.gapReached) {
        // Bytes are missing after this record: keep it only if it ended before the bad member.
        damaged = hitGap(start, blockEnd);
        break;
      }
      if (next === null) break;
      if (isVersionLine(next)) {
        pending = { line: next, offset: at };
        break;
      }
      extra.push(next);
    }
    if (damaged) continue;
    while (extra.length && extra[extra.length - 1]!.length === 0) extra.pop();
    if (extra.length && extra[0]!.length === 0) {
      // The block ended at a line end as declared: the length was right and the lines that
      // follow are debris between records.
      sink.bad(READER, { reason: 'malformed-warc-record', where: `${path} byte ${start}`, detail: `${extra.length} line(s) of non-WARC text after record ${headers.get('warc-record-id') ?? '?'}`, sample: extra.find((b) => b.length)?.toString('latin1', 0, 120) ?? '' });
    } else if (extra.length) {
      // The block ended mid-line: the declared length was short; the rest of the text belongs here.
      sink.bad(READER, { reason: 'content-length-mismatch-repaired', where: `${path} byte ${start}`, detail: `record ${headers.get('warc-record-id') ?? '?'}: ${extra.length} line(s) after the declared ${len} bytes were kept` });
      block = Buffer.concat([block, ...extra.flatMap((b) => [b, Buffer.from('\n')])]);
    }
    yield { headers, block, offset: start };
  }
  if (src.error) sink.bad(READER, { reason: 'truncated-compressed-stream', where: `${path} byte ${r.offset}`, detail: src.error });
}

const EMBEDDED = /\n\r?\nWARC\/1\.[01](?:\r?\n|$)/;
const VERSION = 'WARC/1.0';

function findEmbeddedRecord(block: Buffer): number {
  // latin1 keeps byte offsets equal to string offsets.
  const text = block.toString('latin1');
  const m = EMBEDDED.exec(text);
  if (m) return m.index + (m[0].startsWith('\n\r\n') ? 3 : 2);
  // The block may also end inside the next version line ("...\n\nWAR").
  const blank = text.lastIndexOf('\n\n');
  if (blank >= 0 && blank >= text.length - 2 - VERSION.length) {
    const tail = text.slice(blank + 2);
    if (tail.length > 0 && VERSION.startsWith(tail)) return blank + 2;
  }
  return -1;
}

function stripAngles(s: string | undefined): string | undefined {
  return s === undefined ? undefined : s.replace(/^<(.*)>$/, '$1');
}

interface HttpResponse { status: number; headers: Map<string, string>; body: Buffer }

/** Splits an HTTP/1.x response block into status, headers and body; null if it is not one. */
export function parseHttpResponse(block: Buffer): HttpResponse | null {
  let end = block.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (end < 0) {
    end = block.indexOf('\n\n');
    sepLen = 2;
  }
  if (end < 0) return null;
  const head = block.toString('latin1', 0, end).split(/\r?\n/);
  const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(head[0] ?? '');
  if (!m) return null;
  const headers = new Map<string, string>();
  for (const h of head.slice(1)) {
    const c = h.indexOf(':');
    if (c > 0) headers.set(h.slice(0, c).trim().toLowerCase(), h.slice(c + 1).trim());
  }
  let body = block.subarray(end + sepLen);
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) body = dechunk(body);
  return { status: Number(m[1]), headers, body };
}

/** Decodes an HTTP/1.1 chunked body (wget stores it as received); stops at a malformed size. */
export function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(body.toString('latin1', pos, eol).split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size <= 0) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return parts.length ? Buffer.concat(parts) : body;
}

function charsetOf(contentType: string | undefined, body: Buffer): string {
  const fromHeader = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType ?? '');
  if (fromHeader) return fromHeader[1]!.toLowerCase();
  const sniff = body.toString('latin1', 0, Math.min(body.length, 4096));
  const fromMeta = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(sniff);
  return fromMeta ? fromMeta[1]!.toLowerCase() : 'utf-8';
}

export interface WarcDocOptions {
  /** Corpus name for Doc.source (default "commoncrawl"). */
  source?: string;
}

export async function* readWarcDocs(path: string, sink: BadRecordSink, opts: WarcDocOptions = {}): AsyncGenerator<Doc> {
  const source = opts.source ?? 'commoncrawl';
  for await (const rec of readWarcRecords(path, sink)) {
    const type = rec.headers.get('warc-type');
    // File + offset is unique even where record ids repeat (CCNet's own sample reuses one).
    const recordId = rec.headers.get('warc-record-id');
    const id = `${basename(path)}@${rec.offset}`;
    const url = stripAngles(rec.headers.get('warc-target-uri'));
    const meta: Record<string, unknown> = { url, date: rec.headers.get('warc-date'), recordId, file: path, offset: rec.offset };
    if (type === 'conversion') {
      const text = decodeUtf8(rec.block);
      if (text === null) {
        sink.bad(READER, { reason: 'invalid-utf8', where: `${path} byte ${rec.offset}`, detail: `WET record ${id}` });
        continue;
      }
      const digest = rec.headers.get('warc-block-digest');
      if (digest) meta.digest = digest;
      yield { id, text: text.replace(/\s+$/, ''), source, meta };
    } else if (type === 'response') {
      const http = parseHttpResponse(rec.block);
      if (http === null) {
        sink.bad(READER, { reason: 'malformed-http-response', where: `${path} byte ${rec.offset}`, detail: `record ${id}`, sample: rec.block.toString('latin1', 0, 120) });
        continue;
      }
      const ctype = http.headers.get('content-type') ?? '';
      if (http.status !== 200 || !/html/i.test(ctype)) continue; // redirects, images, PDFs: no page text
      let decoder: TextDecoder;
      try {
        decoder = new TextDecoder(charsetOf(ctype, http.body));
      } catch {
        decoder = new TextDecoder('utf-8');
      }
      const text = htmlToText(decoder.decode(http.body));
      meta.status = http.status;
      yield { id, text, source, meta };
    }
  }
}
