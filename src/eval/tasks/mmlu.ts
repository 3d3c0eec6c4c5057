/**
 * MMLU, 5-shot with the 5 dev examples the benchmark provides per subject (in file order), in
 * Hendrycks et al.'s prompt format; the answer is the letter with the highest log-likelihood.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, readDelimited } from '../data-files.js';
import type { McDoc } from '../multiple-choice.js';
import { mcPlan } from '../multiple-choice.js';
import type { Task } from '../task.js';
import { applyLimit } from '../task.js';
import { mmluCategory } from './mmlu-categories.js';

interface MmluQ { subject: string; question: string; options: string[]; answer: number; id: string }

function readSplit(dataDir: string, split: 'dev' | 'test', subject: string): MmluQ[] {
  const { file, rows } = readDelimited(dataDir, `mmlu/${split}/${subject}_${split}.csv`);
  return rows.map((row, i) => {
    if (row.cells.length !== 6) throw new DatasetError(file, row.line, `expected 6 cells (question, A, B, C, D, answer), found ${row.cells.length}`);
    const answer = 'ABCD'.indexOf(row.cells[5].trim());
    if (answer < 0) throw new DatasetError(file, row.line, `answer should be A-D, got ${JSON.stringify(row.cells[5])}`);
    return { subject, question: row.cells[0], options: row.cells.slice(1, 5), answer, id: `${subject}-${split}-${i}` };
  });
}

export function mmluSubjects(dataDir: string): string[] {
  const dir = join(dataDir, 'mmlu', 'test');
  let names: string[];
  try { names = readdirSync(dir); } catch { throw new DatasetError(dir, null, 'MMLU test folder not found; check --data-dir'); }
  return names.filter((n) => n.endsWith('_test.csv')).map((n) => n.slice(0, -'_test.csv'.length)).sort();
}

const LETTERS = ['A', 'B', 'C', 'D'];
function formatQuestion(q: MmluQ): string {
  return `${q.question.trim()}\n${q.options.map((o, i) => `${LETTERS[i]}. ${o}`).join('\n')}\nAnswer:`;
}

export function mmluDocs(dataDir: string, shots: number): McDoc[] {
  const docs: McDoc[] = [];
  for (const subject of mmluSubjects(dataDir)) {
    const dev = readSplit(dataDir, 'dev', subject);
    if (dev.length < shots) throw new Error(`MMLU ${subject}: ${shots} shots asked, the dev file has ${dev.length} examples`);
    const header = `The following are multiple choice questions (with answers) about ${subject.replaceAll('_', ' ')}.\n\n`;
    const prefix = header + dev.slice(0, shots).map((q) => `${formatQuestion(q)} ${LETTERS[q.answer]}\n\n`).join('');
    const category = mmluCategory(subject);
    const groups = category ? [`acc/${category}`, `acc/${subject}`] : [`acc/${subject}`];
    for (const q of readSplit(dataDir, 'test', subject)) {
      docs.push({ id: q.id, context: prefix + formatQuestion(q), choices: LETTERS.map((l) => ` ${l}`), gold: q.answer, groups });
    }
  }
  return docs;
}

export const mmlu: Task = {
  meta: {
    name: 'mmlu', version: 1, title: 'MMLU', group: 'mmlu', defaultShots: 5, primaryMetric: 'acc', higherIsBetter: true,
    template: 'The following are multiple choice questions (with answers) about {subject}.\\n\\n[{q}\\nA. {a}\\nB. {b}\\nC. {c}\\nD. {d}\\nAnswer: {X}\\n\\n]×shots{q}\\nA. …\\nAnswer: → " A" | " B" | " C" | " D"',
    fewShotSource: 'mmlu/dev/{subject}_dev.csv, the first `shots` rows (the 5 examples the benchmark provides)',
    answerFormat: 'answer letter; the letter with the highest log-likelihood; acc over all questions (micro average), acc/{humanities,stem,social_sciences,other} and acc/{subject}',
    files: ['mmlu/dev/*_dev.csv', 'mmlu/test/*_test.csv'],
    columns: [['Humanities', 'acc/humanities'], ['STEM', 'acc/stem'], ['Social Sciences', 'acc/social_sciences'], ['Other', 'acc/other'], ['Average', 'acc']],
  },
  settings: () => ({ choiceRule: 'raw', average: 'micro over questions' }),
  plan(opts) {
    if (opts.shots > 5) throw new Error(`MMLU provides 5 dev examples per subject; --shots ${opts.shots} is too many`);
    return applyLimit(mmluDocs(opts.dataDir, opts.shots), opts.limit).map((d) => mcPlan(d, 'raw'));
  },
};
