import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufType, gv, openGguf, writeGguf, type GgufValue } from '../../src/formats/gguf.js';
import { openGgufCheckpoint, saveGgufCheckpoint } from '../../src/formats/gguf-llama.js';
import { syntheticCheckpoint, syntheticValues } from '../../src/formats/synthetic.js';
import { makeConfig } from '../../src/model/config.js';
import { encodeFromF32 } from '../../src/formats/codec.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-gguf-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const cfg = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 96, vocabSize: 300, maxSeqLen: 32, normEps: 1e-5 });

test('GGUF metadata of every value type round-trips', () => {
  const md = new Map<string, GgufValue>([
    ['u8', { type: GgufType.UINT8, value: 250 }], ['i8', { type: GgufType.INT8, value: -100 }],
    ['u16', { type: GgufType.UINT16, value: 65000 }], ['i16', { type: GgufType.INT16, value: -30000 }],
    ['u32', gv.u32(4000000000)], ['i32', gv.i32(-2000000000)], ['f32', gv.f32(1.5)],
    ['bool', gv.bool(true)], ['str', gv.str('héllo ▁ world')],
    ['u64', { type: GgufType.UINT64, value: 2n ** 60n }], ['i64', { type: GgufType.INT64, value: -5 }],
    ['f64', { type: GgufType.FLOAT64, value: Math.PI }],
    ['arr.str', gv.arr(GgufType.STRING, ['a', '', 'ü'])], ['arr.f32', gv.arr(GgufType.FLOAT32, [0.5, -2])],
    ['arr.nested', { type: GgufType.ARRAY, elemType: GgufType.ARRAY, value: [gv.arr(GgufType.INT32, [1, 2]), gv.arr(GgufType.STRING, ['x'])] }],
    ['general.alignment', gv.u32(64)],
  ]);
  const p = join(dir, 'md.gguf');
  const t = Float32Array.from({ length: 64 }, (_, i) => i / 7);
  writeGguf(p, md, [{ name: 'w', shape: [2, 32], dtype: 'f32', data: () => new Uint8Array(t.buffer) }]);
  const g = openGguf(p);
  try {
    assert.equal(g.version, 3);
    assert.equal(g.alignment, 64);
    for (const [k, v] of md) assert.deepEqual(g.metadata.get(k), v, k);
    assert.deepEqual(g.tensors[0].ne, [32, 2]);
    assert.equal(g.tensors[0].fileOffset % 64, 0);
    const back = new Float32Array(g.file.read(g.tensors[0].fileOffset, 256, 'w').buffer);
    assert.deepEqual(back, t);
  } finally { g.file.close(); }
});

test('LLaMA GGUF: tensors of every type round-trip with the config and tokenizer', () => {
  for (const type of ['f32', 'f16', 'q8_0', 'q4_0'] as const) {
    const ck = syntheticCheckpoint(cfg, { seed: 3 });
    const p = join(dir, `m-${type}.gguf`);
    saveGgufCheckpoint(ck, p, { type });
    const back = openGgufCheckpoint(p);
    try {
      assert.deepEqual(back.config, cfg);
      assert.equal(back.tokenizer.ggufMetadata?.get('tokenizer.ggml.tokens')?.value instanceof Array, true);
      const wq = back.tensors.get('layers.1.attention.wq.weight')!;
      assert.equal(wq.dtype, type);
      const shape = [64, 64];
      assert.deepEqual(wq.read(), encodeFromF32(type, syntheticValues('layers.1.attention.wq.weight', shape, { seed: 3 }), shape));
      assert.equal(back.tensors.get('norm.weight')!.dtype, 'f32'); // norms stay f32
    } finally { back.close(); }
  }
});

function writeModel(name: string): string {
  const p = join(dir, name);
  saveGgufCheckpoint(syntheticCheckpoint(cfg, { seed: 1 }), p, { type: 'f32' });
  return p;
}

test('GGUF errors: bad magic, truncation (names the tensor and byte), unknown type and arch', () => {
  const p = writeModel('good.gguf');
  const bytes = readFileSync(p);

  const bad = join(dir, 'bad-magic.gguf');
  writeFileSync(bad, Buffer.concat([Buffer.from('GGML'), bytes.subarray(4)]));
  assert.throws(() => openGgufCheckpoint(bad), /not a GGUF file/);

  const cut = join(dir, 'cut.gguf');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
  assert.throws(() => openGgufCheckpoint(cut), /truncated: tensor 'output\.weight' needs bytes \[\d+, \d+\)/);

  const cutHeader = join(dir, 'cut-header.gguf');
  writeFileSync(cutHeader, bytes.subarray(0, 3000));
  assert.throws(() => openGgufCheckpoint(cutHeader), /truncated or corrupt: .* at byte \d+/);

  // patch the ggml type of the first tensor info (token_embd) to 11 = Q3_K (not supported)
  const g = openGguf(p);
  g.file.close();
  const name = Buffer.from('token_embd.weight');
  const at = bytes.indexOf(name) + name.length + 4 + 2 * 8; // n_dims, ne[0], ne[1]
  const k = Buffer.from(bytes);
  k.writeUInt32LE(11, at);
  const kq = join(dir, 'q3k.gguf');
  writeFileSync(kq, k);
  assert.throws(() => openGgufCheckpoint(kq), /tensor 'token_embd\.weight' .* ggml type 11 \(Q3_K\)/);

  const arch = Buffer.from(bytes);
  const ai = arch.indexOf(Buffer.from('llama', 'utf8'), arch.indexOf(Buffer.from('general.architecture')));
  arch.write('gemma', ai);
  const ap = join(dir, 'gemma.gguf');
  writeFileSync(ap, arch);
  assert.throws(() => openGgufCheckpoint(ap), /architecture 'gemma' is not supported/);
});

test('GGUF errors: tokenizer/vocabulary and config/shape mismatches', () => {
  const ck = syntheticCheckpoint(cfg, { seed: 1 });
  const tok = new Map(ck.tokenizer.ggufMetadata!);
  const tokens = tok.get('tokenizer.ggml.tokens')!.value as string[];
  tok.set('tokenizer.ggml.tokens', gv.arr(GgufType.STRING, tokens.slice(0, 299)));
  const p = join(dir, 'vocab.gguf');
  saveGgufCheckpoint(ck, p, { tokenizerMetadata: tok });
  assert.throws(() => openGgufCheckpoint(p), /tokenizer has 299 tokens .* vocabulary is 300/);

  // a config that disagrees with the tensors: claim a wider FFN
  const wide = syntheticCheckpoint(makeConfig({ ...cfg, hiddenDim: 128 }), { seed: 1 });
  const tensors = new Map(wide.tensors);
  tensors.set('layers.0.feed_forward.w1.weight', syntheticCheckpoint(cfg).tensors.get('layers.0.feed_forward.w1.weight')!);
  const q = join(dir, 'shape.gguf');
  saveGgufCheckpoint({ ...wide, tensors }, q);
  assert.throws(() => openGgufCheckpoint(q), /'layers\.0\.feed_forward\.w1\.weight' .* has shape \[96, 64\] but the config .* implies \[128, 64\]/);
});

test('K-quant tensors (Q4_K, Q5_K, Q6_K) are read, copied GGUF to GGUF unchanged, and decoded for other types', async () => {
  const { randomKQuant } = await import('../kernels/kquant-helpers.js');
  const { dequantizeK } = await import('../../src/kernels/quant-k.js');
  const cfg = makeConfig({ dim: 256, nLayers: 1, nHeads: 4, hiddenDim: 256, vocabSize: 320, maxSeqLen: 64 });
  const base = syntheticCheckpoint(cfg, { seed: 1 });
  const types = ['q4_k', 'q5_k', 'q6_k'] as const;
  const tensors = new Map([...base.tensors].map(([name, e], i) => {
    if (e.shape.length !== 2) return [name, e] as const;
    const dtype = types[i % 3];
    const bytes = randomKQuant(dtype, e.shape[0], e.shape[1], i);
    return [name, { ...e, dtype, byteLength: bytes.length, read: (dst?: Uint8Array) => (dst ? (dst.set(bytes), dst) : bytes) }] as const;
  }));
  const src = { ...base, tensors: new Map(tensors) };
  const p = join(dir, 'k.gguf');
  saveGgufCheckpoint(src, p);
  const back = openGgufCheckpoint(p);
  const copy = join(dir, 'k-copy.gguf');
  const asF32 = join(dir, 'k-f32.gguf');
  try {
    for (const [name, e] of src.tensors) {
      const b = back.tensors.get(name)!;
      assert.equal(b.dtype, e.dtype, name);
      assert.deepEqual(b.read(), e.read(), name);
    }
    saveGgufCheckpoint(back, copy);
    saveGgufCheckpoint(back, asF32, { type: 'f32' });
    assert.throws(() => saveGgufCheckpoint(back, join(dir, 'never.gguf'), { type: 'q6_k' }), /reads Q5_K and Q6_K but does not quantize to them/);
  } finally { back.close(); }
  assert.deepEqual(readFileSync(copy), readFileSync(p), 'a K-quant file re-saved is the same file');
  const f = openGgufCheckpoint(asF32);
  try {
    const e = src.tensors.get('layers.0.feed_forward.w2.weight')!;
    const want = dequantizeK(e.dtype as 'q4_k', e.read(), e.shape[0], e.shape[1]);
    assert.deepEqual(new Float32Array(f.tensors.get('layers.0.feed_forward.w2.weight')!.read().slice().buffer), want);
  } finally { f.close(); }
});

test('quantizing to Q4_K: matrices of whole superblocks become q4_k, others q8_0; values within the 4-bit error', async () => {
  const { dequantizeK } = await import('../../src/kernels/quant-k.js');
  const cfg = makeConfig({ dim: 256, nLayers: 1, nHeads: 4, hiddenDim: 320, vocabSize: 320, maxSeqLen: 64 });
  const src = syntheticCheckpoint(cfg, { seed: 3 });
  const p = join(dir, 'to-q4k.gguf');
  saveGgufCheckpoint(src, p, { type: 'q4_k' });
  const back = openGgufCheckpoint(p);
  try {
    assert.equal(back.tensors.get('layers.0.attention.wq.weight')!.dtype, 'q4_k');
    assert.equal(back.tensors.get('layers.0.feed_forward.w2.weight')!.dtype, 'q8_0', 'rows of 320 are not whole superblocks');
    assert.equal(back.tensors.get('layers.0.attention_norm.weight')!.dtype, 'f32');
    const e = back.tensors.get('layers.0.attention.wq.weight')!;
    const got = dequantizeK('q4_k', e.read(), 256, 256);
    const want = syntheticValues('layers.0.attention.wq.weight', [256, 256], { seed: 3 });
    let err = 0, mag = 0;
    for (let i = 0; i < want.length; i++) { err += (got[i] - want[i]) ** 2; mag += want[i] ** 2; }
    assert.ok(Math.sqrt(err / mag) < 0.12, `relative rms error ${Math.sqrt(err / mag)}`);
  } finally { back.close(); }
});
