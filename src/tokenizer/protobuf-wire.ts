/**
 * A minimal protobuf wire-format reader and writer (varint, 64-bit, length-delimited, 32-bit).
 *
 * Why hand-written rather than protobufjs: SentencePiece's ModelProto is a handful of flat proto2
 * messages; a schema-driven codec of ~150 lines needs no code generation step, keeps fields we do
 * not know (so a model we rewrite keeps them byte for byte), and reports the byte offset of a
 * malformed field, which a generic library does not.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** One field as it appears on the wire. `value` is a bigint for varints, bytes otherwise. */
export interface RawField {
  no: number;
  wire: number;
  /** varint: the value; fixed64/fixed32/len: the raw bytes. */
  value: bigint | Uint8Array;
}

export class WireError extends Error {}

/** Reads every field of one message; `where` names the message for errors. */
export function readFields(buf: Uint8Array, where: string, base = 0): RawField[] {
  const fields: RawField[] = [];
  let pos = 0;
  const fail = (msg: string): never => {
    throw new WireError(`${where}: ${msg} at byte offset ${base + pos}`);
  };
  // Varints of up to 7 bytes (49 bits) are summed as numbers; longer ones (negative int32s are
  // written as 10 bytes) as bigints. Model files hold ~5 varints per piece, so this matters.
  const varint = (): bigint | number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (pos >= buf.length) fail('truncated varint');
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    let big = BigInt(result);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (pos >= buf.length) fail('truncated varint');
      const b = buf[pos++];
      big |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, big);
      shift += 7n;
    }
    return fail('varint longer than 10 bytes');
  };
  const small = (what: string): number => {
    const v = varint();
    if (typeof v !== 'number') return fail(`${what} too large`);
    return v;
  };
  while (pos < buf.length) {
    const start = pos;
    const key = small('field key');
    const no = Math.floor(key / 8);
    const wire = key % 8;
    if (no === 0) { pos = start; fail('field number 0 (not a protobuf message)'); }
    let value: bigint | Uint8Array;
    switch (wire) {
      case WIRE_VARINT: { const v = varint(); value = typeof v === 'number' ? BigInt(v) : v; break; }
      case WIRE_FIXED64:
        if (pos + 8 > buf.length) fail(`truncated 64-bit field ${no}`);
        value = buf.subarray(pos, pos + 8); pos += 8; break;
      case WIRE_FIXED32:
        if (pos + 4 > buf.length) fail(`truncated 32-bit field ${no}`);
        value = buf.subarray(pos, pos + 4); pos += 4; break;
      case WIRE_LEN: {
        const len = small(`length of field ${no}`);
        if (len > buf.length - pos) fail(`field ${no} claims ${len} bytes but only ${buf.length - pos} remain (truncated file?)`);
        value = buf.subarray(pos, pos + len); pos += len; break;
      }
      default: pos = start; return fail(`unsupported wire type ${wire} for field ${no} (not a protobuf message?)`);
    }
    fields.push({ no, wire, value });
  }
  return fields;
}

/** Accumulates an encoded message. */
export class WireWriter {
  private chunks: number[] = [];
  private parts: Uint8Array[] = [];

  private flushBytes(): void {
    if (this.chunks.length) { this.parts.push(Uint8Array.from(this.chunks)); this.chunks = []; }
  }
  varint(v: bigint): void {
    // Negative int32/int64 are written as 10-byte two's complement, as protobuf does.
    let x = v < 0n ? (v + (1n << 64n)) : v;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      this.chunks.push(b);
    } while (x !== 0n);
  }
  key(no: number, wire: number): void { this.varint(BigInt(no * 8 + wire)); }
  bytes(no: number, data: Uint8Array): void {
    this.key(no, WIRE_LEN);
    this.varint(BigInt(data.length));
    this.flushBytes();
    this.parts.push(data);
  }
  raw(f: RawField): void {
    this.key(f.no, f.wire);
    if (f.wire === WIRE_VARINT) this.varint(f.value as bigint);
    else if (f.wire === WIRE_LEN) { this.varint(BigInt((f.value as Uint8Array).length)); this.flushBytes(); this.parts.push(f.value as Uint8Array); }
    else { this.flushBytes(); this.parts.push(f.value as Uint8Array); }
  }
  float32(no: number, v: number): void {
    this.key(no, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.flushBytes();
    this.parts.push(b);
  }
  finish(): Uint8Array {
    this.flushBytes();
    let n = 0;
    for (const p of this.parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
export function decodeUtf8Strict(b: Uint8Array, where: string): string {
  try { return utf8.decode(b); } catch { throw new WireError(`${where}: string is not valid UTF-8`); }
}
export function readFloat32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
}
/** int32 fields hold negative numbers as 64-bit two's complement varints. */
export function toInt32(v: bigint): number { return Number(BigInt.asIntN(32, v)); }
