/**
 * Code generation (PAPER.md §7): HumanEval and MBPP, pass@k with the unbiased estimator of
 * Chen et al. 2021 over n samples per problem (--samples n, --temperature; the paper samples
 * pass@1 at 0.1 and pass@80/100 at 0.8). Every generated program runs in the bwrap sandbox
 * (sandbox.ts); a missing sandbox fails the task before anything is generated.
 */
import { DatasetError, readJsonl, requireFields } from '../data-files.js';
import { ensureSandbox, runSandboxed, type ExecResult, type SandboxOptions } from '../sandbox.js';
import { seedFor } from '../rng.js';
import { passAtK } from '../stats.js';
import type { ItemPlan, Task, TaskOptions } from '../task.js';
import { applyLimit } from '../task.js';

/** The paper's temperature for pass@1. */
export const PASS1_TEMPERATURE = 0.1;

/** pass@k for the k the paper reports that do not exceed n. */
export function reportedKs(n: number): number[] {
  return [1, 10, 80, 100].filter((k) => k <= n);
}

async function runAll(programs: readonly string[], sandbox?: SandboxOptions): Promise<ExecResult[]> {
  const out: ExecResult[] = new Array(programs.length);
  let next = 0;
  const worker = async () => { while (next < programs.length) { const i = next++; out[i] = await runSandboxed(programs[i], sandbox); } };
  await Promise.all(Array.from({ length: Math.min(2, programs.length) }, worker));
  return out;
}

function codePlan(id: string, prompt: string, until: string[], toProgram: (completion: string) => string, opts: TaskOptions, info: Record<string, unknown>): ItemPlan {
  const n = opts.samples ?? 1;
  const temperature = opts.temperature ?? PASS1_TEMPERATURE;
  return {
    id,
    gen: Array.from({ length: n }, (_, i) => ({ prompt, until, maxTokens: opts.maxTokens ?? 512, temperature, seed: seedFor(opts.seed, `${id}#${i}`) })),
    async score(_ll, completions) {
      const results = await runAll(completions.map(toProgram), opts.sandbox);
      const c = results.filter((r) => r.status === 'passed').length;
      const metrics: Record<string, number> = {};
      for (const k of reportedKs(n)) metrics[`pass@${k}`] = passAtK(n, c, k);
      return {
        metrics,
        log: {
          ...info, prompt, n, passed: c,
          samples: completions.map((completion, i) => ({ completion, status: results[i].status, exit: results[i].exitCode, stderr_tail: results[i].stderr.slice(-400) })),
        },
      };
    },
  };
}

const codeSettings = (o: TaskOptions) => ({ samples: o.samples ?? 1, temperature: o.temperature ?? PASS1_TEMPERATURE, sandbox: 'bubblewrap: no network, read-only root, tmpfs /tmp, prlimit cpu/as/nproc/fsize, wall timeout' });

// ---- HumanEval ---------------------------------------------------------------------------
export interface HumanEvalDoc { id: string; prompt: string; test: string; entryPoint: string; canonical: string }

export function loadHumanEval(dataDir: string): HumanEvalDoc[] {
  const { file, records } = readJsonl<{ task_id: string; prompt: string; entry_point: string; canonical_solution: string; test: string }>(dataDir, 'humaneval/HumanEval.jsonl.gz');
  return records.map(({ line, value: r }) => {
    requireFields(file, line, r, { task_id: 'string', prompt: 'string', entry_point: 'string', canonical_solution: 'string', test: 'string' });
    return { id: r.task_id, prompt: r.prompt, test: r.test, entryPoint: r.entry_point, canonical: r.canonical_solution };
  });
}

/** The program HumanEval runs: prompt + completion, the test's check(), then check(entry_point). */
export function humanEvalProgram(d: HumanEvalDoc, completion: string): string {
  return `${d.prompt}${completion}\n\n${d.test}\n\ncheck(${d.entryPoint})\n`;
}

/** Codex's stop sequences: the function body ends where top-level code begins. */
export const HUMANEVAL_STOPS = ['\nclass', '\ndef', '\n#', '\nif', '\nprint'];

export const humaneval: Task = {
  meta: {
    name: 'humaneval', version: 1, title: 'HumanEval', group: 'code', defaultShots: 0, primaryMetric: 'pass@1', higherIsBetter: true,
    template: '{prompt} (signature + docstring) → sample until \\nclass | \\ndef | \\n# | \\nif | \\nprint',
    fewShotSource: 'none (zero-shot)',
    answerFormat: 'prompt + completion + tests, executed in the sandbox; pass@k (unbiased estimator) over n samples',
    columns: [['HumanEval pass@1', 'pass@1'], ['HumanEval pass@10', 'pass@10'], ['HumanEval pass@80', 'pass@80'], ['HumanEval pass@100', 'pass@100']],
    files: ['humaneval/HumanEval.jsonl.gz'],
  },
  settings: codeSettings,
  async plan(opts) {
    if (opts.shots !== 0) throw new Error('humaneval is zero-shot (--shots 0)');
    await ensureSandbox(opts.sandbox);
    return applyLimit(loadHumanEval(opts.dataDir), opts.limit).map((d) =>
      codePlan(d.id, d.prompt, HUMANEVAL_STOPS, (c) => humanEvalProgram(d, c), opts, { task_id: d.id }));
  },
};

// ---- MBPP --------------------------------------------------------------------------------
export interface MbppDoc { id: number; text: string; code: string; setup: string; tests: string[] }

export function loadMbpp(dataDir: string): MbppDoc[] {
  const { file, records } = readJsonl<{ task_id: number; text: string; code: string; test_setup_code: string; test_list: string[] }>(dataDir, 'mbpp/mbpp.jsonl');
  return records.map(({ line, value: r }) => {
    requireFields(file, line, r, { task_id: 'number', text: 'string', code: 'string', test_setup_code: 'string', test_list: 'array' });
    if (r.test_list.length === 0) throw new DatasetError(file, line, 'test_list is empty');
    // 972 of 974 solutions use CRLF line ends; prompts show them with \n.
    return { id: r.task_id, text: r.text, code: r.code.replace(/\r\n?/g, '\n'), setup: r.test_setup_code.replace(/\r\n?/g, '\n'), tests: r.test_list };
  });
}

/** Austin et al.'s prompt: task text, its tests, then the code between [BEGIN] and [DONE]. */
export function mbppQuery(d: MbppDoc): string {
  return `You are an expert Python programmer, and here is your task: ${d.text} Your code should pass these tests:\n\n${d.tests.join('\n')}\n[BEGIN]\n`;
}

export function mbppProgram(d: MbppDoc, completion: string): string {
  return `${d.setup}\n${completion}\n\n${d.tests.join('\n')}\n`;
}

/** Few-shot prompts use tasks 2, 3 and 4 (the "prompt" ids of the release); evaluation uses 11-510. */
export const MBPP_SHOT_IDS = [2, 3, 4];

export const mbpp: Task = {
  meta: {
    name: 'mbpp', version: 1, title: 'MBPP', group: 'code', defaultShots: 3, primaryMetric: 'pass@1', higherIsBetter: true,
    template: '[You are an expert Python programmer, and here is your task: {text} Your code should pass these tests:\\n\\n{tests}\\n[BEGIN]\\n{code}\\n[DONE]\\n]×shots … [BEGIN]\\n → sample until [DONE]',
    fewShotSource: 'MBPP task_ids 2, 3, 4 (the release\'s prompt split), in that order',
    answerFormat: 'setup + completion + the 3 asserts, executed in the sandbox; pass@k over n samples; test split = task_ids 11-510',
    columns: [['MBPP pass@1', 'pass@1'], ['MBPP pass@10', 'pass@10'], ['MBPP pass@80', 'pass@80'], ['MBPP pass@100', 'pass@100']],
    files: ['mbpp/mbpp.jsonl'],
  },
  settings: codeSettings,
  async plan(opts) {
    if (opts.shots > MBPP_SHOT_IDS.length) throw new Error(`mbpp has ${MBPP_SHOT_IDS.length} few-shot prompts; --shots ${opts.shots} is too many`);
    await ensureSandbox(opts.sandbox);
    const all = loadMbpp(opts.dataDir);
    const byId = new Map(all.map((d) => [d.id, d]));
    const prefix = MBPP_SHOT_IDS.slice(0, opts.shots).map((id) => {
      const d = byId.get(id);
      if (!d) throw new Error(`mbpp: few-shot task ${id} missing from mbpp/mbpp.jsonl`);
      return `${mbppQuery(d)}${d.code}\n[DONE]\n`;
    }).join('');
    const test = all.filter((d) => d.id >= 11 && d.id <= 510);
    return applyLimit(test, opts.limit).map((d) =>
      codePlan(`mbpp-${d.id}`, prefix + mbppQuery(d), ['[DONE]'], (c) => mbppProgram(d, c), opts, { task_id: d.id }));
  },
};
