/**
 * RACE (middle, high) as Brown et al. 2020 / lm-evaluation-harness format it: the article, then
 * the article's earlier questions with their gold answers, then the question being asked.
 * Read from the original per-article files (one JSON article per line).
 */
import { DatasetError, readJsonl, requireFields } from '../data-files.js';
import type { McDoc } from '../multiple-choice.js';
import type { Task } from '../task.js';
import { mcTask } from './common-sense.js';

interface RaceArticle { id: string; article: string; questions: string[]; options: string[][]; answers: string[] }

export function loadRace(dataDir: string, level: 'middle' | 'high'): McDoc[] {
  const rel = `race/RACE_test_${level}.articles.jsonl`;
  const { file, records } = readJsonl<RaceArticle>(dataDir, rel);
  const docs: McDoc[] = [];
  for (const { line, value: a } of records) {
    requireFields(file, line, a, { id: 'string', article: 'string', questions: 'array', options: 'array', answers: 'array' });
    if (a.options.length !== a.questions.length || a.answers.length !== a.questions.length) {
      throw new DatasetError(file, line, `${a.questions.length} questions but ${a.options.length} option lists and ${a.answers.length} answers`);
    }
    let context = `Article: ${a.article}\n\n`;
    a.questions.forEach((q, i) => {
      const gold = 'ABCD'.indexOf(a.answers[i]);
      if (gold < 0 || a.options[i].length !== 4) throw new DatasetError(file, line, `question ${i + 1}: answer ${JSON.stringify(a.answers[i])} / ${a.options[i].length} options (expected A-D and 4)`);
      docs.push({ id: `${a.id}#${i}`, context: `${context}Question: ${q}\nAnswer:`, choices: a.options[i].map((o) => ` ${o}`), gold });
      context += `Question: ${q}\nAnswer: ${a.options[i][gold]}\n\n`;
    });
  }
  return docs;
}

function raceTask(level: 'middle' | 'high'): Task {
  return mcTask({
    name: `race_${level}`, version: 1, title: `RACE-${level}`, group: 'reading', defaultShots: 0, primaryMetric: 'acc', higherIsBetter: true,
    template: 'Article: {article}\\n\\n[Question: {earlier q}\\nAnswer: {gold}\\n\\n]*Question: {question}\\nAnswer: → " {option}" ×4',
    fewShotSource: 'none (zero-shot; earlier questions of the same article are shown answered)',
    answerFormat: 'option text; score = log-likelihood / characters',
    files: [`race/RACE_test_${level}.articles.jsonl`],
  }, 'chars', (d) => ({ docs: loadRace(d, level), pool: [] }));
}
export const raceMiddle = raceTask('middle');
export const raceHigh = raceTask('high');
