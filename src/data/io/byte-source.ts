/**
 * Opens a file as a stream of decompressed byte chunks, detecting gzip (incl. multi-member, as
 * CommonCrawl's per-record gzip members) and zstd by their magic bytes, not by file name.
 *
 * A truncated or corrupt compressed stream does not throw: the chunks decoded so far are yielded
 * and `source.error` says what went wrong, so readers can keep the good records before the damage
 * and report the partial last one. A corrupt gzip member in the middle is skipped and decoding
 * resumes at the next member (gzip-recovery.ts); `source.gaps` marks where, and ByteReader stops
 * reads at a gap so a reader never splices the two sides of one.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Decompress } from 'fzstd';
import { gunzipWithRecovery, type Gap } from './gzip-recovery.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export interface ByteSource {
  readonly path: string;
  readonly compression: Compression;
  chunks(): AsyncGenerator<Buffer>;
  /** Set when decompression stopped early (truncated or corrupt stream). */
  error?: string;
  /**
   * Places in the decompressed stream where bytes are missing because a corrupt gzip member was
   * skipped (decoding resumed at the next member). Sorted; filled in as decoding reaches them.
   */
  readonly gaps: Gap[];
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
    gaps: [],
    chunks: () =>
      compression === 'gzip' ? gunzipWithRecovery(path, src) : compression === 'zstd' ? zstdChunks(path, src) : plainChunks(path),
  };
  return src;
}

/**
 * Reads a byte stream by lines and exact lengths (WARC needs both). Keeps at most one pending
 * chunk plus the record being read. Stops at each gap of the source (ByteSource.gaps) once: the
 * line or read that reaches a gap comes back short (possibly empty) with `gapReached` set, so the
 * caller can drop the damaged record; the next read continues after the gap.
 */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private done = false;
  /** Gaps before this index have been reported. */
  private gapIndex = 0;
  /** Offset (in decompressed bytes) of the next unread byte. */
  offset = 0;
  /** Set when a read stopped at a gap; the caller clears it. */
  gapReached: Gap | null = null;

  constructor(private readonly it: AsyncIterator<Buffer>, private readonly gaps: readonly Gap[] = []) {}

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

  private take(n: number): Buffer {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Usable buffered bytes, and whether they end at an unreported gap. */
  private window(): { limit: number; gap: Gap | null } {
    const pending = this.buf.length - this.pos;
    const g = this.gaps[this.gapIndex];
    if (g && g.at - this.offset <= pending) return { limit: Math.max(0, g.at - this.offset), gap: g };
    return { limit: pending, gap: null };
  }

  private stopAtGap(g: Gap, n: number): Buffer {
    this.gapIndex++;
    this.gapReached = g;
    return this.take(n);
  }

  /**
   * Next line without its "\n" (and without a trailing "\r"); null at end of input. A line longer
   * than the buffered data is gathered in parts and joined once (no quadratic copying).
   */
  async readLine(): Promise<Buffer | null> {
    const parts: Buffer[] = [];
    const finish = (last: Buffer): Buffer => {
      let line = parts.length ? Buffer.concat([...parts, last]) : last;
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      return line;
    };
    for (;;) {
      const { limit, gap } = this.window();
      const nl = this.buf.subarray(this.pos, this.pos + limit).indexOf(0x0a);
      if (nl >= 0) {
        const line = this.take(nl);
        this.take(1);
        return finish(line);
      }
      if (gap) return finish(this.stopAtGap(gap, limit));
      if (limit > 0) parts.push(this.take(limit));
      if (!(await this.fill())) return parts.length ? finish(Buffer.alloc(0)) : null;
    }
  }

  /** Exactly n bytes, or fewer at end of input or at a gap (then `gapReached` is set). */
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    const finish = (last: Buffer) => (parts.length ? Buffer.concat([...parts, last]) : last);
    for (;;) {
      const { limit, gap } = this.window();
      if (limit >= n - got) return finish(this.take(n - got));
      if (gap) return finish(this.stopAtGap(gap, limit));
      if (limit > 0) {
        parts.push(this.take(limit));
        got += limit;
      }
      if (!(await this.fill())) return finish(Buffer.alloc(0));
    }
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
