/** The harness against independent Python references (scripts/fixtures/eval-references.py → fixtures/eval/). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { normalizeAnswer } from '../../src/eval/normalize.js';
import { tokenizePair } from '../../src/eval/loaded-model.js';
import { resolveTasks } from '../../src/eval/tasks/registry.js';
import { SentencePieceTokenizer } from '../../src/tokenizer/index.js';

interface RefRequest { context: string; continuation: string; contextIds: number[]; continuationIds: number[] }

test('EM normalizer equals SQuAD\'s normalize_answer (Python) on real NQ/TriviaQA answers and edge cases', () => {
  const { cases } = JSON.parse(readFileSync('fixtures/eval/squad-normalize.json', 'utf8')) as { cases: [string, string][] };
  assert.ok(cases.length > 1000);
  const wrong = cases.filter(([s, want]) => normalizeAnswer(s) !== want);
  assert.deepEqual(wrong.slice(0, 5).map(([s, want]) => ({ s, want, got: normalizeAnswer(s) })), []);
});

test('prompts and tokenization equal lm-evaluation-harness\'s, rebuilt in Python and tokenized by the C++ SentencePiece', async () => {
  const ref = JSON.parse(readFileSync('fixtures/eval/lm-eval-requests.json', 'utf8')) as { items: number; tasks: Record<string, RefRequest[][]> };
  const tok = SentencePieceTokenizer.load('../shared/data/tokenizer/tokenizer.model');
  for (const [name, items] of Object.entries(ref.tasks)) {
    const [task] = resolveTasks(name);
    const plans = await task.plan({ dataDir: '../shared/data', shots: 0, seed: 1, limit: ref.items });
    assert.equal(plans.length, items.length, name);
    plans.forEach((p, i) => {
      const want = items[i];
      assert.deepEqual(p.ll!.map((r) => [r.context, r.continuation]), want.map((r) => [r.context, r.continuation]), `${name} item ${i}: request text`);
      p.ll!.forEach((r, j) => {
        const got = tokenizePair(tok, r);
        assert.deepEqual(got.contextIds, want[j].contextIds, `${name} item ${i} choice ${j}: context ids`);
        assert.deepEqual(got.continuationIds, want[j].continuationIds, `${name} item ${i} choice ${j}: continuation ids`);
      });
    });
  }
});
