import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, readCheckpointHeader, writeCheckpoint } from '../../src/train/checkpoint.js';
import { PRESETS, makeConfig } from '../../src/model/config.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-ckpt-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const cfg = PRESETS.tiny;
const tensors = [{ name: 'a', shape: [3, 5] }, { name: 'b', shape: [7] }];
const mk = (seed: number) => tensors.map((t, k) => Float32Array.from({ length: t.shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(seed + k * 10 + i)));

test('round trip of sections and state', () => {
  const p = join(dir, 'c.ckpt');
  const params = mk(1), m = mk(2), v = mk(3);
  const state = { data: { row: 5, sources: [] }, rng: { s: [1, 2, 3, 4], spare: null } };
  writeCheckpoint(p, { config: cfg, step: 42, state, tensors }, [{ name: 'params', arrays: params }, { name: 'adam_m', arrays: m }, { name: 'adam_v', arrays: v }]);
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('tmp')), []);
  const got = [mk(0).map((a) => a.fill(0)), mk(0).map((a) => a.fill(0)), mk(0).map((a) => a.fill(0))];
  const h = loadCheckpoint(p, cfg, [{ name: 'params', arrays: got[0] }, { name: 'adam_m', arrays: got[1] }, { name: 'adam_v', arrays: got[2] }]);
  assert.equal(h.step, 42);
  assert.deepEqual(h.state, state);
  assert.deepEqual(got, [params, m, v]);
  for (const s of h.sections) assert.equal(s.offset % 64, 0);
});

test('another config, corruption and truncation are named', () => {
  const p = join(dir, 'd.ckpt');
  writeCheckpoint(p, { config: cfg, step: 1, state: {}, tensors }, [{ name: 'params', arrays: mk(1) }]);
  const other = makeConfig({ ...cfg, dim: 128 });
  assert.throws(() => loadCheckpoint(p, other, [{ name: 'params', arrays: mk(0) }]), /made for another model config: dim 64 \(checkpoint\) vs 128 \(run\)/);

  const bytes = readFileSync(p);
  const h = readCheckpointHeader(p);
  const bad = Buffer.from(bytes);
  bad[h.sections[0].offset + 9] ^= 0x55;
  const pc = join(dir, 'corrupt.ckpt');
  writeFileSync(pc, bad);
  assert.throws(() => loadCheckpoint(pc, cfg, [{ name: 'params', arrays: mk(0) }]), /section 'params' checksum mismatch.*byte offset/);

  const pt = join(dir, 'trunc.ckpt');
  writeFileSync(pt, bytes.subarray(0, bytes.length - 8));
  assert.throws(() => readCheckpointHeader(pt), /truncated: section 'params'/);

  const pm = join(dir, 'magic.ckpt');
  writeFileSync(pm, Buffer.concat([Buffer.from('GGUF'), bytes.subarray(4)]));
  assert.throws(() => readCheckpointHeader(pm), /not a llama-ts training checkpoint.*byte offset 0/);
});
