import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { openMetaCheckpoint, saveMetaCheckpoint } from '../../src/formats/meta.js';
import { openHfCheckpoint, saveHfCheckpoint } from '../../src/formats/hf.js';
import { hfToMetaPerm, metaToHfPerm } from '../../src/formats/checkpoint.js';
import { pickleStateDict, unpickle, type TensorRef } from '../../src/formats/pickle.js';
import { decodeToF32 } from '../../src/formats/codec.js';
import { paramSpecs } from '../../src/model/config.js';

const FIX = 'fixtures/inference';
const dir = mkdtempSync(join(tmpdir(), 'llama-ts-meta-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Every tensor of two checkpoints, as floats, must be identical. */
function assertSameTensors(a: ReturnType<typeof openMetaCheckpoint>, b: ReturnType<typeof openMetaCheckpoint>): void {
  assert.deepEqual(a.config, b.config);
  for (const s of paramSpecs(a.config)) {
    const ta = a.tensors.get(s.name)!;
    const tb = b.tensors.get(s.name)!;
    assert.deepEqual(decodeToF32(ta.dtype, ta.read(), ta.shape), decodeToF32(tb.dtype, tb.read(), tb.shape), s.name);
  }
}

test('the q/k permutations between HF and Meta layouts are inverse', () => {
  const f = metaToHfPerm(4, 8);
  const g = hfToMetaPerm(4, 8);
  for (let r = 0; r < f.length; r++) assert.equal(g[f[r]], r);
  // within a head, HF row s*hd/2 + i holds Meta row 2i + s
  assert.deepEqual([...f.subarray(0, 8)], [0, 2, 4, 6, 1, 3, 5, 7]);
});

test('torch.save shards (views with offsets and strides) merge to the same model as the HF files', () => {
  const meta = openMetaCheckpoint(join(FIX, 'torch-meta'));
  const hf = openHfCheckpoint(join(FIX, 'torch-hf'));
  try {
    assert.equal(meta.tensors.get('layers.0.attention.wq.weight')!.dtype, 'bf16');
    assert.equal(hf.tensors.get('layers.0.attention.wq.weight')!.dtype, 'f16');
    assert.equal(meta.config.nKvHeads, 2);
    assertSameTensors(meta, hf);
  } finally { meta.close(); hf.close(); }
});

test('HF PyTorch-pickle shards (pytorch_model-*.bin, written by torch.save) hold the same model as the safetensors', () => {
  const bin = openHfCheckpoint(join(FIX, 'torch-hf-bin'));
  const hf = openHfCheckpoint(join(FIX, 'torch-hf'));
  try {
    assert.equal(bin.tensors.get('layers.0.attention.wk.weight')!.dtype, 'f16');
    assertSameTensors(bin, hf);
  } finally { bin.close(); hf.close(); }
  // without the index, the shards are found by name; a missing one named by the index is an error
  const d = join(dir, 'hf-bin');
  cpSync(join(FIX, 'torch-hf-bin'), d, { recursive: true });
  unlinkSync(join(d, 'pytorch_model.bin.index.json'));
  const noIndex = openHfCheckpoint(d), hf2 = openHfCheckpoint(join(FIX, 'torch-hf'));
  try { assertSameTensors(noIndex, hf2); } finally { noIndex.close(); hf2.close(); }
  const m = join(dir, 'hf-bin-missing');
  cpSync(join(FIX, 'torch-hf-bin'), m, { recursive: true });
  unlinkSync(join(m, 'pytorch_model-00002-of-00002.bin'));
  assert.throws(() => openHfCheckpoint(m), /shard 'pytorch_model-00002-of-00002\.bin' named in pytorch_model\.bin\.index\.json is missing/);
  const e = join(dir, 'hf-empty');
  cpSync(join(FIX, 'torch-hf-bin'), e, { recursive: true });
  for (const f of ['pytorch_model.bin.index.json', 'pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']) unlinkSync(join(e, f));
  assert.throws(() => openHfCheckpoint(e), /no \*\.safetensors or pytorch_model\*\.bin files/);
});

test('Meta and HF writers round-trip (2 shards, zip64 records, several safetensors files)', () => {
  const src = openMetaCheckpoint(join(FIX, 'torch-meta'));
  try {
    saveMetaCheckpoint(src, join(dir, 'meta2'), { shards: 2, forceZip64: true, type: 'f32' });
    saveHfCheckpoint(src, join(dir, 'hf2'), { maxShardBytes: 100_000, type: 'f16' });
    const m = openMetaCheckpoint(join(dir, 'meta2'));
    const h = openHfCheckpoint(join(dir, 'hf2'));
    try {
      assert.ok(readFileSync(join(dir, 'hf2', 'model.safetensors.index.json'), 'utf8').includes('model-00002-of-'));
      assertSameTensors(src, m);
      assertSameTensors(src, h);
    } finally { m.close(); h.close(); }
  } finally { src.close(); }
});

test('pickle writer output reads back', () => {
  const bytes = pickleStateDict([{ name: 'a.weight', storageType: 'HalfStorage', key: '0', shape: [3, 70000] }]);
  const d = unpickle(bytes, 'test') as Map<string, TensorRef>;
  const t = d.get('a.weight')!;
  assert.equal(t.storage.storageType, 'HalfStorage');
  assert.equal(t.storage.numel, 210000);
  assert.deepEqual(t.shape, [3, 70000]);
  assert.deepEqual(t.stride, [70000, 1]);
  assert.throws(() => unpickle(bytes.subarray(0, 40), 'cut.pkl'), /cut\.pkl: .* at byte \d+ of the pickle/);
});

const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

test('torch.load reads the .pth files we write', { skip: torchOk ? false : 'no /usr/bin/python3 with torch on this machine' }, () => {
  const src = openMetaCheckpoint(join(FIX, 'torch-meta'));
  try { saveMetaCheckpoint(src, join(dir, 'meta-torch'), { shards: 2, type: 'bf16', forceZip64: true }); } finally { src.close(); }
  const py = `
import torch, sys
a = [torch.load(f'${dir}/meta-torch/consolidated.0{i}.pth') for i in range(2)]
r = [torch.load(f'${FIX}/torch-meta/consolidated.0{i}.pth') for i in range(2)]
assert set(a[0]) == set(r[0]) - {'rope.freqs'}, (sorted(a[0]), sorted(r[0]))
for i in range(2):
    for k in a[i]:
        assert a[i][k].dtype == torch.bfloat16 and torch.equal(a[i][k], r[i][k]), k
print('ok', len(a[0]))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ok 30/);
});

test('errors: missing shard, truncated storage, missing safetensors shard, truncated safetensors', () => {
  const m = join(dir, 'meta-missing');
  cpSync(join(FIX, 'torch-meta'), m, { recursive: true });
  renameSync(join(m, 'consolidated.01.pth'), join(m, 'consolidated.02.pth'));
  assert.throws(() => openMetaCheckpoint(m), /shard consolidated\.01\.pth is missing/);

  const t = join(dir, 'meta-trunc');
  cpSync(join(FIX, 'torch-meta'), t, { recursive: true });
  const b = readFileSync(join(t, 'consolidated.00.pth'));
  writeFileSync(join(t, 'consolidated.00.pth'), b.subarray(0, b.length - 5000));
  assert.throws(() => openMetaCheckpoint(t), /consolidated\.00\.pth: not a zip archive|truncated/);

  const h = join(dir, 'hf-missing');
  cpSync(join(FIX, 'torch-hf'), h, { recursive: true });
  unlinkSync(join(h, 'model-00002-of-00002.safetensors'));
  assert.throws(() => openHfCheckpoint(h), /shard 'model-00002-of-00002\.safetensors' named in model\.safetensors\.index\.json is missing/);

  const ht = join(dir, 'hf-trunc');
  cpSync(join(FIX, 'torch-hf'), ht, { recursive: true });
  const s = readFileSync(join(ht, 'model-00001-of-00002.safetensors'));
  writeFileSync(join(ht, 'model-00001-of-00002.safetensors'), s.subarray(0, s.length - 100));
  assert.throws(() => openHfCheckpoint(ht), /truncated: tensor '[a-z_.0-9]+' needs bytes \[\d+, \d+\)/);

  const hc = join(dir, 'hf-config');
  cpSync(join(FIX, 'torch-hf'), hc, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(hc, 'config.json'), 'utf8'));
  writeFileSync(join(hc, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 256 }));
  assert.throws(() => openHfCheckpoint(hc), /'layers\.0\.feed_forward\.w1\.weight' .* has shape \[192, 64\] but the config .* implies \[256, 64\]/);
});

test("LLaMA-1 params.json (vocab_size -1) reads; RoPE scaling is refused", () => {
  const d = join(dir, 'meta-v1');
  cpSync(join(FIX, 'torch-meta'), d, { recursive: true });
  const params = JSON.parse(readFileSync(join(d, 'params.json'), 'utf8'));
  writeFileSync(join(d, 'params.json'), JSON.stringify({ ...params, vocab_size: -1 }));
  const m = openMetaCheckpoint(d);
  try { assert.equal(m.config.vocabSize, 320); } finally { m.close(); }
  writeFileSync(join(d, 'params.json'), JSON.stringify({ ...params, use_scaled_rope: true }));
  assert.throws(() => openMetaCheckpoint(d), /use_scaled_rope .* is not supported/);
});
