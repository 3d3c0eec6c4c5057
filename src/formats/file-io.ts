/**
 * Random-access reads from checkpoint files (positional reads, no whole-file copies: a 7B model
 * is read tensor by tensor straight into its destination) and atomic writes (temp file + rename,
 * so an interrupted conversion never leaves a torn file behind).
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync, fsyncSync } from 'node:fs';

export class RandomAccessFile {
  readonly fd: number;
  readonly size: number;
  private closed = false;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new Error(`cannot open ${path}: ${(e as Error).message}`);
    }
    this.size = fstatSync(this.fd).size;
  }

  /**
   * Fills `dst` with the bytes at [offset, offset + dst.length); `what` names the thing being read
   * so that a truncated file is reported as "... <what> at byte <offset> ...".
   */
  readInto(dst: Uint8Array, offset: number, what: string): Uint8Array {
    if (this.closed) throw new Error(`${this.path}: read of ${what} after the file was closed`);
    const end = offset + dst.length;
    if (!Number.isSafeInteger(end) || offset < 0 || end > this.size) {
      throw new Error(`${this.path} is truncated or corrupt: ${what} needs bytes [${offset}, ${end}) but the file has ${this.size} bytes`);
    }
    let done = 0;
    while (done < dst.length) {
      // readSync takes at most 2 GiB per call
      const n = readSync(this.fd, dst, done, Math.min(dst.length - done, 1 << 30), offset + done);
      if (n <= 0) throw new Error(`${this.path}: unexpected end of file reading ${what} at byte ${offset + done}`);
      done += n;
    }
    return dst;
  }

  read(offset: number, length: number, what: string): Uint8Array {
    return this.readInto(new Uint8Array(length), offset, what);
  }

  close(): void {
    if (!this.closed) { closeSync(this.fd); this.closed = true; }
  }
}

/**
 * Sequential writer to `<path>.tmp-<pid>`, renamed onto `path` by commit(); abort() removes the
 * temp file. Tracks the position so formats can compute offsets and padding.
 */
export class AtomicFileWriter {
  private fd: number;
  private readonly tmp: string;
  position = 0;

  constructor(readonly path: string) {
    this.tmp = `${path}.tmp-${process.pid}`;
    try {
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw new Error(`cannot create ${this.tmp}: ${(e as Error).message}`);
    }
  }

  write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      done += writeSync(this.fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
    }
    this.position += bytes.length;
  }

  /** Writes `at - position` zero bytes (at must not be behind the current position). */
  padTo(at: number): void {
    if (at < this.position) throw new Error(`internal: padTo(${at}) behind position ${this.position}`);
    if (at > this.position) this.write(new Uint8Array(at - this.position));
  }

  /** Overwrites bytes at an earlier position (for headers whose content is known only at the end). */
  writeAt(bytes: Uint8Array, at: number): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, at + done);
  }

  commit(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* already closed */ } this.fd = -1; }
    rmSync(this.tmp, { force: true });
  }
}

/** Runs `body` with an atomic writer: commits on success, removes the temp file on failure. */
export function writeAtomically<T>(path: string, body: (w: AtomicFileWriter) => T): T {
  const w = new AtomicFileWriter(path);
  try {
    const r = body(w);
    w.commit();
    return r;
  } catch (e) {
    w.abort();
    throw e;
  }
}

export const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;
