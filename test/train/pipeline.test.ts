/**
 * The README's main job end to end, shortened to a few steps: `llama-ts quickstart` (corpus,
 * tokenizer, shards, pre-training with validation before/after, GGUF export, a sample through the
 * inference engine), then `llama-ts finetune` of its model on instruction JSONL, and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-pipeline-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const CLI = 'dist/src/cli/main.js';
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
const qs = join(dir, 'qs');

test('quickstart: tokenizer, shards, pre-training, validation before/after, model.gguf and a sample', () => {
  const r = cli('quickstart', '--steps', '3', '--out', qs);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\[2\/6\] tokenizer: BPE, 1024 pieces/);
  const m = /validation loss: ([\d.]+) before training -> ([\d.]+) after 3 steps/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.ok(Number(m[2]) < Number(m[1]), `validation loss went from ${m[1]} to ${m[2]}`);
  assert.match(r.stderr, /\[6\/6\] sample/);
  for (const f of ['model.gguf', 'tokenizer.model', 'log.jsonl', 'run.json', 'data/train-000.shard', 'checkpoints/step-00000003.ckpt']) {
    assert.ok(existsSync(join(qs, f)), `${f} written`);
  }
});

test('finetune the quickstart model on instruction data; bad records are named', () => {
  const data = join(dir, 'sft.jsonl');
  writeFileSync(data, ['France', 'Peru', 'Japan', 'Kenya'].map((c) => JSON.stringify({ prompt: `Where is ${c}?`, response: `${c} is a country.` })).join('\n') + '\n');
  const out = join(dir, 'sft');
  const r = cli('finetune', '--model', qs, '--data', data, '--val', data, '--steps', '4', '--batch', '2', '--seq-len', '48',
    '--checkpoint-every', '2', '--eval-every', '2', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const recs = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(recs.filter((x) => x.kind === 'train').map((x) => x.step), [1, 2, 3, 4]);
  assert.ok(existsSync(join(out, 'model.gguf')));
  const again = cli('finetune', '--model', qs, '--data', data, '--out', out);
  assert.match(again.stderr, /already holds a run/);

  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"prompt": "a", "response": "b"}\n{"prompt": "a"}\n');
  const b = cli('finetune', '--model', qs, '--data', bad, '--out', join(dir, 'sft-bad'));
  assert.equal(b.status, 1);
  assert.match(b.stderr, /bad\.jsonl:2: missing field "response"/);
});

test('train refuses shards of another vocabulary and missing files, naming them', () => {
  const r = cli('train', '--data', join(qs, 'data', 'train-000.shard'), '--model', 'tiny', '--steps', '1', '--out', join(dir, 'v'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /train-000\.shard \(source 'data'\): vocabulary size 1024 differs from the model's 512/);
  assert.ok(!existsSync(join(dir, 'v', 'run.json')), 'a refused start leaves no run behind');
  const m = cli('train', '--data', join(dir, 'nope.shard'), '--steps', '1', '--out', join(dir, 'w'));
  assert.match(m.stderr, /training shard .*nope\.shard: no such file/);
});
