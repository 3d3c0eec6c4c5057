/** Fixtures for the browser tests: the tiny server model as a llama-ts training checkpoint. */
import { writeCheckpoint } from '../../src/train/checkpoint.js';
import { openCheckpoint } from '../../src/formats/index.js';
import { paramSpecs } from '../../src/model/config.js';

/**
 * Writes the (f32) weights of a GGUF model as a training checkpoint at `out` — the format
 * `llama-ts train` saves in checkpoints/ — with a 'params' section only (and step 7).
 */
export function writeTrainingCheckpoint(ggufPath: string, out: string): void {
  const ckpt = openCheckpoint(ggufPath);
  try {
    const specs = paramSpecs(ckpt.config);
    const arrays = specs.map((s) => {
      const t = ckpt.tensors.get(s.name)!;
      if (t.dtype !== 'f32') throw new Error(`${s.name} is ${t.dtype}; this helper copies f32 weights`);
      const b = t.read();
      return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    });
    writeCheckpoint(out, { config: ckpt.config, step: 7, state: {}, tensors: specs.map((s) => ({ name: s.name, shape: s.shape })) },
      [{ name: 'params', arrays }]);
  } finally {
    ckpt.close();
  }
}
