import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate, table2Recipe, tokenBatch, validateSchedule } from '../../src/train/schedule.js';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('linear warmup reaches the peak on the last warmup step', () => {
  const s = { peakLr: 3e-4, warmupSteps: 2000, totalSteps: 10000, minLrRatio: 0.1 };
  close(learningRate(0, s), 3e-4 / 2000);
  close(learningRate(999, s), 3e-4 * 1000 / 2000);
  close(learningRate(1999, s), 3e-4);
  // strictly increasing during warmup
  for (let i = 1; i < 2000; i += 97) assert.ok(learningRate(i, s) > learningRate(i - 1, s));
});

test('cosine decay ends at 10% of the peak (the paper\'s final rate) and is halfway at the midpoint', () => {
  const s = { peakLr: 1.5e-4, warmupSteps: 100, totalSteps: 1100, minLrRatio: 0.1 };
  close(learningRate(1099, s), 1.5e-5);           // last step
  close(learningRate(5000, s), 1.5e-5);           // past the end it stays at the floor
  close(learningRate(599, s), 1.5e-5 + (1.5e-4 - 1.5e-5) / 2); // p = 0.5: cos = 0
  // the paper's definition, written independently: lr = min + (max-min)/2 (1 + cos(pi t/T))
  for (const step of [100, 250, 700, 1000]) {
    const t = step + 1 - 100, T = 1000;
    close(learningRate(step, s), 1.5e-5 + 0.5 * (1.5e-4 - 1.5e-5) * (1 + Math.cos(Math.PI * t / T)));
  }
  // monotone non-increasing after warmup
  for (let i = 101; i < 1100; i++) assert.ok(learningRate(i, s) <= learningRate(i - 1, s) + 1e-18);
});

test('no warmup, and warmup equal to the whole run', () => {
  close(learningRate(0, { peakLr: 1, warmupSteps: 0, totalSteps: 1, minLrRatio: 0.1 }), 0.1);
  close(learningRate(0, { peakLr: 1, warmupSteps: 0, totalSteps: 3, minLrRatio: 0.1 }), 0.1 + 0.9 * 0.75);
  close(learningRate(2, { peakLr: 1, warmupSteps: 3, totalSteps: 3, minLrRatio: 0.1 }), 1);
  assert.throws(() => validateSchedule({ peakLr: 1, warmupSteps: 5, totalSteps: 3, minLrRatio: 0.1 }), /warmupSteps must not exceed/);
  assert.throws(() => validateSchedule({ peakLr: -1, warmupSteps: 0, totalSteps: 3, minLrRatio: 0.1 }), /peakLr/);
});

test('Table 2 recipes: rates, 4M-token batches, steps and 2000 warmup steps', () => {
  const r7 = table2Recipe('7B');
  assert.equal(r7.schedule.peakLr, 3e-4);
  assert.equal(r7.batchTokens, 4194304);
  assert.equal(r7.schedule.warmupSteps, 2000);
  assert.equal(r7.schedule.totalSteps, Math.ceil(1e12 / 4194304)); // 238,419 steps for 1.0T tokens
  const r65 = table2Recipe('65B');
  assert.equal(r65.schedule.peakLr, 1.5e-4);
  assert.equal(r65.schedule.totalSteps, Math.ceil(1.4e12 / 4194304));
  assert.throws(() => table2Recipe('15M'), /no Table 2 recipe for '15M'/);
});

test('token batches by gradient accumulation', () => {
  assert.deepEqual(tokenBatch(4 * 1024 * 1024, 8, 256), { microBatch: 8, seqLen: 256, accumSteps: 2048, batchTokens: 4194304 });
  assert.deepEqual(tokenBatch(4 * 1024 * 1024, 4, 2048), { microBatch: 4, seqLen: 2048, accumSteps: 512, batchTokens: 4194304 });
  assert.equal(tokenBatch(100, 8, 256).accumSteps, 1); // smaller than one micro-batch: one
  assert.equal(tokenBatch(5000, 8, 256).batchTokens, 4096); // rounded to the nearest multiple
  assert.throws(() => tokenBatch(100, 0, 256), /positive integers/);
});
