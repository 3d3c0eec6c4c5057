/**
 * Multi-member gzip with recovery from a corrupt member (CommonCrawl writes one gzip member per
 * WARC record, so one damaged member should cost one record, not the rest of the file).
 *
 * Decoding uses Node's zlib (fast, and it checks every member's CRC), fed 16 KiB at a time so that
 * an error loses at most the output of the last piece. When it fails before the end of the file:
 *   1. fflate's streaming gunzip, run again over the failed segment with its output discarded,
 *      reports where each member starts (`onmember`) and how much output precedes it;
 *   2. the members overlapping the failing piece are decoded one by one with zlib: the good ones
 *      give back any output the failure swallowed, the first bad one is skipped;
 *   3. decoding resumes at the next member (or, if it cannot be located, at the next gzip header).
 * Each skipped member is recorded as a gap (where bytes are missing, and where the bad member's
 * already-delivered output began), so readers can drop exactly the records it touched instead of
 * splicing two records together.
 * Only damaged files pay for the second pass; memory stays bounded by a piece plus one member.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import { Gunzip } from 'fflate';

export interface Gap {
  /** Offset in the decompressed stream where bytes are missing. */
  at: number;
  /**
   * Start of the damaged member's output: bytes in [from, at) came from the bad member before its
   * error was detected (e.g. all of it, when only its CRC is wrong) and must not be trusted.
   */
  from: number;
  detail: string;
}

export interface GzipState {
  gaps: Gap[];
  /** Set when the stream ends early (truncated last member) or cannot be resumed. */
  error?: string;
}

const PIECE = 16 << 10;
/** Members larger than this are not re-decoded on their own during recovery. */
const MAX_MEMBER = 64 << 20;

interface SegmentResult {
  failure: string | null;
  /** Compressed offsets (relative to the segment) of the piece being decoded when it failed. */
  pieceStart: number;
  pieceEnd: number;
}

/** zlib over the file from `start`, one piece at a time; output queued from 'data' events. */
async function* decodeSegment(path: string, start: number, result: SegmentResult): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({ chunkSize: 1 << 16 });
  const queue: Buffer[] = [];
  const w: { consumer: (() => void) | null; producer: (() => void) | null; finished: boolean } = { consumer: null, producer: null, finished: false };
  const wakeConsumer = () => {
    const f = w.consumer;
    w.consumer = null;
    f?.();
  };
  gunzip.on('data', (c: Buffer) => {
    queue.push(c);
    wakeConsumer();
  });
  gunzip.on('end', () => {
    w.finished = true;
    wakeConsumer();
  });
  gunzip.on('error', (e) => {
    result.failure ??= e.message;
    w.finished = true;
    wakeConsumer();
  });
  const file = createReadStream(path, { start, highWaterMark: PIECE });
  const failed = new Promise<void>((r) => gunzip.once('error', () => r()));
  const producer = (async () => {
    let offset = 0;
    try {
      for await (const chunk of file) {
        const piece = chunk as Buffer;
        while (queue.length > 8 && !w.finished) await new Promise<void>((r) => (w.producer = r));
        if (w.finished) return;
        result.pieceStart = offset;
        result.pieceEnd = offset + piece.length;
        offset += piece.length;
        await Promise.race([new Promise<void>((r) => gunzip.write(piece, () => r())), failed]);
        if (w.finished) return;
      }
      result.pieceStart = result.pieceEnd = offset;
      gunzip.end();
    } catch (e) {
      result.failure ??= (e as Error).message;
      w.finished = true;
      wakeConsumer();
    }
  })();
  try {
    for (;;) {
      if (queue.length) {
        const c = queue.shift()!;
        if (queue.length <= 8 && w.producer) {
          const f = w.producer;
          w.producer = null;
          f();
        }
        yield c;
      } else if (w.finished) break;
      else await new Promise<void>((r) => (w.consumer = r));
    }
  } finally {
    w.finished = true;
    w.producer?.();
    file.destroy();
    gunzip.destroy();
    await producer;
  }
}

interface MemberMap {
  /** Compressed start of each member, relative to the segment start. */
  starts: number[];
  /** Decompressed offset (in the segment's output) where each member's output begins. */
  outAt: number[];
}

/** Member boundaries of the segment, far enough to cover `until` and the member after it. */
async function mapMembers(path: string, start: number, until: number): Promise<MemberMap> {
  const map: MemberMap = { starts: [0], outAt: [0] };
  let out = 0;
  const g = new Gunzip((chunk) => {
    out += chunk.length;
  });
  g.onmember = (offset) => {
    map.starts.push(offset);
    map.outAt.push(out);
  };
  try {
    for await (const chunk of createReadStream(path, { start, highWaterMark: 1 << 16 })) {
      g.push(new Uint8Array(chunk as Buffer));
      if (map.starts[map.starts.length - 1]! > until && map.starts.length >= 2) break;
    }
  } catch {
    // fflate failed inside a member: boundaries up to it are known, which is what we need.
  }
  return map;
}

async function readRange(path: string, from: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, from);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Compressed offset of the next plausible gzip header at or after `from`, or -1. */
async function nextHeader(path: string, from: number): Promise<number> {
  let carry = Buffer.alloc(0);
  let base = from;
  for await (const c of createReadStream(path, { start: from, highWaterMark: 1 << 16 })) {
    const buf = carry.length ? Buffer.concat([carry, c as Buffer]) : (c as Buffer);
    for (let i = buf.indexOf(0x1f); i >= 0 && i + 3 < buf.length; i = buf.indexOf(0x1f, i + 1)) {
      // ID1 ID2, CM = 8 (deflate), reserved FLG bits clear.
      if (buf[i + 1] === 0x8b && buf[i + 2] === 0x08 && (buf[i + 3]! & 0xe0) === 0) return base + i;
    }
    const keep = Math.min(3, buf.length);
    carry = Buffer.from(buf.subarray(buf.length - keep));
    base += buf.length - keep;
  }
  return -1;
}

export async function* gunzipWithRecovery(path: string, state: GzipState): AsyncGenerator<Buffer> {
  let start = 0;
  let produced = 0;
  for (;;) {
    const result: SegmentResult = { failure: null, pieceStart: 0, pieceEnd: 0 };
    let segment = 0;
    for await (const chunk of decodeSegment(path, start, result)) {
      segment += chunk.length;
      produced += chunk.length;
      yield chunk;
    }
    const failure = result.failure;
    if (failure === null) return;
    if (/unexpected end/i.test(failure)) {
      state.error = `truncated gzip stream (${failure})`;
      return;
    }
    // Which member failed? Check, one by one, the members that overlap the failing piece.
    const map = await mapMembers(path, start, result.pieceEnd);
    let bad = -1;
    for (let k = 0; k < map.starts.length; k++) {
      const s = map.starts[k]!;
      const e = map.starts[k + 1];
      if (e !== undefined && e <= result.pieceStart) continue; // decoded before the failing piece
      if (e === undefined || e - s > MAX_MEMBER) {
        bad = k;
        break;
      }
      let out: Buffer;
      try {
        out = gunzipSync(await readRange(path, start + s, e - s));
      } catch {
        bad = k;
        break;
      }
      // A good member: hand out whatever of its output the failure swallowed.
      const have = segment - map.outAt[k]!;
      if (have < out.length) {
        const missing = out.subarray(Math.max(0, have));
        segment += missing.length;
        produced += missing.length;
        yield missing;
      }
    }
    if (bad < 0) bad = map.starts.length - 1;
    const badAt = start + map.starts[bad]!;
    const from = Math.min(produced, produced - segment + (map.outAt[bad] ?? segment));
    const next = map.starts[bad + 1] !== undefined ? start + map.starts[bad + 1]! : await nextHeader(path, badAt + 1);
    const detail = `corrupt gzip member at byte ${badAt} (${failure})`;
    if (next < 0) {
      state.error = `${detail}; no gzip member after it`;
      return;
    }
    state.gaps.push({ at: produced, from, detail: `${detail}; resumed at byte ${next}` });
    start = next;
  }
}
