import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMetric, markdownReport, type EvalReport } from '../../src/eval/report.js';
import { aggregate, type TaskResult } from '../../src/eval/runner.js';
import { crowsPairs } from '../../src/eval/tasks/bias.js';
import { mmlu, mmluSubjects } from '../../src/eval/tasks/mmlu.js';
import { piqa } from '../../src/eval/tasks/common-sense.js';
import { MMLU_CATEGORIES, mmluCategory, mmluKnownSubjects } from '../../src/eval/tasks/mmlu-categories.js';

test('aggregate: mean and standard error per metric key; absent keys are not zeros', () => {
  const m = aggregate([
    { metrics: { acc: 1, 'acc/a': 1 }, log: {} },
    { metrics: { acc: 0, 'acc/b': 0 }, log: {} },
    { metrics: { acc: 1, 'acc/a': 0 }, log: {} },
  ]);
  assert.deepEqual(Object.keys(m), ['acc', 'acc/a', 'acc/b']);
  assert.equal(m.acc.n, 3);
  assert.ok(Math.abs(m.acc.value - 2 / 3) < 1e-12);
  assert.ok(Math.abs(m.acc.stderr - Math.sqrt(1 / 3 / 3)) < 1e-12);
  assert.deepEqual([m['acc/a'].value, m['acc/a'].n, m['acc/b'].n], [0.5, 2, 1]);
});

test('MMLU categories: every subject of the release maps to one of the four Table 9 categories', () => {
  assert.deepEqual(mmluSubjects('../shared/data'), mmluKnownSubjects());
  const count: Record<string, number> = {};
  for (const s of mmluKnownSubjects()) { const c = mmluCategory(s)!; count[c] = (count[c] ?? 0) + 1; }
  assert.deepEqual(count, { humanities: 13, stem: 18, social_sciences: 12, other: 14 });
  assert.deepEqual(Object.keys(count).sort(), [...MMLU_CATEGORIES].sort());
  assert.equal(mmluCategory('no_such_subject'), null);
});

function result(meta: TaskResult['meta'], metrics: Record<string, number>, n = 100): TaskResult {
  return {
    task: `${meta.name}@${meta.version}`, meta, settings: { shots: meta.defaultShots }, items: n, seconds: 1,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, { value: v, stderr: Math.sqrt(v * (1 - v) / n), n }])),
  };
}

test('Markdown tables are laid out like the paper\'s: one column per benchmark or category, % ± stderr', () => {
  const rep: EvalReport = {
    kind: 'llama-ts-eval-report', formatVersion: 1, createdAt: 'now', model: { name: 'm', source: 'file m' }, seed: 1, limit: null, dataDir: '.',
    results: [
      result(piqa.meta, { acc: 0.798, acc_unnormalized: 0.77 }),
      result(mmlu.meta, { acc: 0.351, 'acc/humanities': 0.34, 'acc/stem': 0.305, 'acc/social_sciences': 0.383, 'acc/other': 0.381 }),
      result(crowsPairs.meta, { stereotype_preferred: 0.669, 'stereotype_preferred/gender': 0.706 }),
    ],
  };
  const md = markdownReport(rep);
  assert.match(md, /\| model \| PIQA \|\n\|---\|---\|\n\| m \| 79\.8 ± 4\.0 \|/);
  assert.match(md, /\| model \| Humanities \| STEM \| Social Sciences \| Other \| Average \|\n\|---\|---\|---\|---\|---\|---\|\n\| m \| 34\.0 ± 4\.7 \| 30\.5 ± 4\.6 \| 38\.3 ± 4\.9 \| 38\.1 ± 4\.9 \| 35\.1 ± 4\.8 \|/);
  assert.match(md, /\| model \| Gender \| CrowS-Pairs average \|/, 'categories without results are left out');
  assert.match(md, /\| piqa@1 \| acc_unnormalized \| 77\.00 \| 4\.21 \| 100 \|/);
  assert.equal(formatMetric('toxicity', { value: 0.1234, stderr: 0.01, n: 10 }), '0.123 ± 0.010');
});
