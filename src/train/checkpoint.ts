/**
 * Training checkpoints: everything needed to continue a run exactly — weights, AdamW moments,
 * step, data-loader position, RNG state, the model config and the run's settings — in one file.
 *
 * Layout (little-endian):
 *   0   8  magic "LTCKPT\0\0"
 *   8   4  version (1)
 *   12  4  byte length J of the JSON header
 *   16  4  CRC-32 of the JSON header
 *   20  J  JSON header (UTF-8): { config, step, state, tensors: [{name, shape}], sections: [{name, offset, bytes, crc}] }
 *   ... zero padding to a multiple of 64, then each section's float32 data at its offset
 * Sections are 'params', 'adam_m', 'adam_v': the tensors' data back to back in `tensors` order
 * (src/model/config.ts paramSpecs order). Each section has its own CRC-32, so a damaged file is
 * detected on load and named with the section and byte offset.
 *
 * Written to a temporary file, fsync'ed and renamed: a crash (even SIGKILL) during a save leaves
 * the previous checkpoint untouched.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from '../data/token-shard.js';
import type { LlamaConfig } from '../model/config.js';
import { numel } from '../model/config.js';

export const CKPT_MAGIC = 'LTCKPT\0\0';
export const CKPT_VERSION = 1;
const ALIGN = 64;

export interface CheckpointSection { name: string; arrays: readonly Float32Array[] }

export interface CheckpointHeader {
  config: LlamaConfig;
  step: number;
  /** Trainer state: data position, RNG state, schedule, settings... (JSON). */
  state: Record<string, unknown>;
  tensors: { name: string; shape: number[] }[];
  sections: { name: string; offset: number; bytes: number; crc: number }[];
}

function u8(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Writes a checkpoint atomically. `sections` arrays must follow `tensors` in order and size. */
export function writeCheckpoint(
  path: string,
  h: { config: LlamaConfig; step: number; state: Record<string, unknown>; tensors: { name: string; shape: readonly number[] }[] },
  sections: readonly CheckpointSection[],
): void {
  const total = h.tensors.reduce((s, t) => s + numel(t.shape), 0);
  const meta: CheckpointHeader['sections'] = [];
  for (const s of sections) {
    if (s.arrays.length !== h.tensors.length) throw new Error(`checkpoint section ${s.name}: ${s.arrays.length} arrays for ${h.tensors.length} tensors`);
    s.arrays.forEach((a, i) => {
      if (a.length !== numel(h.tensors[i].shape)) throw new Error(`checkpoint section ${s.name}: tensor ${h.tensors[i].name} has ${a.length} values, its shape needs ${numel(h.tensors[i].shape)}`);
      if (!(a instanceof Float32Array)) throw new Error(`checkpoint section ${s.name}: tensor ${h.tensors[i].name} is not float32 storage`);
    });
    let crc = 0;
    for (const a of s.arrays) crc = crc32(u8(a), crc);
    meta.push({ name: s.name, offset: 0, bytes: total * 4, crc });
  }
  // The header's length depends on the offsets, which depend on the header's length: offsets are
  // fixed-width decimal numbers after a first pass, so one re-encode settles it.
  const encode = () => new TextEncoder().encode(JSON.stringify({ ...h, tensors: h.tensors.map((t) => ({ name: t.name, shape: [...t.shape] })), sections: meta }));
  let json = encode();
  for (let pass = 0; pass < 3; pass++) {
    let off = Math.ceil((20 + json.length) / ALIGN) * ALIGN;
    for (const m of meta) { m.offset = off; off += Math.ceil(m.bytes / ALIGN) * ALIGN; }
    const next = encode();
    if (next.length === json.length) { json = next; break; }
    json = next;
  }
  const head = new Uint8Array(20);
  for (let i = 0; i < 8; i++) head[i] = CKPT_MAGIC.charCodeAt(i);
  const dv = new DataView(head.buffer);
  dv.setUint32(8, CKPT_VERSION, true);
  dv.setUint32(12, json.length, true);
  dv.setUint32(16, crc32(json), true);

  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  const fd = openSync(tmp, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      let o = 0;
      while (o < b.length) { const w = writeSync(fd, b, o, b.length - o, pos); o += w; pos += w; }
    };
    put(head);
    put(json);
    for (let k = 0; k < sections.length; k++) {
      if (pos < meta[k].offset) put(new Uint8Array(meta[k].offset - pos));
      for (const a of sections[k].arrays) put(u8(a));
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* ignore */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try { const d = openSync(dirname(path), 'r'); fsyncSync(d); closeSync(d); } catch { /* directory fsync is best effort */ }
}

function fail(path: string, offset: number, what: string): never {
  throw new Error(`checkpoint ${path}: ${what} (at byte offset ${offset})`);
}

/** Reads and checks the JSON header (cheap). */
export function readCheckpointHeader(path: string): CheckpointHeader {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(20);
    if (readSync(fd, head, 0, 20, 0) < 20) fail(path, size, `truncated: ${size} bytes, shorter than the 20-byte preamble`);
    for (let i = 0; i < 8; i++) if (head[i] !== CKPT_MAGIC.charCodeAt(i)) fail(path, i, 'not a llama-ts training checkpoint (bad magic)');
    const dv = new DataView(head.buffer);
    const version = dv.getUint32(8, true);
    if (version !== CKPT_VERSION) fail(path, 8, `unsupported checkpoint version ${version} (this build reads ${CKPT_VERSION})`);
    const len = dv.getUint32(12, true);
    if (20 + len > size) fail(path, size, `truncated inside the JSON header (${len} bytes promised)`);
    const json = new Uint8Array(len);
    readSync(fd, json, 0, len, 20);
    if (crc32(json) !== dv.getUint32(16, true)) fail(path, 20, 'JSON header checksum mismatch: the file is corrupt');
    const h = JSON.parse(new TextDecoder().decode(json)) as CheckpointHeader;
    for (const s of h.sections) {
      if (s.offset + s.bytes > size) fail(path, size, `truncated: section '${s.name}' needs bytes [${s.offset}, ${s.offset + s.bytes}) but the file has ${size}`);
    }
    return h;
  } finally {
    closeSync(fd);
  }
}

function sameConfig(a: LlamaConfig, b: LlamaConfig): string[] {
  const diff: string[] = [];
  for (const k of Object.keys(b) as (keyof LlamaConfig)[]) if (a[k] !== b[k]) diff.push(`${k} ${a[k]} (checkpoint) vs ${b[k]} (run)`);
  return diff;
}

/**
 * Loads a checkpoint's sections into the caller's arrays (parameter order), after checking that the
 * checkpoint was made for `config` and that every section's checksum holds. Returns the header.
 */
export function loadCheckpoint(path: string, config: LlamaConfig, targets: readonly CheckpointSection[]): CheckpointHeader {
  const h = readCheckpointHeader(path);
  const diff = sameConfig(h.config, config);
  if (diff.length) {
    throw new Error(`checkpoint ${path} was made for another model config: ${diff.join(', ')}. Resume with the config it was trained with, or start a new run directory`);
  }
  const fd = openSync(path, 'r');
  try {
    for (const t of targets) {
      const s = h.sections.find((x) => x.name === t.name);
      if (!s) fail(path, 20, `no section '${t.name}' (has ${h.sections.map((x) => x.name).join(', ')})`);
      if (t.arrays.length !== h.tensors.length) throw new Error(`checkpoint ${path}: ${h.tensors.length} tensors, caller gave ${t.arrays.length}`);
      let pos = s.offset, crc = 0;
      t.arrays.forEach((a, i) => {
        const spec = h.tensors[i];
        if (a.length !== numel(spec.shape)) fail(path, pos, `tensor ${spec.name} [${spec.shape.join(', ')}] does not fit the model's ${a.length} values`);
        const b = u8(a);
        let o = 0;
        while (o < b.length) {
          const r = readSync(fd, b, o, b.length - o, pos + o);
          if (r === 0) fail(path, pos + o, `truncated in tensor ${spec.name} of section '${s.name}'`);
          o += r;
        }
        crc = crc32(b, crc);
        pos += b.length;
      });
      if (crc !== s.crc) fail(path, s.offset, `section '${s.name}' checksum mismatch: the file is corrupt; resume from an earlier checkpoint`);
    }
  } finally {
    closeSync(fd);
  }
  return h;
}
