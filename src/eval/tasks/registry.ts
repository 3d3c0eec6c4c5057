/** Every task the harness knows, by command-line name. */
import type { Task } from '../task.js';
import { arcChallenge, arcEasy, boolq, hellaswag, openbookqa, piqa, siqa, winogrande } from './common-sense.js';
import { naturalQuestions, triviaqa } from './closed-book.js';
import { raceHigh, raceMiddle } from './race.js';
import { gsm8k, math } from './math.js';
import { humaneval, mbpp } from './code.js';
import { mmlu } from './mmlu.js';
import { crowsPairs, winogender } from './bias.js';
import { truthfulqa } from './truthfulqa.js';
import { rtpBasic, rtpRespectful } from './realtoxicity.js';

export const TASKS: readonly Task[] = [
  boolq, piqa, siqa, hellaswag, winogrande, arcEasy, arcChallenge, openbookqa,
  naturalQuestions, triviaqa, raceMiddle, raceHigh, math, gsm8k, humaneval, mbpp, mmlu,
  crowsPairs, winogender, truthfulqa, rtpBasic, rtpRespectful,
];

/** Task groups usable on the command line as shorthands. */
export const TASK_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'common-sense': ['boolq', 'piqa', 'siqa', 'hellaswag', 'winogrande', 'arc_easy', 'arc_challenge', 'openbookqa'],
  'closed-book-qa': ['naturalquestions', 'triviaqa'],
  race: ['race_middle', 'race_high'],
  bias: ['crows_pairs', 'winogender'],
  toxicity: ['realtoxicityprompts_basic', 'realtoxicityprompts_respectful'],
};

export function taskNames(): string[] { return TASKS.map((t) => t.meta.name); }

/** Resolves "piqa,hellaswag" (names, name@version or group names) into tasks; unknown names list the valid ones. */
export function resolveTasks(spec: string): Task[] {
  const out: Task[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const names = TASK_GROUPS[raw] ?? [raw];
    for (const n of names) {
      const [name, version] = n.split('@');
      const task = TASKS.find((t) => t.meta.name === name);
      if (!task) throw new Error(`unknown task '${name}'. Valid tasks: ${taskNames().join(', ')}; groups: ${Object.keys(TASK_GROUPS).join(', ')}`);
      if (version !== undefined && Number(version) !== task.meta.version) {
        throw new Error(`task ${name} is at version ${task.meta.version}; ${n} is not available (results would not be comparable)`);
      }
      if (!out.includes(task)) out.push(task);
    }
  }
  if (out.length === 0) throw new Error(`no tasks given. Valid tasks: ${taskNames().join(', ')}`);
  return out;
}
