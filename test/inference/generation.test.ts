import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sampler, TextStream, argmax, loadModel } from '../../src/inference/index.js';
import { SentencePieceTokenizer } from '../../src/tokenizer/index.js';
import { syntheticCheckpoint, syntheticVocabMetadata } from '../../src/formats/synthetic.js';
import { saveGgufCheckpoint } from '../../src/formats/gguf-llama.js';
import { makeConfig } from '../../src/model/config.js';
import { createReferenceBackend } from '../../src/kernels/index.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-gen-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const kv: Record<string, unknown> = {};
for (const [k, v] of syntheticVocabMetadata(512)) kv[k] = v.value;
const tok = SentencePieceTokenizer.fromGgufMetadata(kv, 'synthetic');

test('sampler: greedy, seeded determinism, top-k, top-p and the sampled distribution', () => {
  const row = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  assert.equal(new Sampler({ temperature: 0, topK: 0, topP: 1 }, 1).sample(row), 0);
  assert.equal(argmax(Float32Array.from([0, 3, 3, 1])), 1);
  const draw = (s: Sampler, n: number) => Array.from({ length: n }, () => s.sample(row));
  const a = draw(new Sampler({ temperature: 1, topK: 0, topP: 1 }, 42), 200);
  assert.deepEqual(draw(new Sampler({ temperature: 1, topK: 0, topP: 1 }, 42), 200), a);
  assert.notDeepEqual(draw(new Sampler({ temperature: 1, topK: 0, topP: 1 }, 43), 200), a);
  const freq = (xs: number[]) => [0, 1, 2].map((k) => xs.filter((x) => x === k).length / xs.length);
  const f = freq(draw(new Sampler({ temperature: 1, topK: 0, topP: 1 }, 7), 20000));
  [0.5, 0.3, 0.2].forEach((p, k) => assert.ok(Math.abs(f[k] - p) < 0.02, `p${k} ${f[k]}`));
  // top-p 0.6 keeps {0, 1}: renormalised .625/.375
  const fp = freq(draw(new Sampler({ temperature: 1, topK: 0, topP: 0.6 }, 7), 20000));
  assert.equal(fp[2], 0);
  assert.ok(Math.abs(fp[0] - 0.625) < 0.02, `top-p ${fp[0]}`);
  // top-k 1 is greedy at any temperature; temperature sharpens
  assert.ok(draw(new Sampler({ temperature: 5, topK: 1, topP: 1 }, 3), 100).every((x) => x === 0));
  const cold = freq(draw(new Sampler({ temperature: 0.25, topK: 0, topP: 1 }, 7), 5000));
  assert.ok(cold[0] > 0.85, `t=0.25 ${cold[0]}`);
  assert.throws(() => new Sampler({ temperature: -1, topK: 0, topP: 1 }, 0), /temperature must be/);
  assert.throws(() => new Sampler({ temperature: 1, topK: 0, topP: 0 }, 0), /top-p must be in \(0, 1\]/);
});

test('text stream: a UTF-8 character split over byte-fallback tokens is released whole', () => {
  const text = 'ab€ 😀c';
  const ids = tok.encode(text);
  assert.ok(ids.some((id) => tok.idToPiece(id) === '<0xE2>'), 'the test needs byte-fallback tokens');
  const s = new TextStream(tok, 1, []);
  const deltas = ids.map((id) => s.push(id));
  deltas.push(s.flush());
  assert.ok(deltas.every((d) => !d.includes('\uFFFD')), JSON.stringify(deltas));
  assert.equal(deltas.join(''), text);
  assert.ok(deltas.filter((d) => d === '').length >= 3, 'bytes of € and 😀 are held back');
});

test('text stream: stop strings end the text before them, also across tokens', () => {
  const ids = tok.encode('hello world stop here');
  const s = new TextStream(tok, 1, ['wor', 'zzz']);
  let out = '';
  for (const id of ids) {
    out += s.push(id);
    if (s.stoppedText !== null) break;
  }
  assert.equal(s.stoppedText, 'hello ');
  assert.equal(out, 'hello ');
});

test('generate: max tokens, stop strings, EOS, context limit, streaming = result text', async () => {
  const cfg = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, hiddenDim: 96, vocabSize: 512, maxSeqLen: 64, normEps: 1e-5 });
  const p = join(dir, 'gen.gguf');
  saveGgufCheckpoint(syntheticCheckpoint(cfg, { seed: 5, std: 0.1, embeddingStd: 1 }), p);
  const backend = createReferenceBackend();
  const m = await loadModel(p, { backend });
  const prompt = tok.encode('the cat', { bos: true });
  let streamed = '';
  const r = await m.generate(prompt, { temperature: 1, topK: 40, seed: 9, maxTokens: 12 }, (t) => { streamed += t.text; });
  assert.ok(r.finishReason === 'length' || r.finishReason === 'eos');
  if (r.finishReason === 'length') assert.equal(r.tokens.length, 12);
  assert.equal(streamed, r.text);
  assert.equal(r.promptTokens, prompt.length);
  const again = await m.generate(prompt, { temperature: 1, topK: 40, seed: 9, maxTokens: 12 });
  assert.deepEqual(again.tokens, r.tokens);

  // a stop string taken from a longer generation's text
  const long = await m.generate(prompt, { temperature: 0, maxTokens: 30 });
  const cut = long.text.slice(3, 6);
  assert.ok(long.text.length > 8 && long.text.indexOf(cut) === 3, JSON.stringify(long.text));
  let streamedStop = '';
  const st = await m.generate(prompt, { temperature: 0, maxTokens: 30, stop: ['zzzz', cut] }, (t) => { streamedStop += t.text; });
  assert.equal(st.finishReason, 'stop');
  assert.equal(st.text, long.text.slice(0, 3));
  assert.equal(streamedStop, st.text);

  // the context ends generation with reason 'context'
  const small = await loadModel(p, { backend, contextLength: prompt.length + 4 });
  const c = await small.generate(prompt, { temperature: 0, maxTokens: 50 });
  assert.ok(c.finishReason === 'context' || c.finishReason === 'eos');
  if (c.finishReason === 'context') assert.equal(c.tokens.length, 5);
  await assert.rejects(small.generate(new Array(70).fill(5), { maxTokens: 1 }), /context length exceeded/);
  await assert.rejects(m.generate([], {}), /prompt is empty/);
});

test('KV caches grow past their first 256 positions without changing results', async () => {
  const cfg = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 96, vocabSize: 512, maxSeqLen: 600, normEps: 1e-5 });
  const p = join(dir, 'long.gguf');
  saveGgufCheckpoint(syntheticCheckpoint(cfg, { seed: 2, std: 0.1, embeddingStd: 1 }), p);
  const m = await loadModel(p, { backend: createReferenceBackend() });
  const ids = Array.from({ length: 300 }, (_, i) => 3 + ((i * 37) % 500));
  const all = m.newSequence().append(ids, 'all');
  const s = m.newSequence();
  s.append(ids.slice(0, 250), 'none');
  const f = s.fork();                       // a fork of a 250-position cache
  const tail = s.append(ids.slice(250), 'all'); // grows 256 -> 512 on the way
  const ftail = f.append(ids.slice(250), 'all');
  const V = 512;
  let d = 0;
  for (let i = 0; i < tail.length; i++) d = Math.max(d, Math.abs(tail[i] - all[250 * V + i]), Math.abs(ftail[i] - all[250 * V + i]));
  assert.ok(d < 1e-5, `max |diff| ${d}`);
});

test('layers whose q/k/v or w1/w3 differ in storage type (not fused) give the same results', async () => {
  const { decodeToF32, encodeFromF32 } = await import('../../src/formats/codec.js');
  const { LlamaModel } = await import('../../src/inference/model.js');
  const { loadWeights } = await import('../../src/inference/weights.js');
  const cfg = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, hiddenDim: 96, vocabSize: 512, maxSeqLen: 64, normEps: 1e-5 });
  const base = syntheticCheckpoint(cfg, { seed: 4, std: 0.1, embeddingStd: 1 });
  // every value made f16-representable, so storing a tensor as f16 or f32 holds the same numbers
  const variant = (asF16: (name: string) => boolean) => {
    const tensors = new Map([...base.tensors].map(([name, e]) => {
      const vals = decodeToF32('f16', encodeFromF32('f16', decodeToF32(e.dtype, e.read(), e.shape), e.shape), e.shape);
      const dtype = e.shape.length === 2 && asF16(name) ? 'f16' as const : 'f32' as const;
      const bytes = encodeFromF32(dtype, vals, e.shape);
      return [name, { ...e, dtype, byteLength: bytes.length, read: (dst?: Uint8Array) => { if (!dst) return bytes; dst.set(bytes); return dst; } }];
    }));
    return { ...base, tensors };
  };
  const backend = createReferenceBackend();
  const run = (ck: typeof base) => {
    const w = loadWeights(ck, backend);
    const m = new LlamaModel(backend, w, null, { name: 'v', contextLength: 64 });
    return { fusedQkv: 'fused' in w.layers[0].qkv, fusedFfn: 'fused' in w.layers[0].gateUp, lp: m.newSequence().append([1, 5, 9, 300, 7], 'all') };
  };
  const fused = run(variant(() => false));
  const mixed = run(variant((n) => n.endsWith('wv.weight') || n.endsWith('w3.weight')));
  assert.deepEqual([fused.fusedQkv, fused.fusedFfn, mixed.fusedQkv, mixed.fusedFfn], [true, true, false, false]);
  let d = 0;
  for (let i = 0; i < fused.lp.length; i++) d = Math.max(d, Math.abs(fused.lp[i] - mixed.lp[i]));
  assert.ok(d < 1e-5, `max |diff| ${d}`);
});

test('dispose gives the memory back: a model loaded again after dispose does not grow the backend', async () => {
  const { createWasmBackend } = await import('../../src/kernels/wasm.js');
  const cfg = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, hiddenDim: 96, vocabSize: 512, maxSeqLen: 64, normEps: 1e-5 });
  const p = join(dir, 'dispose.gguf');
  saveGgufCheckpoint(syntheticCheckpoint(cfg, { seed: 6, std: 0.1, embeddingStd: 1 }), p);
  const backend = await createWasmBackend({ threads: 1 });
  try {
    const first = await loadModel(p, { backend });
    const seq = first.newSequence();
    const row = seq.append([1, 5, 9], 'last');
    first.newSequence().append([1, 2], 'none'); // a second cache, still in use at dispose
    const bytes = backend.memoryBytes;
    first.dispose();
    assert.throws(() => seq.append([3], 'last'), /is disposed: load the model again/);
    assert.throws(() => first.newSequence(), /is disposed/);
    for (let i = 0; i < 3; i++) {
      const m = await loadModel(p, { backend });
      assert.deepEqual(m.newSequence().append([1, 5, 9], 'last'), row, 'same weights, same results in reused memory');
      m.dispose();
    }
    assert.equal(backend.memoryBytes, bytes);
  } finally { backend.dispose(); }
});

test('a tensor that fails to read releases what was placed before the error', async () => {
  const { createWasmBackend } = await import('../../src/kernels/wasm.js');
  const { loadWeights } = await import('../../src/inference/weights.js');
  const cfg = makeConfig({ dim: 64, nLayers: 3, nHeads: 4, hiddenDim: 96, vocabSize: 512, maxSeqLen: 64, normEps: 1e-5 });
  const ckpt = syntheticCheckpoint(cfg, { seed: 6 });
  const tensors = new Map(ckpt.tensors);
  const bad = tensors.get('output.weight')!; // read last, after every layer is in place
  tensors.set('output.weight', { ...bad, read: () => { throw new Error(`${bad.source}: checksum mismatch`); } });
  const backend = await createWasmBackend({ threads: 1 });
  try {
    const marker = () => { const a = backend.createArena(64, 'marker'); const o = a.f32('m', [1]).byteOffset; a.release(); return o; };
    const mark = marker();
    assert.throws(() => loadWeights({ ...ckpt, tensors }, backend), /output.weight'?: checksum mismatch/);
    assert.equal(marker(), mark, 'nothing stayed allocated');
  } finally { backend.dispose(); }
});
