/** The `llama-ts eval` command end to end: every task with --limit against a local OpenAI-style server backed by the n-gram model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CharNgramModel } from '../../src/eval/char-ngram.js';
import { taskNames } from '../../src/eval/tasks/registry.js';
import type { EvalReport } from '../../src/eval/report.js';
import { startFakeOpenAIServer } from './fake-openai-server.js';

const run = promisify(execFile);
const CLI = 'dist/src/cli/main.js';
const DATA = '../shared/data';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, LLAMA_TS_EVAL_DATA: '', ...env }, maxBuffer: 1 << 24 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

test('every task runs end to end with --limit; JSON + Markdown report and item logs', async () => {
  const corpus = readFileSync(join(DATA, 'tinyshakespeare/input.txt'), 'utf8').slice(0, 20000);
  const srv = await startFakeOpenAIServer(new CharNgramModel(corpus, 3));
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-eval-cli-'));
  try {
    const out = join(dir, 'report.json');
    const items = join(dir, 'items.jsonl');
    const r = await cli(['eval', '--server', srv.url, '--tasks', taskNames().join(','), '--limit', '2', '--data-dir', DATA,
      '--toxicity', 'lexicon', '--max-tokens', '24', '--seed', '7', '--out', out, '--log-items', items]);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
    assert.equal(rep.results.length, taskNames().length);
    assert.equal(rep.seed, 7);
    assert.equal(rep.limit, 2);
    for (const res of rep.results) {
      assert.match(res.task, /^[a-z0-9_]+@\d+$/);
      assert.equal(res.items, 2, res.task);
      assert.equal(res.settings.seed, 7);
      assert.equal(res.settings.limit, 2);
      assert.equal(typeof res.settings.template, 'string');
      assert.equal(typeof res.settings.shots, 'number');
      const primary = res.metrics[res.meta.primaryMetric];
      assert.ok(primary && primary.n === 2 && primary.value >= 0 && primary.value <= 1, `${res.task}: ${JSON.stringify(res.metrics)}`);
    }
    assert.equal(rep.results.find((x) => x.task.startsWith('mmlu'))!.settings.shots, 5);
    assert.match(rep.results.find((x) => x.task.startsWith('realtoxicity'))!.settings.scorer as string, /NOT Perspective/);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(md, /\| model \| BoolQ \| PIQA \| SIQA \| HellaSwag \| WinoGrande \| ARC-e \| ARC-c \| OBQA \|/);
    assert.match(md, /\d+\.\d ± \d+\.\d/);
    const lines = readFileSync(items, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { task: string; id: string; metrics: object });
    assert.equal(lines.length, 2 * taskNames().length);
    assert.ok(lines.every((l) => l.task && l.id && l.metrics));
    assert.match(r.stdout, /piqa@1: acc /);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: unknown task, no data folder, malformed dataset, both/neither model options', async () => {
  const unknown = await cli(['eval', '--server', 'http://127.0.0.1:9', '--tasks', 'piqa,nonesuch', '--data-dir', DATA]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown task 'nonesuch'\. Valid tasks: boolq, piqa, siqa/);
  const noData = await cli(['eval', '--server', 'http://127.0.0.1:9', '--tasks', 'piqa']);
  assert.match(noData.stderr, /pass --data-dir DIR or set LLAMA_TS_EVAL_DATA/);
  const both = await cli(['eval', '--server', 'http://127.0.0.1:9', '--model', 'x.gguf', '--tasks', 'piqa', '--data-dir', DATA]);
  assert.match(both.stderr, /exactly one of --model PATH or --server URL/);
  const dir = mkdtempSync(join(tmpdir(), 'llama-ts-eval-bad-'));
  try {
    mkdirSync(join(dir, 'winogrande'));
    writeFileSync(join(dir, 'winogrande/dev.jsonl'), '{"qID":"a","sentence":"x _ y","option1":"p","option2":"q","answer":"1"}\n\n{"qID":"b","sentence":"no blank","option1":"p","option2":"q","answer":"2"}\n');
    mkdirSync(join(dir, 'piqa'));
    writeFileSync(join(dir, 'piqa/valid.jsonl'), readFileSync(join(DATA, 'piqa/valid.jsonl'), 'utf8').split('\n').slice(0, 3).join('\n'));
    writeFileSync(join(dir, 'piqa/valid-labels.lst'), '0\n1\n1\n');
    const srv = await startFakeOpenAIServer(new CharNgramModel('Question: Answer: the a b c', 3));
    try {
      const out = join(dir, 'partial.json');
      const bad = await cli(['eval', '--server', srv.url, '--tasks', 'piqa,winogrande', '--data-dir', dir, '--out', out]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /winogrande\/dev\.jsonl:3: sentence has no "_" blank/);
      // The task that finished is kept in a report marked incomplete.
      const rep = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
      assert.deepEqual(rep.results.map((r) => [r.task, r.items]), [['piqa@1', 3]]);
      assert.match(rep.incomplete ?? '', /stopped: .*sentence has no "_" blank/);
    } finally { await srv.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const list = await cli(['eval', '--list-tasks']);
  assert.match(list.stdout, /truthfulqa_mc@1/);
});

test('llama-ts footprint --table15 prints the paper\'s rows', async () => {
  const r = await cli(['footprint', '--table15']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\| LLaMA-65B \| A100-80GB \| 400 \| 1,022,362 \| 449 \| 173 \|/);
  const j = await cli(['footprint', '--gpu-hours', '82432', '--json']);
  assert.equal(JSON.parse(j.stdout).tco2eqPrinted, 14);
  const bad = await cli(['footprint', '--gpu-hours', 'lots']);
  assert.match(bad.stderr, /--gpu-hours expects a non-negative number, got 'lots'/);
});
