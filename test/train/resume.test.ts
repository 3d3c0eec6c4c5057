/**
 * Exact resume: a run killed with SIGKILL after a checkpoint and resumed with `--resume` logs the
 * same losses, learning rates and gradient norms, bit for bit, as a run that was never interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTokenShard } from '../../src/data/token-shard.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-resume-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const CLI = 'dist/src/cli/main.js';
const backend = existsSync('dist/src/kernels/index.js') ? 'wasm' : 'reference';

function makeShards() {
  let x = 11;
  const docs: number[][] = [];
  for (let d = 0; d < 120; d++) {
    const doc: number[] = [];
    for (let i = 0; i < 40 + (d % 25); i++) { x = (5 * x + 17) % 500 + 3; doc.push(i % 9 === 0 ? (x * 7) % 512 : x); }
    docs.push(doc);
  }
  writeTokenShard(join(dir, 'train.shard'), docs, 512);
  writeTokenShard(join(dir, 'val.shard'), docs.slice(0, 10), 512);
}

const args = (out: string) => ['train', '--data', join(dir, 'train.shard'), '--val', join(dir, 'val.shard'), '--model', 'tiny',
  '--batch', '2', '--seq-len', '32', '--batch-tokens', '128', '--steps', '14', '--warmup', '3', '--lr', '2e-3',
  '--checkpoint-every', '3', '--eval-every', '5', '--eval-batches', '2', '--backend', backend, '--threads', '2', '--no-export', '--out', out];

function records(out: string) {
  return readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((r) => r.kind !== 'footprint') // CPU-time estimates, per session
    .map(({ time, tokensPerSec, mfu, elapsedSec, ...rest }) => rest); // wall-clock fields differ run to run
}

test(`SIGKILL then --resume reproduces the uninterrupted loss curve exactly (${backend} backend)`, async () => {
  makeShards();
  const A = join(dir, 'A'), B = join(dir, 'B');
  const a = spawnSync(process.execPath, [CLI, ...args(A)], { encoding: 'utf8' });
  assert.equal(a.status, 0, a.stderr);
  // the run records its own CPU footprint estimate at the end
  const foot = readFileSync(join(A, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.kind === 'footprint');
  assert.equal(foot.length, 1);
  assert.ok(foot[0].estimate.cpuSeconds > 0 && foot[0].estimate.energyKWh > 0 && foot[0].estimate.kind === 'estimate');
  assert.match(a.stderr + a.stdout, /footprint \(estimate/);

  // B: killed hard once its step-6 checkpoint exists (somewhere inside steps 7..9)
  const child = spawn(process.execPath, [CLI, ...args(B)], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  const ck = join(B, 'checkpoints', 'step-00000006.ckpt');
  const t = setInterval(() => { if (existsSync(ck)) child.kill('SIGKILL'); }, 5);
  const signal = await exited;
  clearInterval(t);
  assert.equal(signal, 'SIGKILL', 'run B ended before its step-6 checkpoint appeared');
  const beforeResume = readdirSync(join(B, 'checkpoints'));
  assert.ok(!beforeResume.includes('step-00000014.ckpt'), 'B was killed before finishing');

  const r = spawnSync(process.execPath, [CLI, 'train', '--resume', B], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resumed from step (6|9|12)/);
  const ra = records(A), rb = records(B);
  assert.equal(ra.filter((x) => x.kind === 'train').length, 14);
  assert.deepEqual(rb, ra);
  // the resumed run's checkpoints are the same bytes as the uninterrupted run's
  assert.deepEqual(readFileSync(join(B, 'checkpoints', 'step-00000014.ckpt')), readFileSync(join(A, 'checkpoints', 'step-00000014.ckpt')));
});

test('a run directory refuses a second start, and resume of a non-run fails clearly', () => {
  const A = join(dir, 'A');
  const again = spawnSync(process.execPath, [CLI, ...args(A)], { encoding: 'utf8' });
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /already holds a run.*--resume/);
  const bad = spawnSync(process.execPath, [CLI, 'train', '--resume', dir], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /is not a llama-ts run directory \(no run\.json\)/);
});
