/**
 * GGUF (llama.cpp's file format, version 2 and 3) as a container: metadata key/values and tensor
 * infos, with the tensor data read lazily from file offsets. Little endian throughout:
 *   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
 *   n_kv    x { string key | u32 value_type | value }           (array = u32 elem_type | u64 n | elems)
 *   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
 *   padding to general.alignment (default 32), then the tensor data; each tensor at data_start +
 *   offset, offset a multiple of the alignment. ne[0] is the contiguous dimension.
 *   string = u64 byte length + UTF-8 bytes.
 * LLaMA-specific names and keys live in gguf-llama.ts.
 */
import { RandomAccessFile, alignUp, writeAtomically } from './file-io.js';
import type { ByteSource } from './byte-source.js';
import { tensorBytes, type DType } from './dtype.js';

export enum GgufType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** A metadata value with its GGUF type kept, so a file can be rewritten unchanged. */
export interface GgufValue {
  type: GgufType;
  /** number (u64/i64 as number when safe, else bigint), boolean, string, or an array of those */
  value: unknown;
  /** for arrays: the element type */
  elemType?: GgufType;
}

/** ggml tensor types this project reads and writes; any other is reported by number and name. */
const GGML_TYPES: Record<number, DType> = { 0: 'f32', 1: 'f16', 2: 'q4_0', 8: 'q8_0', 12: 'q4_k', 13: 'q5_k', 14: 'q6_k', 30: 'bf16' };
const GGML_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K',
  11: 'Q3_K', 12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS',
  19: 'IQ1_S', 20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32',
  27: 'I64', 28: 'F64', 29: 'IQ1_M', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 39: 'MXFP4',
};
export const ggmlTypeOf = (t: DType): number => Number(Object.keys(GGML_TYPES).find((k) => GGML_TYPES[Number(k)] === t));

export interface GgufTensorInfo {
  name: string;
  /** ggml order: ne[0] is the contiguous (innermost) dimension */
  ne: number[];
  dtype: DType;
  /** absolute byte offset of the data in the file */
  fileOffset: number;
  byteLength: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  dataOffset: number;
  file: ByteSource;
}

// ignoreBOM: a piece that is U+FEFF itself (Meta's id 30143) must survive decoding
const UTF8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const MAGIC = 0x46554747; // "GGUF" read as u32 LE
const MAX_DIMS = 4;

/** Reads the header through a window that grows on demand (vocabularies make headers megabytes). */
class HeaderCursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  constructor(private readonly file: ByteSource) {}

  private need(n: number, what: string): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos + n > this.file.size) {
      throw new Error(`${this.file.path} is truncated or corrupt: ${what} at byte ${this.pos} needs ${n} bytes ` +
        `but the file ends at ${this.file.size}`);
    }
    const size = Math.min(this.file.size, Math.max(this.pos + n, this.buf.length * 2, 1 << 20));
    this.buf = this.file.read(0, size, 'the GGUF header');
    this.view = new DataView(this.buf.buffer);
  }

  u8(what: string) { this.need(1, what); return this.view.getUint8(this.pos++); }
  i8(what: string) { this.need(1, what); return this.view.getInt8(this.pos++); }
  u16(what: string) { this.need(2, what); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(what: string) { this.need(2, what); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(what: string) { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(what: string) { this.need(4, what); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(what: string) { this.need(4, what); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(what: string) { this.need(8, what); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64(what: string): number | bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true); this.pos += 8;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  i64(what: string): number | bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true); this.pos += 8;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
  }
  /** a u64 that must be a reasonable count/size */
  size(what: string, max: number): number {
    const at = this.pos;
    const v = this.u64(what);
    if (typeof v !== 'number' || v > max) {
      throw new Error(`${this.file.path} is corrupt: ${what} at byte ${at} is ${v}, more than the file could hold (${max})`);
    }
    return v;
  }
  str(what: string): string {
    const n = this.size(`length of ${what}`, this.file.size);
    this.need(n, what);
    const s = UTF8.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

function readScalar(c: HeaderCursor, type: GgufType, what: string): unknown {
  switch (type) {
    case GgufType.UINT8: return c.u8(what);
    case GgufType.INT8: return c.i8(what);
    case GgufType.UINT16: return c.u16(what);
    case GgufType.INT16: return c.i16(what);
    case GgufType.UINT32: return c.u32(what);
    case GgufType.INT32: return c.i32(what);
    case GgufType.FLOAT32: return c.f32(what);
    case GgufType.BOOL: {
      const at = c.pos;
      const b = c.u8(what);
      if (b > 1) throw new Error(`corrupt GGUF: ${what} at byte ${at} is a bool with value ${b}`);
      return b === 1;
    }
    case GgufType.STRING: return c.str(what);
    case GgufType.UINT64: return c.u64(what);
    case GgufType.INT64: return c.i64(what);
    case GgufType.FLOAT64: return c.f64(what);
    default: throw new Error(`corrupt GGUF: ${what} at byte ${c.pos} has unknown value type ${type}`);
  }
}

/** The shortest decimal that rounds to the same float32 (so 1e-5 stored as f32 reads back as 1e-5). */
function shortestF32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

/** elem_type, count and elements of an array (nested arrays repeat this without a value type). */
function readArrayBody(c: HeaderCursor, key: string, fileSize: number): GgufValue {
  const at = c.pos;
  const elemType = c.u32(`array element type of '${key}'`) as GgufType;
  const n = c.size(`array length of '${key}'`, fileSize);
  if (elemType === GgufType.ARRAY) {
    const value: GgufValue[] = [];
    for (let i = 0; i < n; i++) value.push(readArrayBody(c, `${key}[${i}]`, fileSize));
    return { type: GgufType.ARRAY, elemType, value };
  }
  if (!(elemType in GgufType)) throw new Error(`corrupt GGUF: array '${key}' at byte ${at} has unknown element type ${elemType}`);
  const value: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) value[i] = readScalar(c, elemType, `${key}[${i}]`);
  return { type: GgufType.ARRAY, elemType, value };
}

function readValue(c: HeaderCursor, key: string, fileSize: number): GgufValue {
  const at = c.pos;
  const type = c.u32(`value type of '${key}'`) as GgufType;
  if (type === GgufType.ARRAY) return readArrayBody(c, key, fileSize);
  if (!(type in GgufType)) throw new Error(`corrupt GGUF: key '${key}' at byte ${at} has unknown value type ${type}`);
  const value = readScalar(c, type, `value of '${key}'`);
  return { type, value: type === GgufType.FLOAT32 ? shortestF32(value as number) : value };
}

/**
 * Opens a GGUF file (a path, or any ByteSource such as bytes in memory) and parses its header;
 * tensor data stays in the source until read.
 */
export function openGguf(source: string | ByteSource): GgufFile {
  const file = typeof source === 'string' ? new RandomAccessFile(source) : source;
  const path = file.path;
  try {
    const c = new HeaderCursor(file);
    if (file.size < 24) throw new Error(`${path} is not a GGUF file: only ${file.size} bytes`);
    const magic = c.u32('magic');
    if (magic !== MAGIC) throw new Error(`${path} is not a GGUF file: bytes 0-3 are 0x${magic.toString(16)}, expected "GGUF"`);
    const version = c.u32('version');
    if (version !== 2 && version !== 3) {
      throw new Error(`${path}: GGUF version ${version} is not supported (versions 2 and 3 are); reconvert it with a current llama.cpp`);
    }
    const nTensors = c.size('tensor count', file.size);
    const nKv = c.size('metadata count', file.size);
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < nKv; i++) {
      const key = c.str(`key of metadata entry ${i}`);
      metadata.set(key, readValue(c, key, file.size));
    }
    const alignV = metadata.get('general.alignment');
    const alignment = alignV ? Number(alignV.value) : 32;
    if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
      throw new Error(`${path}: general.alignment ${alignV?.value} must be a positive multiple of 8`);
    }
    const infos: { name: string; ne: number[]; ggmlType: number; offset: number; at: number }[] = [];
    for (let i = 0; i < nTensors; i++) {
      const at = c.pos;
      const name = c.str(`name of tensor ${i}`);
      const nDims = c.u32(`dimension count of tensor '${name}'`);
      if (nDims < 1 || nDims > MAX_DIMS) throw new Error(`${path}: tensor '${name}' (info at byte ${at}) has ${nDims} dimensions; GGUF allows 1-${MAX_DIMS}`);
      const ne: number[] = [];
      for (let d = 0; d < nDims; d++) ne.push(c.size(`ne[${d}] of tensor '${name}'`, file.size * 8));
      const ggmlType = c.u32(`type of tensor '${name}'`);
      const offset = c.size(`data offset of tensor '${name}'`, file.size);
      infos.push({ name, ne, ggmlType, offset, at });
    }
    const dataOffset = alignUp(c.pos, alignment);
    const tensors: GgufTensorInfo[] = infos.map((t) => {
      const dtype = GGML_TYPES[t.ggmlType];
      if (!dtype) {
        const known = GGML_TYPE_NAMES[t.ggmlType];
        throw new Error(`${path}: tensor '${t.name}' (info at byte ${t.at}) has ggml type ${t.ggmlType}` +
          `${known ? ` (${known})` : ' (unknown)'}, which llama-ts does not support; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K ` +
          `(requantize with llama-quantize or convert from an F16/F32 file)`);
      }
      if (t.offset % alignment !== 0) throw new Error(`${path}: tensor '${t.name}' data offset ${t.offset} is not aligned to ${alignment}`);
      let byteLength: number;
      try {
        byteLength = tensorBytes(dtype, [...t.ne].reverse());
      } catch (e) {
        throw new Error(`${path}: tensor '${t.name}' shape [${t.ne.join(', ')}]: ${(e as Error).message}`);
      }
      const fileOffset = dataOffset + t.offset;
      if (fileOffset + byteLength > file.size) {
        throw new Error(`${path} is truncated: tensor '${t.name}' needs bytes [${fileOffset}, ${fileOffset + byteLength}) ` +
          `but the file has ${file.size} bytes`);
      }
      return { name: t.name, ne: t.ne, dtype, fileOffset, byteLength };
    });
    return { path, version, metadata, tensors, alignment, dataOffset, file };
  } catch (e) {
    file.close();
    throw e;
  }
}

// ---------------------------------------------------------------- writing

class ByteSink {
  private chunks: Uint8Array[] = [];
  length = 0;
  private scratch = new DataView(new ArrayBuffer(8));
  private push(b: Uint8Array) { this.chunks.push(b); this.length += b.length; }
  private fixed(n: number, f: (v: DataView) => void) { f(this.scratch); this.push(new Uint8Array(this.scratch.buffer.slice(0, n))); }
  u8(v: number) { this.fixed(1, (d) => d.setUint8(0, v)); }
  i8(v: number) { this.fixed(1, (d) => d.setInt8(0, v)); }
  u16(v: number) { this.fixed(2, (d) => d.setUint16(0, v, true)); }
  i16(v: number) { this.fixed(2, (d) => d.setInt16(0, v, true)); }
  u32(v: number) { this.fixed(4, (d) => d.setUint32(0, v, true)); }
  i32(v: number) { this.fixed(4, (d) => d.setInt32(0, v, true)); }
  f32(v: number) { this.fixed(4, (d) => d.setFloat32(0, v, true)); }
  f64(v: number) { this.fixed(8, (d) => d.setFloat64(0, v, true)); }
  u64(v: number | bigint) { this.fixed(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  i64(v: number | bigint) { this.fixed(8, (d) => d.setBigInt64(0, BigInt(v), true)); }
  str(s: string) { const b = new TextEncoder().encode(s); this.u64(b.length); this.push(b); }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    return out;
  }
}

function writeScalar(s: ByteSink, type: GgufType, v: unknown, key: string): void {
  const num = () => {
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`GGUF metadata '${key}': ${GgufType[type]} value ${String(v)} is not a number`);
    return v as number;
  };
  switch (type) {
    case GgufType.UINT8: return s.u8(num());
    case GgufType.INT8: return s.i8(num());
    case GgufType.UINT16: return s.u16(num());
    case GgufType.INT16: return s.i16(num());
    case GgufType.UINT32: return s.u32(num());
    case GgufType.INT32: return s.i32(num());
    case GgufType.FLOAT32: return s.f32(num());
    case GgufType.BOOL: return s.u8(v ? 1 : 0);
    case GgufType.STRING:
      if (typeof v !== 'string') throw new Error(`GGUF metadata '${key}': STRING value is not a string`);
      return s.str(v);
    case GgufType.UINT64: return s.u64(num());
    case GgufType.INT64: return s.i64(num());
    case GgufType.FLOAT64: return s.f64(num());
    default: throw new Error(`GGUF metadata '${key}': cannot write value type ${type}`);
  }
}

function writeArrayBody(s: ByteSink, key: string, v: GgufValue): void {
  const elemType = v.elemType;
  if (elemType === undefined) throw new Error(`GGUF metadata '${key}': array without an element type`);
  const arr = v.value as ArrayLike<unknown>;
  s.u32(elemType);
  s.u64(arr.length);
  for (let i = 0; i < arr.length; i++) {
    if (elemType === GgufType.ARRAY) writeArrayBody(s, `${key}[${i}]`, arr[i] as GgufValue);
    else writeScalar(s, elemType, arr[i], key);
  }
}

function writeValue(s: ByteSink, key: string, v: GgufValue): void {
  s.u32(v.type);
  if (v.type === GgufType.ARRAY) writeArrayBody(s, key, v);
  else writeScalar(s, v.type, v.value, key);
}

export interface GgufTensorToWrite {
  name: string;
  /** row-major shape (outermost first); written reversed as ggml's ne */
  shape: readonly number[];
  dtype: DType;
  /** produces the tensor's bytes when its turn comes (one tensor in memory at a time) */
  data(): Uint8Array;
}

/**
 * Writes a GGUF v3 file atomically, tensors streamed one at a time in the given order.
 * `onTensor` reports progress.
 */
export function writeGguf(
  path: string,
  metadata: Map<string, GgufValue>,
  tensors: readonly GgufTensorToWrite[],
  onTensor?: (i: number, name: string) => void,
): void {
  const alignV = metadata.get('general.alignment');
  const alignment = alignV ? Number(alignV.value) : 32;
  const head = new ByteSink();
  head.u32(MAGIC);
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [k, v] of metadata) { head.str(k); writeValue(head, k, v); }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const ggml = ggmlTypeOf(t.dtype);
    if (Number.isNaN(ggml)) throw new Error(`GGUF cannot store tensor '${t.name}' as ${t.dtype}`);
    const bytes = tensorBytes(t.dtype, t.shape);
    head.str(t.name);
    head.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) head.u64(t.shape[d]);
    head.u32(ggml);
    head.u64(offset);
    sizes.push(bytes);
    offset = alignUp(offset + bytes, alignment);
  }
  writeAtomically(path, (w) => {
    w.write(head.bytes());
    const dataStart = alignUp(w.position, alignment);
    w.padTo(dataStart);
    tensors.forEach((t, i) => {
      const bytes = t.data();
      if (bytes.length !== sizes[i]) {
        throw new Error(`writing ${path}: tensor '${t.name}' produced ${bytes.length} bytes, ${t.dtype} [${t.shape.join(', ')}] needs ${sizes[i]}`);
      }
      w.write(bytes);
      w.padTo(dataStart + alignUp(w.position - dataStart, alignment));
      onTensor?.(i, t.name);
    });
  });
}

/** Convenience constructors for metadata values. */
export const gv = {
  str: (value: string): GgufValue => ({ type: GgufType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufType.BOOL, value }),
  arr: (elemType: GgufType, value: ArrayLike<unknown>): GgufValue => ({ type: GgufType.ARRAY, elemType, value: Array.from(value) }),
};
