/**
 * Closed-book question answering (PAPER.md §7): NaturalQuestions and TriviaQA.
 * Prompt: "Answer these questions:\n" then solved "Q: …\nA: …\n" pairs, then "Q: {question}\nA:".
 * Greedy decoding; the answer is cut at the first line break, dot or comma; exact match after
 * normalization against every reference answer (normalize.ts).
 */
import { DatasetError, readJsonl, requireFields } from '../data-files.js';
import { cutAnswer, exactMatch } from '../normalize.js';
import { Rng, seedFor } from '../rng.js';
import type { ItemPlan, Task, TaskMeta, TaskOptions } from '../task.js';
import { applyLimit } from '../task.js';

export interface QaDoc { id: string; question: string; answers: string[] }

export const QA_HEADER = 'Answer these questions:\n';

export function qaPrompt(doc: QaDoc, shots: readonly QaDoc[]): string {
  return QA_HEADER + shots.map((s) => `Q: ${s.question}\nA: ${s.answers[0]}\n`).join('') + `Q: ${doc.question}\nA:`;
}

export function qaPlan(doc: QaDoc, pool: readonly QaDoc[], opts: TaskOptions): ItemPlan {
  const candidates = pool.filter((p) => p.id !== doc.id);
  if (candidates.length < opts.shots) throw new Error(`only ${candidates.length} few-shot examples available, ${opts.shots} asked`);
  const shots = new Rng(seedFor(opts.seed, doc.id)).sample(candidates, opts.shots);
  const prompt = qaPrompt(doc, shots);
  return {
    id: doc.id,
    gen: [{ prompt, until: ['\n'], maxTokens: opts.maxTokens ?? 32, temperature: 0 }],
    score(_ll, [generated]) {
      const answer = cutAnswer(generated);
      const em = exactMatch(answer, doc.answers);
      return { metrics: { exact_match: em }, log: { prompt, generated, answer, references: doc.answers, exact_match: em } };
    },
  };
}

function qaTask(meta: TaskMeta, load: (dataDir: string) => { docs: QaDoc[]; pool: QaDoc[] }): Task {
  return {
    meta,
    settings: () => ({ decoding: 'greedy', cut: 'first \\n . ,' }),
    plan(opts) {
      const { docs, pool } = load(opts.dataDir);
      return applyLimit(docs, opts.limit).map((d) => qaPlan(d, pool, opts));
    },
  };
}

export function loadNq(dataDir: string, rel: string): QaDoc[] {
  const { file, records } = readJsonl<{ question: string; answer: string[] }>(dataDir, rel);
  return records.map(({ line, value: r }, i) => {
    requireFields(file, line, r, { question: 'string', answer: 'array' });
    if (r.answer.length === 0 || r.answer.some((a) => typeof a !== 'string')) throw new DatasetError(file, line, 'field \'answer\' should be a non-empty list of strings');
    return { id: `${rel}#${i}`, question: r.question, answers: r.answer };
  });
}

export function loadTriviaqa(dataDir: string): QaDoc[] {
  const rel = 'triviaqa/triviaqa_sm_sub.jsonl';
  const { file, records } = readJsonl<{ context: string; answer: string; aliases: string[] }>(dataDir, rel);
  return records.map(({ line, value: r }, i) => {
    requireFields(file, line, r, { context: 'string', answer: 'string', aliases: 'array' });
    // llm-foundry stored the prompt "Question: …\nAnswer:"; recover the bare question.
    const m = /^Question: ([\s\S]*)\nAnswer:\s*$/.exec(r.context);
    if (!m) throw new DatasetError(file, line, 'field \'context\' should read "Question: …\\nAnswer:"');
    return { id: `triviaqa-${i}`, question: m[1].trim(), answers: [r.answer, ...r.aliases.filter((a) => a !== r.answer)] };
  });
}

const common = { group: 'closed-book-qa' as const, defaultShots: 0, primaryMetric: 'exact_match', higherIsBetter: true, template: 'Answer these questions:\\n[Q: {q}\\nA: {a}\\n]×shots Q: {question}\\nA: → greedy until \\n' };

export const naturalQuestions = qaTask({
  ...common, name: 'naturalquestions', version: 1, title: 'NaturalQuestions',
  fewShotSource: 'natural_questions/NQ-open.efficientqa.dev.1.1.jsonl (a disjoint question set; seeded; first answer shown)',
  answerFormat: 'generated text cut at the first \\n . or ,; exact match after normalization against any answer',
  files: ['natural_questions/NQ-open.dev.jsonl', 'natural_questions/NQ-open.efficientqa.dev.1.1.jsonl'],
}, (d) => ({ docs: loadNq(d, 'natural_questions/NQ-open.dev.jsonl'), pool: loadNq(d, 'natural_questions/NQ-open.efficientqa.dev.1.1.jsonl') }));

export const triviaqa = qaTask({
  ...common, name: 'triviaqa', version: 1, title: 'TriviaQA',
  fewShotSource: 'the same file, other questions (seeded; the canonical answer shown)',
  answerFormat: 'generated text cut at the first \\n . or ,; exact match after normalization against the answer or any alias',
  files: ['triviaqa/triviaqa_sm_sub.jsonl'],
}, (d) => { const docs = loadTriviaqa(d); return { docs, pool: docs }; });
