import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTokenShard } from '../../src/data/token-shard.js';
import { readRunConfig, settingsFromConfig } from '../../src/train/setup.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-cfg-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { encoding: 'utf8' });

mkdirSync(join(dir, 'shards'));
const doc = (k: number) => Array.from({ length: 30 }, (_, i) => (k * 13 + i * 5) % 500 + 3);
writeTokenShard(join(dir, 'shards', 'web.shard'), [doc(1), doc(2), doc(3)], 512);
writeTokenShard(join(dir, 'shards', 'books.shard'), [doc(4)], 512);
writeTokenShard(join(dir, 'shards', 'val.shard'), [doc(5)], 512);

test('a config file with a two-source mixture (relative paths), flags over it, Table 2 presets', () => {
  const cfg = join(dir, 'run.json');
  writeFileSync(cfg, JSON.stringify({
    model: 'tiny',
    data: { sources: [{ name: 'web', shards: ['shards/web.shard'], weight: 0.8 }, { name: 'books', shards: ['shards/books.shard'], weight: 0.2 }] },
    val: { shards: ['shards/val.shard'] },
    batch: 2, seqLen: 32, batchTokens: 128, steps: 50, lr: 1e-3, evalEvery: 2, evalBatches: 1, checkpointEvery: 2, backend: 'reference',
  }));
  const out = join(dir, 'run');
  const r = cli('train', '--config', cfg, '--steps', '4', '--warmup', '1', '--out', out, '--no-export');
  assert.equal(r.status, 0, r.stderr);
  const settings = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  assert.equal(settings.schedule.totalSteps, 4); // the flag wins over the file
  assert.equal(settings.accumSteps, 2);         // 128 tokens per step from 2×32 micro-batches
  assert.equal(settings.data.sources[0].shards[0], join(dir, 'shards', 'web.shard'));
  const recs = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const data = recs.filter((x) => x.kind === 'data').pop();
  assert.deepEqual(data.sources.map((s: { name: string; weight: number }) => [s.name, s.weight]), [['web', 0.8], ['books', 0.2]]);
  assert.ok(data.sources[1].epochs > 0);

  const t2 = settingsFromConfig({ ...readRunConfig(cfg), table2: '65B', steps: undefined, batchTokens: undefined, lr: undefined }, { bosId: 1, eosId: 2 });
  assert.equal(t2.schedule.peakLr, 1.5e-4);
  assert.equal(t2.accumSteps, 4194304 / 64);
  assert.equal(t2.schedule.warmupSteps, 2000);
});

test('bad config files and flags are named', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ model: 'tiny', dataa: {} }));
  assert.match(cli('train', '--config', bad).stderr, /config .*bad\.json: unknown key 'dataa'/);
  writeFileSync(bad, '{ "model": ');
  assert.match(cli('train', '--config', bad).stderr, /config .*bad\.json: .*JSON/);
  writeFileSync(bad, JSON.stringify({ model: 'huge', data: { shards: [join(dir, 'shards', 'web.shard')] } }));
  assert.match(cli('train', '--config', bad, '--out', join(dir, 'x')).stderr, /unknown model preset 'huge'/);
  assert.match(cli('train', '--data', join(dir, 'shards', 'web.shard'), '--batch', 'two').stderr, /--batch expects an integer, got 'two'/);
  assert.match(cli('train', '--data', join(dir, 'shards', 'web.shard'), '--seq-len', '4096', '--out', join(dir, 'y')).stderr, /seqLen 4096 exceeds the model's context length 128/);
});
