/**
 * One safetensors file: u64 LE header length N, N bytes of JSON
 * { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": {string: string} },
 * then the data (offsets relative to the end of the header). Tensors are read lazily.
 */
import { RandomAccessFile, writeAtomically } from './file-io.js';
import { tensorBytes, type DType } from './dtype.js';

const ST_TO_DTYPE: Record<string, DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
const DTYPE_TO_ST: Partial<Record<DType, string>> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

export interface SafetensorsTensor {
  name: string;
  dtype: DType;
  shape: number[];
  fileOffset: number;
  byteLength: number;
}

export interface SafetensorsFile {
  path: string;
  file: RandomAccessFile;
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100 * 1024 * 1024;

export function openSafetensors(path: string): SafetensorsFile {
  const file = new RandomAccessFile(path);
  try {
    if (file.size < 8) throw new Error(`${path} is not a safetensors file: only ${file.size} bytes`);
    const n = Number(new DataView(file.read(0, 8, 'header length').buffer).getBigUint64(0, true));
    if (n > MAX_HEADER || 8 + n > file.size) {
      throw new Error(`${path} is truncated or not a safetensors file: header length ${n} at byte 0, file has ${file.size} bytes`);
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(file.read(8, n, 'JSON header')));
    } catch (e) {
      throw new Error(`${path}: the JSON header (bytes 8-${8 + n}) does not parse: ${(e as Error).message}`);
    }
    const dataStart = 8 + n;
    const tensors = new Map<string, SafetensorsTensor>();
    let metadata: Record<string, string> = {};
    for (const [name, v] of Object.entries(header)) {
      if (name === '__metadata__') { metadata = (v ?? {}) as Record<string, string>; continue; }
      const info = v as { dtype?: string; shape?: number[]; data_offsets?: number[] };
      const dtype = ST_TO_DTYPE[info.dtype ?? ''];
      if (!dtype) throw new Error(`${path}: tensor '${name}' has dtype ${info.dtype}; llama-ts reads F32, F16 and BF16`);
      if (!Array.isArray(info.shape) || !Array.isArray(info.data_offsets) || info.data_offsets.length !== 2) {
        throw new Error(`${path}: tensor '${name}' has a malformed header entry ${JSON.stringify(v)}`);
      }
      const [b, e] = info.data_offsets;
      const byteLength = tensorBytes(dtype, info.shape);
      if (e - b !== byteLength) {
        throw new Error(`${path}: tensor '${name}' ${info.dtype} [${info.shape.join(', ')}] needs ${byteLength} bytes but data_offsets span ${e - b}`);
      }
      if (dataStart + e > file.size) {
        throw new Error(`${path} is truncated: tensor '${name}' needs bytes [${dataStart + b}, ${dataStart + e}) but the file has ${file.size}`);
      }
      tensors.set(name, { name, dtype, shape: info.shape, fileOffset: dataStart + b, byteLength });
    }
    return { path, file, tensors, metadata };
  } catch (e) {
    file.close();
    throw e;
  }
}

export interface SafetensorsToWrite {
  name: string;
  dtype: DType;
  shape: readonly number[];
  data(): Uint8Array;
}

/** Writes one safetensors file atomically, tensors streamed in order. */
export function writeSafetensors(path: string, tensors: readonly SafetensorsToWrite[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    const st = DTYPE_TO_ST[t.dtype];
    if (!st) throw new Error(`safetensors cannot store '${t.name}' as ${t.dtype} (F32, F16, BF16 only)`);
    const n = tensorBytes(t.dtype, t.shape);
    header[t.name] = { dtype: st, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  const json = JSON.stringify(header);
  const unpadded = new TextEncoder().encode(json).length;
  // pad with spaces so the data starts 8-byte aligned
  const jsonBytes = new TextEncoder().encode(json + ' '.repeat((8 - ((unpadded + 8) % 8)) % 8));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  writeAtomically(path, (w) => {
    w.write(len);
    w.write(jsonBytes);
    for (const t of tensors) {
      const b = t.data();
      if (b.length !== tensorBytes(t.dtype, t.shape)) throw new Error(`writing ${path}: tensor '${t.name}' produced ${b.length} bytes`);
      w.write(b);
    }
  });
}
