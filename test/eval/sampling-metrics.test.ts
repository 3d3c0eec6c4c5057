/** maj1@k and pass@k through the task pipeline, with a scripted model whose outputs we choose. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EvalModel, GenerateRequest } from '../../src/eval/model.js';
import { evaluateTask } from '../../src/eval/runner.js';
import { humaneval, loadHumanEval } from '../../src/eval/tasks/code.js';
import { gsm8k, loadGsm8k } from '../../src/eval/tasks/math.js';

const DATA = '../shared/data';

/** Answers generation requests from a list of outputs, in order; records the requests. */
class Scripted implements EvalModel {
  readonly name = 'scripted';
  seen: GenerateRequest[] = [];
  constructor(private readonly outputs: string[]) {}
  async loglikelihood(): Promise<never[]> { throw new Error('not used'); }
  async generate(reqs: readonly GenerateRequest[]): Promise<string[]> {
    this.seen.push(...reqs);
    return reqs.map(() => this.outputs.shift() ?? '');
  }
}

test('HumanEval pass@k: n samples run in the sandbox, c counted, unbiased estimator applied', async () => {
  const [d] = loadHumanEval(DATA);
  const m = new Scripted([d.canonical, '    return None\n', d.canonical, '    while True: pass\n']);
  const r = await evaluateTask(humaneval, m, { dataDir: DATA, seed: 3, limit: 1, samples: 4, temperature: 0.8, sandbox: { wallMs: 3000, cpuSeconds: 2 } });
  assert.equal(r.metrics['pass@1'].value, 0.5, 'c=2 of n=4');
  assert.equal(r.metrics['pass@1'].n, 1);
  assert.equal(r.settings.samples, 4);
  assert.deepEqual(m.seen.map((q) => q.temperature), [0.8, 0.8, 0.8, 0.8]);
  assert.equal(new Set(m.seen.map((q) => q.seed)).size, 4, 'each sample has its own seed');
  assert.ok(m.seen[0].prompt === d.prompt && m.seen[0].until.includes('\ndef'));
});

test('GSM8k maj1@k: majority over extracted answers decides; mean sample accuracy reported too', async () => {
  const [d] = loadGsm8k(DATA, 'test'); // gold 18
  const m = new Scripted([' 9 * 2 = 18\n#### 18', ' she makes $20', ' so 18 dollars.', /* item 2 */ ' #### 1', ' #### 2', ' #### 2']);
  const r = await evaluateTask(gsm8k, m, { dataDir: DATA, seed: 3, limit: 2, samples: 3, shots: 2 });
  assert.deepEqual([d.answer, loadGsm8k(DATA, 'test')[1].answer], ['18', '3']);
  // Item 1: answers 18, 20, 18 → vote 18, correct; item 2: 1, 2, 2 → vote 2, wrong (gold 3).
  assert.equal(r.metrics['maj1@3'].value, 0.5);
  assert.ok(Math.abs(r.metrics.mean_sample_acc.value - (2 / 3 + 0) / 2) < 1e-12);
  assert.equal(r.settings.temperature, 0.6, 'maj1@k samples at 0.6 unless told');
  assert.equal((m.seen[0].prompt.match(/Question:/g) ?? []).length, 3, '2 shots + the question');
});
