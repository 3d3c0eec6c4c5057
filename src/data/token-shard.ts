/**
 * Token shards: the tokenized corpus on disk, the hand-off between the data pipeline (which writes
 * them) and the trainer (which reads them).
 *
 * Layout (little-endian; sizes in bytes):
 *
 *   offset  size  field
 *   0       8     magic "LTSHARD\0"
 *   8       4     version (1)
 *   12      4     vocabSize: every token id is < vocabSize
 *   16      4     tokenWidth: 2 (uint16 ids, vocab <= 65536) or 4 (uint32 ids)
 *   20      4     docCount
 *   24      8     tokenCount (uint64; < 2^32 per shard, so the document index can be uint32)
 *   32      4     CRC-32 of the payload (everything after the 64-byte header)
 *   36      4     CRC-32 of header bytes [0, 36)
 *   40      24    reserved, zero
 *   64      ...   tokens: tokenCount ids of tokenWidth bytes, then zero padding to a multiple of 4
 *   ...     ...   docEnds: docCount uint32, the exclusive end (in tokens) of each document;
 *                 non-decreasing, the last one equals tokenCount
 *
 * The document index follows the tokens so a writer can stream tokens to disk and only fill in
 * the header (counts, checksum) when it closes. Files are written to a temporary name and renamed,
 * so a reader never sees a torn shard. Documents carry no BOS/EOS: the loader adds them when it
 * packs documents into training rows, so the same shard serves any packing policy.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as zlib from 'node:zlib';

export const SHARD_MAGIC = 'LTSHARD\0';
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 64;

export interface TokenShardHeader {
  version: number;
  vocabSize: number;
  tokenWidth: 2 | 4;
  docCount: number;
  tokenCount: number;
  payloadCrc: number;
}

export interface TokenShard extends TokenShardHeader {
  path: string;
  /** All token ids of the shard, documents back to back. */
  tokens: Uint16Array | Uint32Array;
  /** docEnds[i] is the exclusive end of document i in `tokens`; document i starts at docEnds[i-1] (or 0). */
  docEnds: Uint32Array;
}

/** The ids of document `i` of a shard (a view, no copy). */
export function shardDocument(shard: TokenShard, i: number): Uint16Array | Uint32Array {
  if (!Number.isInteger(i) || i < 0 || i >= shard.docCount) {
    throw new RangeError(`${shard.path}: document ${i} out of range [0, ${shard.docCount})`);
  }
  const start = i === 0 ? 0 : shard.docEnds[i - 1];
  return shard.tokens.subarray(start, shard.docEnds[i]);
}

// ---- CRC-32 (IEEE): node's zlib.crc32 where present (Node >= 20.15), else a table ----
let table: Uint32Array | null = null;
function crc32Table(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
const nativeCrc = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

/** CRC-32 of `data`, continuing from `prev` (0 to start). */
export function crc32(data: Uint8Array, prev = 0): number {
  // (Node's zlib.crc32 returns 0 for a view on an empty ArrayBuffer instead of `prev`.)
  if (data.length === 0) return prev >>> 0;
  if (nativeCrc) return nativeCrc(data, prev) >>> 0;
  const t = crc32Table();
  let c = ~prev >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export class TokenShardError extends Error {
  constructor(readonly path: string, readonly byteOffset: number, detail: string) {
    super(`token shard ${path}: ${detail} (at byte offset ${byteOffset})`);
  }
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!isLittleEndian) throw new Error('token shards need a little-endian host');

/** The smallest token width that holds ids < vocabSize. */
export function tokenWidthFor(vocabSize: number): 2 | 4 {
  return vocabSize <= 65536 ? 2 : 4;
}

function encodeHeader(h: Omit<TokenShardHeader, 'version'>): Uint8Array {
  const buf = new Uint8Array(SHARD_HEADER_BYTES);
  const dv = new DataView(buf.buffer);
  for (let i = 0; i < 8; i++) buf[i] = SHARD_MAGIC.charCodeAt(i);
  dv.setUint32(8, SHARD_VERSION, true);
  dv.setUint32(12, h.vocabSize, true);
  dv.setUint32(16, h.tokenWidth, true);
  dv.setUint32(20, h.docCount, true);
  dv.setBigUint64(24, BigInt(h.tokenCount), true);
  dv.setUint32(32, h.payloadCrc >>> 0, true);
  dv.setUint32(36, crc32(buf.subarray(0, 36)), true);
  return buf;
}

/**
 * Streams documents into a shard: tokens go to a temporary file as they come; `close()` appends the
 * document index, writes the header and renames the file into place. `abort()` removes the temp file.
 */
export class TokenShardWriter {
  readonly tokenWidth: 2 | 4;
  private fd: number;
  private readonly tmp: string;
  private docEnds: number[] = [];
  private tokenCount = 0;
  private crc = 0;
  private filePos = SHARD_HEADER_BYTES;
  private closed = false;

  constructor(readonly path: string, readonly vocabSize: number) {
    if (!Number.isInteger(vocabSize) || vocabSize <= 0 || vocabSize > 0xffffffff) {
      throw new Error(`token shard ${path}: vocabSize must be a positive integer below 2^32, got ${vocabSize}`);
    }
    this.tokenWidth = tokenWidthFor(vocabSize);
    this.tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
    this.fd = openSync(this.tmp, 'w');
    writeSync(this.fd, new Uint8Array(SHARD_HEADER_BYTES), 0, SHARD_HEADER_BYTES, 0); // placeholder
  }

  get documents(): number { return this.docEnds.length; }
  get tokens(): number { return this.tokenCount; }

  /** Appends one document. Throws (naming the document and position) on an id outside [0, vocabSize). */
  addDocument(ids: ArrayLike<number>): void {
    if (this.closed) throw new Error(`token shard ${this.path}: addDocument after close`);
    const n = ids.length;
    if (this.tokenCount + n > 0xffffffff) {
      throw new Error(`token shard ${this.path}: more than 2^32-1 tokens in one shard; start a new shard`);
    }
    const out = this.tokenWidth === 2 ? new Uint16Array(n) : new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`token shard ${this.path}: document ${this.docEnds.length} token ${i} has id ${id}, outside [0, ${this.vocabSize})`);
      }
      out[i] = id;
    }
    const bytes = new Uint8Array(out.buffer, 0, out.byteLength);
    this.write(bytes);
    this.tokenCount += n;
    this.docEnds.push(this.tokenCount);
  }

  private write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const w = writeSync(this.fd, bytes, off, bytes.length - off, this.filePos);
      off += w;
      this.filePos += w;
    }
    this.crc = crc32(bytes, this.crc);
  }

  /** Finishes the shard and moves it into place; returns its header. */
  close(): TokenShardHeader {
    if (this.closed) throw new Error(`token shard ${this.path}: closed twice`);
    const pad = (4 - ((this.tokenCount * this.tokenWidth) % 4)) % 4;
    if (pad) this.write(new Uint8Array(pad));
    this.write(new Uint8Array(new Uint32Array(this.docEnds).buffer));
    const header = { vocabSize: this.vocabSize, tokenWidth: this.tokenWidth, docCount: this.docEnds.length, tokenCount: this.tokenCount, payloadCrc: this.crc };
    writeSync(this.fd, encodeHeader(header), 0, SHARD_HEADER_BYTES, 0);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;
    renameSync(this.tmp, this.path);
    return { version: SHARD_VERSION, ...header };
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    try { unlinkSync(this.tmp); } catch { /* already gone */ }
  }
}

/** Writes a whole shard at once (atomically). */
export function writeTokenShard(path: string, docs: Iterable<ArrayLike<number>>, vocabSize: number): TokenShardHeader {
  const w = new TokenShardWriter(path, vocabSize);
  try {
    for (const d of docs) w.addDocument(d);
    return w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
}

function decodeHeader(path: string, buf: Uint8Array, fileBytes: number): TokenShardHeader {
  if (fileBytes < SHARD_HEADER_BYTES) {
    throw new TokenShardError(path, fileBytes, `truncated: the file has ${fileBytes} bytes, less than the ${SHARD_HEADER_BYTES}-byte header`);
  }
  for (let i = 0; i < 8; i++) {
    if (buf[i] !== SHARD_MAGIC.charCodeAt(i)) {
      throw new TokenShardError(path, i, `not a llama-ts token shard (bad magic; expected "LTSHARD")`);
    }
  }
  const dv = new DataView(buf.buffer, buf.byteOffset, SHARD_HEADER_BYTES);
  const version = dv.getUint32(8, true);
  if (version !== SHARD_VERSION) {
    throw new TokenShardError(path, 8, `unsupported version ${version} (this build reads version ${SHARD_VERSION})`);
  }
  const headerCrc = crc32(buf.subarray(0, 36));
  if (dv.getUint32(36, true) !== headerCrc) {
    throw new TokenShardError(path, 36, 'header checksum mismatch: the header is corrupt');
  }
  const tokenWidth = dv.getUint32(16, true);
  if (tokenWidth !== 2 && tokenWidth !== 4) throw new TokenShardError(path, 16, `token width ${tokenWidth} is neither 2 nor 4`);
  const tokenCount = Number(dv.getBigUint64(24, true));
  if (tokenCount > 0xffffffff) throw new TokenShardError(path, 24, `token count ${tokenCount} exceeds 2^32-1`);
  return {
    version,
    vocabSize: dv.getUint32(12, true),
    tokenWidth,
    docCount: dv.getUint32(20, true),
    tokenCount,
    payloadCrc: dv.getUint32(32, true),
  };
}

function expectedBytes(h: TokenShardHeader): { tokensEnd: number; indexStart: number; total: number } {
  const tokensEnd = SHARD_HEADER_BYTES + h.tokenCount * h.tokenWidth;
  const indexStart = SHARD_HEADER_BYTES + Math.ceil((h.tokenCount * h.tokenWidth) / 4) * 4;
  return { tokensEnd, indexStart, total: indexStart + 4 * h.docCount };
}

/** Reads and checks just the header (cheap: for listing shards and planning mixtures). */
export function readTokenShardHeader(path: string): TokenShardHeader {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const buf = new Uint8Array(SHARD_HEADER_BYTES);
    readSync(fd, buf, 0, Math.min(size, SHARD_HEADER_BYTES), 0);
    const h = decodeHeader(path, buf, size);
    const { total } = expectedBytes(h);
    if (size < total) throw new TokenShardError(path, size, `truncated: the header promises ${total} bytes (${h.tokenCount} tokens, ${h.docCount} documents) but the file ends`);
    return h;
  } finally {
    closeSync(fd);
  }
}

export interface ReadShardOptions {
  /** The vocabulary size of the model/tokenizer that will consume the shard: a different one is an error. */
  expectVocabSize?: number;
  /** Verify the payload checksum and every id (default true; costs one pass over the file). */
  verify?: boolean;
}

/** Reads a shard into memory once (one allocation, typed-array views on it) and validates it. */
export function readTokenShard(path: string, opts: ReadShardOptions = {}): TokenShard {
  const size = statSync(path).size;
  // A fresh ArrayBuffer (not node's Buffer pool) so the typed views are aligned.
  const buf = new Uint8Array(size);
  const fd = openSync(path, 'r');
  try {
    let off = 0;
    while (off < size) {
      const r = readSync(fd, buf, off, size - off, off);
      if (r === 0) break;
      off += r;
    }
  } finally {
    closeSync(fd);
  }
  const h = decodeHeader(path, buf, size);
  if (opts.expectVocabSize !== undefined && h.vocabSize !== opts.expectVocabSize) {
    throw new TokenShardError(path, 12, `vocabulary size ${h.vocabSize} differs from the model's ${opts.expectVocabSize}: ` +
      'this shard was tokenized with another tokenizer; re-tokenize it with the model\'s tokenizer');
  }
  const { indexStart, total } = expectedBytes(h);
  if (size < total) {
    throw new TokenShardError(path, size, `truncated: the header promises ${total} bytes (${h.tokenCount} tokens, ${h.docCount} documents) but the file has ${size}`);
  }
  if (size > total) throw new TokenShardError(path, total, `${size - total} unexpected bytes after the document index`);
  const verify = opts.verify ?? true;
  if (verify) {
    const crc = crc32(buf.subarray(SHARD_HEADER_BYTES));
    if (crc !== h.payloadCrc) throw new TokenShardError(path, SHARD_HEADER_BYTES, 'payload checksum mismatch: the shard is corrupt; regenerate it');
  }
  const tokens = h.tokenWidth === 2
    ? new Uint16Array(buf.buffer, SHARD_HEADER_BYTES, h.tokenCount)
    : new Uint32Array(buf.buffer, SHARD_HEADER_BYTES, h.tokenCount);
  const docEnds = new Uint32Array(buf.buffer, indexStart, h.docCount);
  let prev = 0;
  for (let i = 0; i < h.docCount; i++) {
    if (docEnds[i] < prev || docEnds[i] > h.tokenCount) {
      throw new TokenShardError(path, indexStart + 4 * i, `document ${i} ends at token ${docEnds[i]}, outside [${prev}, ${h.tokenCount}]`);
    }
    prev = docEnds[i];
  }
  if (prev !== h.tokenCount) {
    throw new TokenShardError(path, indexStart + 4 * Math.max(0, h.docCount - 1), `the last document ends at token ${prev}, not at the token count ${h.tokenCount}`);
  }
  if (verify) {
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] >= h.vocabSize) {
        throw new TokenShardError(path, SHARD_HEADER_BYTES + i * h.tokenWidth, `token ${i} has id ${tokens[i]} >= vocabulary size ${h.vocabSize}`);
      }
    }
  }
  return { ...h, path, tokens, docEnds };
}
