/**
 * MATH and GSM8k (PAPER.md §7): few-shot chain-of-thought prompts, greedy decoding for accuracy
 * or k samples with a majority vote over extracted answers (maj1@k; --samples k).
 */
import { DatasetError, readJsonl, requireFields } from '../data-files.js';
import { canonicalNumber, extractGsmAnswer, extractMathAnswer, mathAnswersEqual, normalizeMathAnswer, stripCalculatorTags } from '../math-answer.js';
import { Rng, seedFor } from '../rng.js';
import { majorityVote, meanWithStderr } from '../stats.js';
import type { ItemPlan, Task, TaskOptions } from '../task.js';
import { applyLimit } from '../task.js';

/** Default temperature for maj1@k sampling (Minerva used 0.6 for its majority votes). */
export const MAJ_TEMPERATURE = 0.6;

interface GenSpec { prompt: string; until: string[]; maxTokens: number }

/** The shared shape: k generations → extracted answers → vote → compare. */
function votePlan(id: string, spec: GenSpec, opts: TaskOptions, extract: (g: string) => string | null, keyOf: (a: string) => string, correct: (a: string | null) => boolean, groups: string[], info: Record<string, unknown>): ItemPlan {
  const k = opts.samples ?? 1;
  const temperature = k === 1 ? (opts.temperature ?? 0) : (opts.temperature ?? MAJ_TEMPERATURE);
  const gen = Array.from({ length: k }, (_, i) => ({ ...spec, maxTokens: opts.maxTokens ?? spec.maxTokens, temperature, seed: seedFor(opts.seed, `${id}#${i}`) }));
  return {
    id, gen,
    score(_ll, outputs) {
      const answers = outputs.map(extract);
      const voted = majorityVote(answers, keyOf);
      const ok = correct(voted) ? 1 : 0;
      const metricName = k === 1 ? 'acc' : `maj1@${k}`;
      const metrics: Record<string, number> = { [metricName]: ok };
      if (k > 1) metrics.mean_sample_acc = meanWithStderr(answers.map((a) => (correct(a) ? 1 : 0))).value;
      for (const g of groups) metrics[`${metricName}/${g}`] = ok;
      return { metrics, log: { ...info, prompt: spec.prompt, outputs, answers, voted, correct: ok } };
    },
  };
}

function sampleShots<T extends { id: string }>(pool: readonly T[], id: string, opts: TaskOptions): T[] {
  const candidates = pool.filter((p) => p.id !== id);
  if (candidates.length < opts.shots) throw new Error(`only ${candidates.length} few-shot examples available, ${opts.shots} asked`);
  return new Rng(seedFor(opts.seed, id)).sample(candidates, opts.shots);
}

// ---- MATH --------------------------------------------------------------------------------
export interface MathDoc { id: string; problem: string; answer: string; solution: string; category: string }

export function loadMath(dataDir: string): MathDoc[] {
  const { file, records } = readJsonl<{ context: string; answer: string; chain_of_thought: string; category: string }>(dataDir, 'math/math.jsonl');
  return records.map(({ line, value: r }, i) => {
    requireFields(file, line, r, { context: 'string', answer: 'string', chain_of_thought: 'string', category: 'string' });
    return { id: `math-${i}`, problem: r.context, answer: r.answer, solution: r.chain_of_thought, category: r.category };
  });
}

export function mathExample(d: MathDoc): string {
  return `Problem:\n${d.problem}\n\nSolution: ${d.solution}\nFinal Answer: The final answer is ${d.answer}. I hope it is correct.`;
}

export const math: Task = {
  meta: {
    name: 'math', version: 1, title: 'MATH', group: 'math', defaultShots: 4, primaryMetric: 'acc', higherIsBetter: true,
    template: '[Problem:\\n{problem}\\n\\nSolution: {solution}\\nFinal Answer: The final answer is {answer}. I hope it is correct.\\n\\n]×shots Problem:\\n{problem}\\n\\nSolution: → generate until "Problem:"',
    fewShotSource: 'other problems of math/math.jsonl (seeded; the data folder has no MATH train split)',
    answerFormat: '"The final answer is X" or the last \\boxed{X}; equal after LaTeX normalization; acc (greedy) or maj1@k (--samples k, temperature 0.6)',
    files: ['math/math.jsonl'],
  },
  settings: (o) => ({ samples: o.samples ?? 1, temperature: (o.samples ?? 1) === 1 ? (o.temperature ?? 0) : (o.temperature ?? MAJ_TEMPERATURE) }),
  plan(opts) {
    const docs = loadMath(opts.dataDir);
    return applyLimit(docs, opts.limit).map((d) => {
      const shots = sampleShots(docs, d.id, opts).map((s) => mathExample(s) + '\n\n').join('');
      const prompt = `${shots}Problem:\n${d.problem}\n\nSolution:`;
      return votePlan(d.id, { prompt, until: ['Problem:'], maxTokens: 512 }, opts, extractMathAnswer, normalizeMathAnswer,
        (a) => mathAnswersEqual(a, d.answer), [d.category], { gold: d.answer, category: d.category });
    });
  },
};

// ---- GSM8k -------------------------------------------------------------------------------
export interface GsmDoc { id: string; question: string; solution: string; answer: string }

export function loadGsm8k(dataDir: string, split: 'test' | 'train'): GsmDoc[] {
  const { file, records } = readJsonl<{ question: string; answer: string }>(dataDir, `gsm8k/${split}.jsonl`);
  return records.map(({ line, value: r }, i) => {
    requireFields(file, line, r, { question: 'string', answer: 'string' });
    const m = /####\s*(.+)\s*$/.exec(r.answer);
    const gold = m ? canonicalNumber(m[1].trim()) : null;
    if (gold === null) throw new DatasetError(file, line, 'answer should end with "#### <number>"');
    return { id: `gsm8k-${split}-${i}`, question: r.question, solution: r.answer, answer: gold };
  });
}

export const gsm8k: Task = {
  meta: {
    name: 'gsm8k', version: 1, title: 'GSM8k', group: 'math', defaultShots: 8, primaryMetric: 'acc', higherIsBetter: true,
    template: '[Question: {q}\\nAnswer: {worked solution without <<>> tags, ending #### N}\\n\\n]×shots Question: {question}\\nAnswer: → generate until "Question:" or a blank line',
    fewShotSource: 'gsm8k/train.jsonl (seeded)',
    answerFormat: 'the number after ####, else the last number; numeric equality; acc (greedy) or maj1@k (--samples k, temperature 0.6)',
    files: ['gsm8k/test.jsonl', 'gsm8k/train.jsonl'],
  },
  settings: (o) => ({ samples: o.samples ?? 1, temperature: (o.samples ?? 1) === 1 ? (o.temperature ?? 0) : (o.temperature ?? MAJ_TEMPERATURE) }),
  plan(opts) {
    const docs = loadGsm8k(opts.dataDir, 'test');
    const train = opts.shots > 0 ? loadGsm8k(opts.dataDir, 'train') : [];
    return applyLimit(docs, opts.limit).map((d) => {
      const shots = sampleShots(train, d.id, opts).map((s) => `Question: ${s.question}\nAnswer: ${stripCalculatorTags(s.solution)}\n\n`).join('');
      const prompt = `${shots}Question: ${d.question}\nAnswer:`;
      return votePlan(d.id, { prompt, until: ['Question:', '\n\n'], maxTokens: 256 }, opts, extractGsmAnswer, (a) => a,
        (a) => a !== null && Number(a) === Number(d.answer), [], { gold: d.answer });
    });
  },
};
