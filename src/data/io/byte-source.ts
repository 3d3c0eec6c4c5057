/**
 * Opens a file as a stream of decompressed byte chunks, detecting gzip (incl. multi-member, as
 * CommonCrawl's per-record gzip members) and zstd by their magic bytes, not by file name.
 *
 * A truncated or corrupt compressed stream does not throw: the chunks decoded so far are yielded
 * and `source.error` says what went wrong, so readers can keep the good records before the damage
 * and report the partial last one.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';

export type Compression = 'gzip' | 'zstd' | 'none';

export interface ByteSource {
  readonly path: string;
  readonly compression: Compression;
  chunks(): AsyncGenerator<Buffer>;
  /** Set when decompression stopped early (truncated or corrupt stream). */
  error?: string;
}

export async function detectCompression(path: string): Promise<Compression> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await fh.close();
  }
}

async function* gunzipChunks(path: string, src: ByteSource): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: 1 << 16 });
  const file = createReadStream(path, { highWaterMark: 1 << 16 });
  file.on('error', (e) => gunzip.destroy(e));
  file.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (e) {
    const msg = (e as Error).message;
    src.error = /unexpected end/i.test(msg) ? `truncated gzip stream (${msg})` : `corrupt gzip stream (${msg})`;
  } finally {
    file.destroy();
  }
}

async function* zstdChunks(path: string, src: ByteSource): AsyncGenerator<Buffer> {
  let out: Buffer[] = [];
  let ended = false;
  const dec = new Decompress((chunk, final) => {
    out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (final) ended = true;
  });
  const file = createReadStream(path);
  try {
    for await (const chunk of file) {
      dec.push(new Uint8Array(chunk as Buffer));
      if (out.length) {
        const ready = out;
        out = [];
        // fzstd may reuse its window buffer, so copy before handing the bytes out.
        for (const b of ready) yield Buffer.from(b);
      }
    }
    dec.push(new Uint8Array(0), true);
    for (const b of out) yield Buffer.from(b);
    out = [];
    if (!ended) src.error = 'truncated zstd stream (ended inside a frame)';
  } catch (e) {
    for (const b of out) yield Buffer.from(b);
    const msg = (e as Error).message;
    src.error = /unexpected EOF|end/i.test(msg) ? `truncated zstd stream (${msg})` : `corrupt zstd stream (${msg})`;
  } finally {
    file.destroy();
  }
}

async function* plainChunks(path: string): AsyncGenerator<Buffer> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) yield chunk as Buffer;
}

export async function openBytes(path: string): Promise<ByteSource> {
  const compression = await detectCompression(path);
  const src: ByteSource = {
    path,
    compression,
    chunks: () =>
      compression === 'gzip' ? gunzipChunks(path, src) : compression === 'zstd' ? zstdChunks(path, src) : plainChunks(path),
  };
  return src;
}

/**
 * Reads a byte stream by lines and exact lengths (WARC needs both). Keeps at most one pending
 * chunk plus the record being read.
 */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  /** Offset (in decompressed bytes) of the next unread byte. */
  offset = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), r.value]) : r.value;
    this.pos = 0;
    return true;
  }

  /** Next line without its "\n" (and without a trailing "\r"); null at end of input. */
  async readLine(): Promise<Buffer | null> {
    let searchFrom = this.pos;
    for (;;) {
      const nl = this.buf.indexOf(0x0a, searchFrom);
      if (nl >= 0) {
        const end = nl > this.pos && this.buf[nl - 1] === 0x0d ? nl - 1 : nl;
        const line = this.buf.subarray(this.pos, end);
        this.offset += nl + 1 - this.pos;
        this.pos = nl + 1;
        return line;
      }
      const pending = this.buf.length - this.pos;
      if (!(await this.fill())) {
        if (pending === 0) return null;
        const line = this.buf.subarray(this.pos);
        this.offset += line.length;
        this.pos = this.buf.length;
        return line;
      }
      searchFrom = this.pos + pending;
    }
  }

  /** Exactly n bytes, or fewer at end of input. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length - this.pos < n && (await this.fill()));
    const take = Math.min(n, this.buf.length - this.pos);
    const out = this.buf.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.offset += take;
    return out;
  }

  /** Puts bytes back in front of the unread input (the offset moves back by their length). */
  unread(bytes: Buffer): void {
    this.buf = Buffer.concat([bytes, this.buf.subarray(this.pos)]);
    this.pos = 0;
    this.offset -= bytes.length;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    return this.pos >= this.buf.length && !(await this.fill());
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly; returns null on invalid bytes so the caller can count the record. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
