/**
 * What the checkpoint readers need from a file: its size and positional reads. A file on disk
 * (file-io.ts's RandomAccessFile) is one; MemoryByteSource is another, over bytes already in
 * memory — a File the user picked in a web page has no path, only its contents.
 */
export interface ByteSource {
  /** Names the source in error messages (a path, or a file name in the browser). */
  readonly path: string;
  readonly size: number;
  /** Fills `dst` with the bytes at [offset, offset + dst.length); `what` names the thing read for errors. */
  readInto(dst: Uint8Array, offset: number, what: string): Uint8Array;
  read(offset: number, length: number, what: string): Uint8Array;
  close(): void;
}

/** A ByteSource over an in-memory buffer (copies out of it, like reads from a file would). */
export class MemoryByteSource implements ByteSource {
  readonly size: number;
  private closed = false;

  constructor(private readonly bytes: Uint8Array, readonly path: string) {
    this.size = bytes.length;
  }

  readInto(dst: Uint8Array, offset: number, what: string): Uint8Array {
    if (this.closed) throw new Error(`${this.path}: read of ${what} after the file was closed`);
    const end = offset + dst.length;
    if (!Number.isSafeInteger(end) || offset < 0 || end > this.size) {
      throw new Error(`${this.path} is truncated or corrupt: ${what} needs bytes [${offset}, ${end}) but the file has ${this.size} bytes`);
    }
    dst.set(this.bytes.subarray(offset, end));
    return dst;
  }

  read(offset: number, length: number, what: string): Uint8Array {
    return this.readInto(new Uint8Array(length), offset, what);
  }

  close(): void { this.closed = true; }
}
