/**
 * The zip subset torch.save uses: entries STORED (no compression), zip64 when an entry or offset
 * passes 4 GiB. Reading finds entries through the central directory and returns their data
 * offsets, so tensors are read straight from the file; writing streams entries with their data
 * aligned to 64 bytes (as torch does, so the storages could be memory-mapped).
 */
import { crc32 } from 'node:zlib';
import { RandomAccessFile, type AtomicFileWriter } from './file-io.js';

export interface ZipEntry {
  name: string;
  dataOffset: number;
  size: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

function u64(dv: DataView, at: number): number {
  return Number(dv.getBigUint64(at, true));
}

/** Lists the entries of a zip file (stored entries only; compressed ones are reported as errors). */
export function readZipEntries(file: RandomAccessFile): Map<string, ZipEntry> {
  const path = file.path;
  const tailLen = Math.min(file.size, 65535 + 22);
  const tailStart = file.size - tailLen;
  const tail = file.read(tailStart, tailLen, 'zip end-of-central-directory');
  const tdv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) if (tdv.getUint32(i, true) === SIG_EOCD) { eocd = i; break; }
  if (eocd < 0) throw new Error(`${path} is not a zip archive (no end-of-central-directory record): truncated, or not a torch.save file`);
  let count = tdv.getUint16(eocd + 10, true);
  let cdSize = tdv.getUint32(eocd + 12, true);
  let cdOffset = tdv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const loc = eocd - 20;
    if (loc < 0 || tdv.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) throw new Error(`${path}: zip64 locator missing before byte ${tailStart + eocd}`);
    const z64At = u64(tdv, loc + 8);
    const z = new DataView(file.read(z64At, 56, 'zip64 end-of-central-directory').buffer);
    if (z.getUint32(0, true) !== SIG_ZIP64_EOCD) throw new Error(`${path}: corrupt zip64 end-of-central-directory at byte ${z64At}`);
    count = u64(z, 32);
    cdSize = u64(z, 40);
    cdOffset = u64(z, 48);
  }
  const cd = file.read(cdOffset, cdSize, 'zip central directory');
  const dv = new DataView(cd.buffer);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || dv.getUint32(p, true) !== SIG_CENTRAL) throw new Error(`${path}: corrupt central directory entry ${i} at byte ${cdOffset + p}`);
    const method = dv.getUint16(p + 10, true);
    let size = dv.getUint32(p + 24, true);
    let usize = dv.getUint32(p + 20, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: the fields that overflowed, in this order
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (usize === U32_MAX) { usize = u64(dv, q); q += 8; }
        if (size === U32_MAX) { size = u64(dv, q); q += 8; }
        if (localOffset === U32_MAX) { localOffset = u64(dv, q); q += 8; }
      }
      e += 4 + len;
    }
    if (method !== 0 && !name.endsWith('/')) {
      throw new Error(`${path}: zip entry '${name}' is compressed (method ${method}); torch checkpoints store entries uncompressed`);
    }
    const local = new DataView(file.read(localOffset, 30, `zip local header of '${name}'`).buffer);
    if (local.getUint32(0, true) !== SIG_LOCAL) throw new Error(`${path}: corrupt local header of '${name}' at byte ${localOffset}`);
    const dataOffset = localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
    if (dataOffset + size > file.size) {
      throw new Error(`${path} is truncated: entry '${name}' needs bytes [${dataOffset}, ${dataOffset + size}) but the file has ${file.size}`);
    }
    entries.set(name, { name, dataOffset, size });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

interface Written { name: Uint8Array; crc: number; size: number; offset: number }

/** Streams stored entries into a writer; finish() writes the central directory (zip64 when needed). */
export class ZipWriter {
  private written: Written[] = [];
  /** `forceZip64` writes zip64 records even for small entries (to test readers). */
  constructor(private readonly w: AtomicFileWriter, private readonly align = 64, private readonly forceZip64 = false) {}

  add(name: string, data: Uint8Array): void {
    const nameBytes = new TextEncoder().encode(name);
    const offset = this.w.position;
    const big = this.forceZip64 || data.length >= U32_MAX || offset >= U32_MAX;
    // local header: zip64 sizes go in an extra field; padding goes in a second (id 0x4654, "FB" like torch) extra field
    const z64Len = big ? 20 : 0;
    const base = offset + 30 + nameBytes.length + z64Len;
    const pad = (this.align - ((base + 4) % this.align)) % this.align;
    const extraLen = z64Len + 4 + pad;
    const h = new DataView(new ArrayBuffer(30 + nameBytes.length + extraLen));
    const crc = crc32(data);
    h.setUint32(0, SIG_LOCAL, true);
    h.setUint16(4, big ? 45 : 20, true);
    h.setUint16(6, 0, true);          // flags
    h.setUint16(8, 0, true);          // stored
    h.setUint16(10, 0, true);         // time
    h.setUint16(12, 0x21, true);      // date 1980-01-01
    h.setUint32(14, crc, true);
    h.setUint32(18, big ? U32_MAX : data.length, true);
    h.setUint32(22, big ? U32_MAX : data.length, true);
    h.setUint16(26, nameBytes.length, true);
    h.setUint16(28, extraLen, true);
    new Uint8Array(h.buffer).set(nameBytes, 30);
    let x = 30 + nameBytes.length;
    if (big) {
      h.setUint16(x, 0x0001, true); h.setUint16(x + 2, 16, true);
      h.setBigUint64(x + 4, BigInt(data.length), true); h.setBigUint64(x + 12, BigInt(data.length), true);
      x += 20;
    }
    h.setUint16(x, 0x4654, true); h.setUint16(x + 2, pad, true);
    this.w.write(new Uint8Array(h.buffer));
    this.w.write(data);
    this.written.push({ name: nameBytes, crc, size: data.length, offset });
  }

  finish(): void {
    const cdStart = this.w.position;
    for (const e of this.written) {
      const big = this.forceZip64 || e.size >= U32_MAX || e.offset >= U32_MAX;
      const z64 = big ? 28 : 0;
      const h = new DataView(new ArrayBuffer(46 + e.name.length + z64));
      h.setUint32(0, SIG_CENTRAL, true);
      h.setUint16(4, 45, true);
      h.setUint16(6, big ? 45 : 20, true);
      h.setUint16(12, 0, true);
      h.setUint16(14, 0x21, true);
      h.setUint32(16, e.crc, true);
      h.setUint32(20, big ? U32_MAX : e.size, true);
      h.setUint32(24, big ? U32_MAX : e.size, true);
      h.setUint16(28, e.name.length, true);
      h.setUint16(30, z64, true);
      h.setUint32(42, big ? U32_MAX : e.offset, true);
      new Uint8Array(h.buffer).set(e.name, 46);
      if (big) {
        const x = 46 + e.name.length;
        h.setUint16(x, 0x0001, true); h.setUint16(x + 2, 24, true);
        h.setBigUint64(x + 4, BigInt(e.size), true); h.setBigUint64(x + 12, BigInt(e.size), true);
        h.setBigUint64(x + 20, BigInt(e.offset), true);
      }
      this.w.write(new Uint8Array(h.buffer));
    }
    const cdEnd = this.w.position;
    const cdSize = cdEnd - cdStart;
    const n = this.written.length;
    const need64 = this.forceZip64 || n >= 0xffff || cdStart >= U32_MAX || cdSize >= U32_MAX;
    if (need64) {
      const z = new DataView(new ArrayBuffer(56 + 20));
      z.setUint32(0, SIG_ZIP64_EOCD, true);
      z.setBigUint64(4, 44n, true);
      z.setUint16(12, 45, true); z.setUint16(14, 45, true);
      z.setBigUint64(24, BigInt(n), true); z.setBigUint64(32, BigInt(n), true);
      z.setBigUint64(40, BigInt(cdSize), true); z.setBigUint64(48, BigInt(cdStart), true);
      z.setUint32(56, SIG_ZIP64_LOCATOR, true);
      z.setBigUint64(64, BigInt(cdEnd), true);
      z.setUint32(72, 1, true);
      this.w.write(new Uint8Array(z.buffer));
    }
    const e = new DataView(new ArrayBuffer(22));
    e.setUint32(0, SIG_EOCD, true);
    e.setUint16(8, need64 ? 0xffff : n, true);
    e.setUint16(10, need64 ? 0xffff : n, true);
    e.setUint32(12, need64 ? U32_MAX : cdSize, true);
    e.setUint32(16, need64 ? U32_MAX : cdStart, true);
    this.w.write(new Uint8Array(e.buffer));
  }
}
