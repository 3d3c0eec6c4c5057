/**
 * The harness on our real engine: a random-weight tiny LLaMA written as GGUF (with a synthetic
 * SentencePiece-style vocabulary) and loaded with loadModel. Checks that the context-sharing
 * adapter gives the same log-likelihoods as scoring each full sequence in one pass, and runs
 * tasks end to end (API and CLI --model).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { syntheticCheckpoint } from '../../src/formats/synthetic.js';
import { saveGgufCheckpoint } from '../../src/formats/gguf-llama.js';
import { PRESETS } from '../../src/model/config.js';
import { loadModel, Sampler } from '../../src/inference/index.js';
import { createLlamaServer } from '../../src/serve/server.js';
import { OpenAICompletionsModel } from '../../src/eval/openai-client.js';
import { LoadedModelAdapter, tokenizePair } from '../../src/eval/loaded-model.js';
import { evaluateTask } from '../../src/eval/runner.js';
import { resolveTasks, taskNames } from '../../src/eval/tasks/registry.js';
import type { EvalReport } from '../../src/eval/report.js';

const DATA = '../shared/data';
const dir = mkdtempSync(join(tmpdir(), 'llama-ts-eval-model-'));
const modelPath = join(dir, 'tiny.gguf');
saveGgufCheckpoint(syntheticCheckpoint(PRESETS.tiny, { seed: 5, std: 0.5 }), modelPath, { type: 'f32' });

test.after(() => rmSync(dir, { recursive: true, force: true }));

test('shared-context scoring equals one-pass scoring of each full sequence', async () => {
  const m = await loadModel(modelPath);
  try {
    const reqs = [
      { context: 'Question: how do I open a jar?\nAnswer:', continuation: ' twist the lid' },
      { context: 'Question: how do I open a jar?\nAnswer:', continuation: ' hit it with a hammer until it breaks' },
      { context: 'Question: how do I open a jar?\nAnswer: ', continuation: 'x' },
      { context: 'A different context', continuation: ' ends here.' },
    ];
    const got = await new LoadedModelAdapter(m).loglikelihood(reqs);
    for (let i = 0; i < reqs.length; i++) {
      const p = tokenizePair(m.tokenizer!, reqs[i]);
      const all = [...p.contextIds, ...p.continuationIds];
      const seq = m.newSequence();
      const rows = seq.append(all.slice(0, -1), 'all');
      seq.dispose();
      const V = rows.length / (all.length - 1);
      let lp = 0;
      let greedy = true;
      for (let t = p.contextIds.length; t < all.length; t++) {
        const row = rows.subarray((t - 1) * V, t * V);
        lp += row[all[t]];
        for (let v = 0; v < V; v++) if (row[v] > row[all[t]]) { greedy = false; break; }
      }
      assert.ok(Math.abs(got[i].logprob - lp) < 1e-3 * Math.max(1, Math.abs(lp)), `request ${i}: ${got[i].logprob} vs ${lp}`);
      assert.equal(got[i].greedy, greedy);
    }
  } finally { m.dispose(); }
});

test('tasks run end to end on the real engine', async () => {
  const m = await loadModel(modelPath);
  try {
    const model = new LoadedModelAdapter(m);
    for (const task of resolveTasks('piqa,winogrande,boolq,triviaqa,gsm8k')) {
      const r = await evaluateTask(task, model, { dataDir: DATA, seed: 1, limit: 2, shots: task.meta.name === 'gsm8k' ? 1 : 0, maxTokens: 8 });
      const p = r.metrics[r.meta.primaryMetric];
      assert.ok(p && p.n === 2, `${r.task}: ${JSON.stringify(r.metrics)}`);
    }
  } finally { m.dispose(); }
});

test('llama-ts eval --model PATH: every task end to end on the real engine (limit 1)', async () => {
  const out = join(dir, 'report.json');
  const r = await promisify(execFile)(process.execPath, ['dist/src/cli/main.js', 'eval', '--model', modelPath, '--tasks', taskNames().join(','),
    '--limit', '1', '--data-dir', DATA, '--toxicity', 'lexicon', '--max-tokens', '8', '--out', out]);
  assert.match(r.stdout, /hellaswag@1: acc /);
  const rep = JSON.parse(readFileSync(out, 'utf8')) as EvalReport;
  assert.equal(rep.model.source, `file ${modelPath}`);
  assert.deepEqual(rep.results.map((x) => x.task.split('@')[0]), taskNames());
  for (const x of rep.results) assert.ok(x.items === 1 && Object.keys(x.metrics).length > 0, x.task);
});

test('the HTTP client against our own server (llama-ts serve) gives the engine\'s log-likelihoods and generations', async () => {
  const m = await loadModel(modelPath);
  const srv = createLlamaServer({
    model: m,
    makeChooser: (o) => { const s = new Sampler({ temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1 }, o.seed ?? 1); return (row: Float32Array) => s.sample(row); },
  });
  try {
    const url = await srv.listen(0, '127.0.0.1');
    const reqs = [
      { context: 'Question: how do I open a jar?\nAnswer:', continuation: ' twist the lid' },
      { context: 'Question: how do I open a jar?\nAnswer:', continuation: ' hit it' },
      { context: '', continuation: 'A sentence scored whole, as CrowS-Pairs does.' },
    ];
    const direct = await new LoadedModelAdapter(m).loglikelihood(reqs);
    const viaHttp = await new OpenAICompletionsModel({ url }).loglikelihood(reqs);
    direct.forEach((d, i) => assert.ok(Math.abs(d.logprob - viaHttp[i].logprob) < 1e-3, `request ${i}: ${d.logprob} vs ${viaHttp[i].logprob}`));
    const gen = [{ prompt: 'Q: a\nA:', until: ['\n'], maxTokens: 6 }];
    assert.deepEqual(await new OpenAICompletionsModel({ url }).generate(gen), await new LoadedModelAdapter(m).generate(gen));
  } finally {
    await srv.close();
    m.dispose();
  }
});
