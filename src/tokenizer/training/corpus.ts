/**
 * Streams the lines of training files (split at "\n" only, like std::getline; "\r" stays), checks
 * each is UTF-8, and keeps either every line or a seeded reservoir sample of `sampleSize` lines,
 * so a corpus larger than memory can be used.
 */
import { createReadStream } from 'node:fs';
import { firstInvalidUtf8 } from '../utf8.js';

export class CorpusError extends Error {}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Calls `onLine` for each line of each file in order; reports progress with the bytes read. */
export async function forEachLine(files: readonly string[], onLine: (line: string) => void,
  onProgress?: (file: string, bytes: number) => void): Promise<void> {
  for (const file of files) {
    let lineNo = 0;
    let offset = 0; // byte offset of the current line's start
    let pending: Buffer | null = null;
    let read = 0;
    const emit = (bytes: Uint8Array) => {
      lineNo++;
      const bad = firstInvalidUtf8(bytes);
      if (bad >= 0) {
        throw new CorpusError(`${file}: line ${lineNo} is not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at byte offset ${offset + bad}); convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)`);
      }
      onLine(decoder.decode(bytes));
      offset += bytes.length + 1;
    };
    let stream;
    try {
      stream = createReadStream(file, { highWaterMark: 1 << 20 });
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        read += chunk.length;
        let buf: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
        let start = 0;
        for (;;) {
          const nl = buf.indexOf(0x0a, start);
          if (nl < 0) break;
          emit(buf.subarray(start, nl));
          start = nl + 1;
        }
        pending = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
        buf = Buffer.alloc(0);
        onProgress?.(file, read);
      }
    } catch (e) {
      if (e instanceof CorpusError) throw e;
      throw new CorpusError(`cannot read training input ${file}: ${(e as Error).message}`);
    }
    if (pending && pending.length) emit(pending);
  }
}

/** A reservoir sample of lines (Vitter's algorithm R) with a seeded generator. */
export class LineSampler {
  readonly lines: string[] = [];
  total = 0;
  private state: number;
  constructor(private readonly size: number, seed: number) { this.state = (seed >>> 0) || 1; }
  private random(): number {
    // xorshift32: deterministic and fast; SentencePiece's mt19937 sample cannot be reproduced exactly.
    let x = this.state;
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    this.state = x;
    return x / 4294967296;
  }
  add(line: string): void {
    this.total++;
    if (this.lines.length < this.size) { this.lines.push(line); return; }
    const n = Math.floor(this.random() * this.total);
    if (n < this.size) this.lines[n] = line;
  }
}
