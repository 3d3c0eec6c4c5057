/** The generate / chat / logprobs / convert commands, run as a user runs them. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig } from '../../src/model/config.js';
import { syntheticCheckpoint } from '../../src/formats/synthetic.js';
import { saveGgufCheckpoint } from '../../src/formats/gguf-llama.js';

const FIX = 'fixtures/inference';
const MAIN = 'dist/src/cli/main.js';
const dir = mkdtempSync(join(tmpdir(), 'llama-ts-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', input, env: { ...process.env, LLAMA_TS_DEBUG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const ref = JSON.parse(readFileSync(join(FIX, 'torch-ref.json'), 'utf8')) as { tokens: number[]; vocab_size: number };
const refLp = new Float32Array(new Uint8Array(readFileSync(join(FIX, 'torch-ref.logprobs.f32'))).buffer);

test('logprobs writes float32 LE rows [n, vocab] matching PyTorch; convert chains through every format', () => {
  const ids = ref.tokens.slice(0, 10).join(',');
  const gguf = join(dir, 'm.gguf');
  assert.equal(cli(['convert', '--model', join(FIX, 'torch-meta'), '--to', 'gguf', '--out', gguf]).code, 0);
  assert.equal(cli(['convert', '--model', gguf, '--to', 'hf', '--out', join(dir, 'hf'), '--type', 'f32']).code, 0);
  assert.equal(cli(['convert', '--model', join(dir, 'hf'), '--to', 'meta', '--out', join(dir, 'meta'), '--shards', '2']).code, 0);
  for (const m of [join(FIX, 'torch-hf'), gguf, join(dir, 'hf'), join(dir, 'meta')]) {
    const out = join(dir, 'lp.f32');
    const r = cli(['logprobs', '--model', m, '--ids', ids, '--out', out]);
    assert.equal(r.code, 0, r.err);
    const got = new Float32Array(new Uint8Array(readFileSync(out)).buffer);
    assert.equal(got.length, 10 * ref.vocab_size);
    let d = 0;
    for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i] - refLp[i]));
    assert.ok(d < 1e-4, `${m}: ${d}`);
  }
  // quantized GGUF output
  const q = join(dir, 'q.gguf');
  assert.equal(cli(['convert', '--model', join(FIX, 'torch-hf'), '--to', 'gguf', '--out', q, '--type', 'q8_0']).code, 0);
  assert.ok(readFileSync(q).length < readFileSync(gguf).length * 0.6); // q8_0: 34 bytes per 32 weights vs bf16 64
});

test('bad input gives one clear line, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['logprobs', '--model', join(FIX, 'torch-hf'), '--ids', '1,x', '--out', join(dir, 'x')], /--ids: item 2 "x" is not a token id/],
    [['logprobs', '--model', join(FIX, 'torch-hf'), '--ids', '1,999', '--out', join(dir, 'x')], /item 2 is 999, outside the vocabulary 0\.\.319/],
    [['logprobs', '--model', join(dir, 'nope.gguf'), '--ids', '1', '--out', join(dir, 'x')], /nope\.gguf: no such file or directory/],
    [['convert', '--model', join(FIX, 'torch-hf'), '--to', 'hf', '--type', 'q4_0', '--out', join(dir, 'y')], /--type q4_0 needs --to gguf/],
    [['convert', '--model', join(FIX, 'torch-hf'), '--to', 'onnx', '--out', join(dir, 'y')], /--to onnx: expected gguf, hf or meta/],
    [['generate', '--model', join(FIX, 'torch-hf'), '--prompt', 'hi'], /has no tokenizer/],
    [['generate', '--model', join(FIX, 'torch-hf'), '--prompt', 'hi', '--top-p', '2'], /--top-p "2": expected a number in \(0, 1\]/],
  ];
  for (const [args, re] of cases) {
    const r = cli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.ok(!/\n\s+at /.test(r.err), `stack trace for ${args.join(' ')}: ${r.err}`);
  }
  assert.ok(!existsSync(join(dir, 'x')));
});

test('a tokenizer.model whose vocabulary does not fit the model is refused', { skip: existsSync('../shared/data/tokenizer/tokenizer.model') ? false : 'no ../shared/data' }, () => {
  const d = join(dir, 'hf-tok');
  cpSync(join(FIX, 'torch-hf'), d, { recursive: true });
  copyFileSync('../shared/data/tokenizer/tokenizer.model', join(d, 'tokenizer.model'));
  const r = cli(['logprobs', '--model', d, '--ids', '1,2', '--out', join(dir, 'z')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /tokenizer .* has 32000 pieces but the model's vocabulary is 320/);
});

test('generate streams, is deterministic per seed, honours --stop; chat answers piped lines', () => {
  const cfg = makeConfig({ dim: 64, nLayers: 2, nHeads: 4, hiddenDim: 96, vocabSize: 512, maxSeqLen: 128, normEps: 1e-5 });
  const p = join(dir, 'gen.gguf');
  saveGgufCheckpoint(syntheticCheckpoint(cfg, { seed: 5, std: 0.1, embeddingStd: 1 }), p);
  const g = (extra: string[]) => cli(['generate', '--model', p, '--prompt', 'the cat', '-n', '20', '--seed', '3', ...extra]);
  const a = g([]);
  assert.equal(a.code, 0, a.err);
  assert.equal(g([]).out, a.out);
  assert.match(a.err, /prompt \d+ tokens/);
  const greedy = g(['--temperature', '0']).out;
  const stop = greedy.slice(4, 6);
  const s = g(['--temperature', '0', '--stop', stop]);
  assert.equal(s.out, greedy.slice(0, greedy.indexOf(stop)) + '\n');
  assert.match(s.err, /^\[stop\]/m);
  const c = cli(['chat', '--model', p, '-n', '5', '--temperature', '0'], 'hello\n\nhow are you\n/reset\nhello\n');
  assert.equal(c.code, 0, c.err);
  const lines = c.out.split('\n');
  assert.ok(lines.length >= 3, JSON.stringify(c.out));
  assert.match(c.err, /conversation cleared/);
});
