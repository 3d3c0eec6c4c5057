/**
 * Our own training checkpoint (src/train/checkpoint.ts: "LTCKPT" + JSON header + float32
 * sections), read from bytes in memory as a Checkpoint of src/formats, so the page can run a
 * checkpoint straight out of a run directory (`checkpoints/step-*.ckpt`). Only the 'params' section
 * is used (the AdamW moments are for resuming). Both checksums are verified: a damaged file is
 * named with the section and byte offset, as the trainer's loader does.
 */
import { crc32 } from '../data/token-shard.js';
import type { Checkpoint, TensorEntry } from '../formats/checkpoint.js';
import { validateTensors } from '../formats/checkpoint.js';
import { makeConfig, numel, type LlamaConfig } from '../model/config.js';
import { CKPT_MAGIC, CKPT_VERSION, type CheckpointHeader } from '../train/checkpoint.js';

const PREAMBLE = 20;

export function isTrainingCheckpoint(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== CKPT_MAGIC.charCodeAt(i)) return false;
  return true;
}

function fail(name: string, offset: number, what: string): never {
  throw new Error(`checkpoint ${name}: ${what} (at byte offset ${offset})`);
}

/** Opens a training checkpoint held in `bytes` (its parameters; `step` says how far it was trained). */
export function openTrainingCheckpointBytes(bytes: Uint8Array, name: string): { checkpoint: Checkpoint; step: number } {
  const size = bytes.length;
  if (size < PREAMBLE) fail(name, size, `truncated: ${size} bytes, shorter than the ${PREAMBLE}-byte preamble`);
  if (!isTrainingCheckpoint(bytes)) fail(name, 0, 'not a llama-ts training checkpoint (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, PREAMBLE);
  const version = dv.getUint32(8, true);
  if (version !== CKPT_VERSION) fail(name, 8, `unsupported checkpoint version ${version} (this build reads ${CKPT_VERSION})`);
  const len = dv.getUint32(12, true);
  if (PREAMBLE + len > size) fail(name, size, `truncated inside the JSON header (${len} bytes promised, the file has ${size})`);
  const json = bytes.subarray(PREAMBLE, PREAMBLE + len);
  if (crc32(json) !== dv.getUint32(16, true)) fail(name, PREAMBLE, 'JSON header checksum mismatch: the file is corrupt');
  let h: CheckpointHeader;
  try {
    h = JSON.parse(new TextDecoder().decode(json)) as CheckpointHeader;
  } catch (e) {
    fail(name, PREAMBLE, `the JSON header does not parse (${(e as Error).message})`);
  }
  if (!h.config || !Array.isArray(h.tensors) || !Array.isArray(h.sections)) fail(name, PREAMBLE, 'the JSON header lacks config, tensors or sections');
  const config: LlamaConfig = makeConfig(h.config);
  const params = h.sections.find((s) => s.name === 'params');
  if (!params) fail(name, PREAMBLE, `no 'params' section (has ${h.sections.map((s) => s.name).join(', ') || 'none'})`);
  if (params.offset + params.bytes > size) {
    fail(name, size, `truncated: section 'params' needs bytes [${params.offset}, ${params.offset + params.bytes}) but the file has ${size}`);
  }
  const total = h.tensors.reduce((s, t) => s + numel(t.shape) * 4, 0);
  if (total !== params.bytes) fail(name, params.offset, `section 'params' holds ${params.bytes} bytes but its tensors need ${total}`);
  if (crc32(bytes.subarray(params.offset, params.offset + params.bytes)) !== params.crc) {
    fail(name, params.offset, "section 'params' checksum mismatch: the file is corrupt; use an earlier checkpoint");
  }
  const tensors = new Map<string, TensorEntry>();
  let at = params.offset;
  for (const t of h.tensors) {
    const start = at, byteLength = numel(t.shape) * 4;
    tensors.set(t.name, {
      name: t.name, shape: t.shape, dtype: 'f32', byteLength,
      source: `${name} section 'params' tensor '${t.name}' at byte ${start}`,
      read: (dst) => {
        const out = dst ?? new Uint8Array(byteLength);
        if (out.length !== byteLength) throw new Error(`internal: read of '${t.name}' into ${out.length} bytes, needs ${byteLength}`);
        out.set(bytes.subarray(start, start + byteLength));
        return out;
      },
    });
    at += byteLength;
  }
  validateTensors(config, tensors, name);
  // The parameters carry Meta's tensor names and layout (src/model/config.ts paramSpecs).
  return { checkpoint: { format: 'meta', path: name, config, tensors, tokenizer: {}, close: () => {} }, step: h.step };
}
