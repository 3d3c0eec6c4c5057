/**
 * Evidence (b) and (c): the PyTorch fixtures (scripts/fixtures/inference-torch.py: a small GQA
 * LLaMA in Meta .pth shards and HF safetensors shards, with float64 reference log-probs) give the
 * same log-probs here within 1e-4, on both backends, batched and token by token; and the same
 * model converted to GGUF / HF / Meta by our writers gives the same log-probs again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/inference/index.js';
import { createBackend, type Backend } from '../../src/kernels/index.js';
import { openCheckpoint, saveCheckpoint } from '../../src/formats/index.js';

const FIX = 'fixtures/inference';
const ref = JSON.parse(readFileSync(join(FIX, 'torch-ref.json'), 'utf8')) as { tokens: number[]; vocab_size: number };
const refLp = new Float32Array(new Uint8Array(readFileSync(join(FIX, 'torch-ref.logprobs.f32'))).buffer);
const dir = mkdtempSync(join(tmpdir(), 'llama-ts-torchref-'));
const backends: Backend[] = [];
after(() => { backends.forEach((b) => b.dispose()); rmSync(dir, { recursive: true, force: true }); });

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const kind of ['reference', 'wasm'] as const) {
  for (const fmt of ['torch-meta', 'torch-hf', 'torch-hf-bin']) {
    test(`${fmt} on the ${kind} backend matches PyTorch within 1e-4 (batched and incremental)`, async () => {
      const backend = await createBackend({ kind, threads: 2 });
      backends.push(backend);
      const m = await loadModel(join(FIX, fmt), { backend });
      const all = m.newSequence().append(ref.tokens, 'all');
      const d = maxDiff(all, refLp);
      assert.ok(d < 1e-4, `batched max |diff| ${d}`);
      // one token at a time through the KV cache
      const seq = m.newSequence();
      const V = ref.vocab_size;
      const rows = new Float32Array(ref.tokens.length * V);
      ref.tokens.forEach((t, i) => rows.set(seq.append([t], 'last'), i * V));
      const d2 = maxDiff(rows, refLp);
      assert.ok(d2 < 1e-4, `incremental max |diff| ${d2}`);
    });
  }
}

test('fork copies the KV cache; truncate rewinds; the context limit is a clear error', async () => {
  const backend = await createBackend({ kind: 'reference' });
  backends.push(backend);
  const m = await loadModel(join(FIX, 'torch-meta'), { backend, contextLength: 30 });
  const V = ref.vocab_size;
  const a = m.newSequence();
  a.append(ref.tokens.slice(0, 10), 'none');
  const b = a.fork();
  const ra = a.append(ref.tokens.slice(10, 12), 'all');
  b.append([5, 6, 7], 'none'); // diverge, then rewind
  b.truncate(10);
  assert.equal(b.length, 10);
  const rb = b.append(ref.tokens.slice(10, 12), 'all');
  assert.ok(maxDiff(ra, rb) === 0);
  assert.ok(maxDiff(ra, refLp.subarray(10 * V, 12 * V)) < 1e-4);
  a.dispose();
  const c = m.newSequence(); // reuses a's cache: must not see its contents
  assert.ok(maxDiff(c.append(ref.tokens.slice(0, 3), 'all'), refLp.subarray(0, 3 * V)) < 1e-4);
  assert.throws(() => c.append(new Array(28).fill(5), 'none'), /context length exceeded: 3 cached \+ 28 new tokens > the context of 30 tokens/);
  assert.throws(() => c.append([1, 320], 'none'), /token id 320 at position 1 is outside the vocabulary 0\.\.319/);
  assert.equal(c.length, 3);
});

test('decodeBatch: sequences at different positions decoded together match one by one', async () => {
  const backend = await createBackend({ kind: 'wasm', threads: 2 });
  backends.push(backend);
  const m = await loadModel(join(FIX, 'torch-hf'), { backend });
  const V = ref.vocab_size;
  const a = m.newSequence();
  const b = m.newSequence();
  a.append(ref.tokens.slice(0, 5), 'none');
  b.append(ref.tokens.slice(0, 11), 'none');
  const rows = m.decodeBatch(([a, b]), [ref.tokens[5], ref.tokens[11]]);
  assert.equal(a.length, 6);
  assert.equal(b.length, 12);
  assert.ok(maxDiff(rows.subarray(0, V), refLp.subarray(5 * V, 6 * V)) < 1e-4);
  assert.ok(maxDiff(rows.subarray(V), refLp.subarray(11 * V, 12 * V)) < 1e-4);
  // and the caches hold what a one-by-one run would: the next tokens continue correctly
  assert.ok(maxDiff(a.append([ref.tokens[6]], 'last'), refLp.subarray(6 * V, 7 * V)) < 1e-4);
  assert.throws(() => m.decodeBatch([a, a], [1, 2]), /appears twice/);
});

test('the same model saved as GGUF, HF and Meta by our writers gives the same log-probs', async () => {
  const backend = await createBackend({ kind: 'reference' });
  backends.push(backend);
  const src = openCheckpoint(join(FIX, 'torch-meta'));
  const outs = { gguf: join(dir, 'm.gguf'), hf: join(dir, 'hf'), meta: join(dir, 'meta') };
  try {
    saveCheckpoint(src, 'gguf', outs.gguf, { type: 'f32' });
    saveCheckpoint(src, 'hf', outs.hf, { type: 'f16' });
    saveCheckpoint(src, 'meta', outs.meta, { type: 'bf16', shards: 2 });
  } finally { src.close(); }
  const base = (await loadModel(join(FIX, 'torch-meta'), { backend })).newSequence().append(ref.tokens, 'all');
  for (const [fmt, p] of Object.entries(outs)) {
    const m = await loadModel(p, { backend });
    const lp = m.newSequence().append(ref.tokens, 'all');
    assert.ok(maxDiff(lp, base) <= 1e-6, `${fmt}: ${maxDiff(lp, base)}`);
  }
});
