/**
 * Trained weights <-> the model formats of src/formats: export a parameter set as GGUF (what
 * `llama-ts generate` and `chat` load), HF or Meta, with its tokenizer; and load a released model's
 * weights into a parameter set to finetune it.
 */
import type { Checkpoint, TensorEntry } from '../formats/checkpoint.js';
import { decodeToF32 } from '../formats/codec.js';
import { openCheckpoint, saveCheckpoint, type CheckpointFormat, type DType } from '../formats/index.js';
import type { LlamaConfig } from '../model/config.js';
import type { ParamSet } from '../model/params.js';
import { isDType } from '../formats/dtype.js';
import { join } from 'node:path';
import type { RunDir } from './run-dir.js';

export type ExportFormat = CheckpointFormat | 'none';

/** Parses --export / --export-type. */
export function exportChoice(format: string | undefined, type: string | undefined): { format: ExportFormat; type: DType | undefined } {
  const f = format ?? 'gguf';
  if (!['gguf', 'hf', 'meta', 'none'].includes(f)) throw new Error(`--export must be gguf, hf, meta or none, got '${f}'`);
  if (type !== undefined && !isDType(type)) throw new Error(`--export-type must be f32, f16, bf16, q8_0, q4_0 or q4_k, got '${type}'`);
  return { format: f as ExportFormat, type: type as DType | undefined };
}

/** Where a run's exported model goes: model.gguf, or the model-hf / model-meta directory. */
export function exportPath(run: RunDir, format: CheckpointFormat): string {
  return format === 'gguf' ? run.modelPath : join(run.dir, `model-${format}`);
}

/** A parameter set seen as a Checkpoint of src/formats (float32 tensors read straight from memory). */
export function paramsAsCheckpoint(params: ParamSet, tokenizerModelFile: string | null, where: string): Checkpoint {
  const tensors = new Map<string, TensorEntry>();
  for (const s of params.specs) {
    const a = params.tensors.get(s.name)!;
    tensors.set(s.name, {
      name: s.name,
      shape: s.shape,
      dtype: 'f32',
      byteLength: a.byteLength,
      source: `${where}:${s.name}`,
      read(dst?: Uint8Array): Uint8Array {
        const src = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        if (!dst) return src.slice();
        dst.set(src);
        return dst;
      },
    });
  }
  return {
    format: 'meta',
    path: where,
    config: params.config,
    tensors,
    tokenizer: tokenizerModelFile ? { modelFile: tokenizerModelFile } : {},
    close() { /* nothing open */ },
  };
}

export function exportModel(params: ParamSet, out: string, opts: { format?: CheckpointFormat; type?: DType; tokenizerModelFile?: string | null; name?: string } = {}): void {
  saveCheckpoint(paramsAsCheckpoint(params, opts.tokenizerModelFile ?? null, out), opts.format ?? 'gguf', out, { type: opts.type, name: opts.name });
}

/** The config of a model file or directory (GGUF, HF or Meta). */
export function modelConfigOf(path: string): LlamaConfig {
  const ck = openCheckpoint(path);
  try { return ck.config; } finally { ck.close(); }
}

/** Copies a model's weights (any stored type, converted to float32) into `params`, which must have its config. */
export function loadModelInto(path: string, params: ParamSet): void {
  const ck = openCheckpoint(path);
  try {
    for (const k of Object.keys(params.config) as (keyof LlamaConfig)[]) {
      if (ck.config[k] !== params.config[k]) throw new Error(`${path}: model ${k} = ${ck.config[k]} but the run's config has ${params.config[k]}`);
    }
    for (const s of params.specs) {
      const t = ck.tensors.get(s.name);
      if (!t) throw new Error(`${path}: no tensor '${s.name}'`);
      params.tensors.get(s.name)!.set(decodeToF32(t.dtype, t.read(), t.shape));
    }
  } finally {
    ck.close();
  }
}
