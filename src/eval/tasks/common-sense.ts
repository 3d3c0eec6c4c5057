/**
 * The zero-shot common-sense reasoning tasks of the paper's Table 3: BoolQ, PIQA, SIQA,
 * HellaSwag, WinoGrande, ARC-easy, ARC-challenge, OpenBookQA. Templates follow
 * lm-evaluation-harness (which follows Brown et al. 2020); scoring follows PAPER.md §7.
 */
import { DatasetError, readJsonl, readLines, readDelimited, requireFields } from '../data-files.js';
import type { McDoc, ChoiceRule } from '../multiple-choice.js';
import { fewShotPrefix, mcPlan } from '../multiple-choice.js';
import type { Task, TaskMeta, TaskOptions } from '../task.js';
import { applyLimit } from '../task.js';

/** A multiple-choice task from a loader: zero-shot by default, few-shot from `pool` (or the eval set). */
export function mcTask(meta: TaskMeta, rule: ChoiceRule, load: (dataDir: string) => { docs: McDoc[]; pool?: McDoc[] }): Task {
  return {
    meta,
    settings: () => ({ choiceRule: rule }),
    plan(opts: TaskOptions) {
      const { docs, pool } = load(opts.dataDir);
      return applyLimit(docs, opts.limit).map((d) => mcPlan(d, rule, fewShotPrefix(d, pool ?? docs, opts)));
    },
  };
}

const common = { group: 'common-sense' as const, defaultShots: 0, primaryMetric: 'acc', higherIsBetter: true };

// ---- BoolQ -------------------------------------------------------------------------------
export function loadBoolq(dataDir: string): McDoc[] {
  const { file, records } = readJsonl<{ question: string; passage: string; idx: number; label: boolean }>(dataDir, 'boolq/val.jsonl');
  return records.map(({ line, value: r }) => {
    requireFields(file, line, r, { question: 'string', passage: 'string', label: 'boolean' });
    return { id: `boolq-${r.idx ?? line}`, context: `${r.passage}\nQuestion: ${r.question}?\nAnswer:`, choices: [' no', ' yes'], gold: r.label ? 1 : 0 };
  });
}
export const boolq = mcTask({
  ...common, name: 'boolq', version: 1, title: 'BoolQ',
  template: '{passage}\\nQuestion: {question}?\\nAnswer: → " no" | " yes"',
  fewShotSource: 'the validation set itself (other items, seeded)', answerFormat: 'yes/no; score = log P(choice|context) - log P(choice|"Answer:")',
  files: ['boolq/val.jsonl'],
}, 'unconditional', (d) => ({ docs: loadBoolq(d) }));

// ---- PIQA --------------------------------------------------------------------------------
export function loadPiqa(dataDir: string): McDoc[] {
  const { file, records } = readJsonl<{ goal: string; sol1: string; sol2: string }>(dataDir, 'piqa/valid.jsonl');
  const labels = readLines(dataDir, 'piqa/valid-labels.lst');
  if (labels.lines.length !== records.length) throw new DatasetError(labels.file, null, `${labels.lines.length} labels for ${records.length} records in ${file}`);
  return records.map(({ line, value: r }, i) => {
    requireFields(file, line, r, { goal: 'string', sol1: 'string', sol2: 'string' });
    const l = labels.lines[i];
    if (l.text.trim() !== '0' && l.text.trim() !== '1') throw new DatasetError(labels.file, l.line, `label should be 0 or 1, got ${JSON.stringify(l.text)}`);
    return { id: `piqa-${i}`, context: `Question: ${r.goal}\nAnswer:`, choices: [` ${r.sol1}`, ` ${r.sol2}`], gold: Number(l.text.trim()) };
  });
}
export const piqa = mcTask({
  ...common, name: 'piqa', version: 1, title: 'PIQA',
  template: 'Question: {goal}\\nAnswer: → " {sol1}" | " {sol2}"',
  fewShotSource: 'the validation set itself (other items, seeded)', answerFormat: 'solution text; score = log-likelihood / characters',
  files: ['piqa/valid.jsonl', 'piqa/valid-labels.lst'],
}, 'chars', (d) => ({ docs: loadPiqa(d) }));

// ---- SIQA --------------------------------------------------------------------------------
export function loadSiqa(dataDir: string): McDoc[] {
  const { file, records } = readJsonl<{ context: string; question: string; options: string[]; answer: string }>(dataDir, 'siqa/dev.jsonl');
  return records.map(({ line, value: r }, i) => {
    requireFields(file, line, r, { context: 'string', question: 'string', options: 'array', answer: 'string' });
    // The reformatted file gives the answer as text; one item repeats an option, so every match counts.
    const gold = r.options.flatMap((o, j) => (o === r.answer ? [j] : []));
    if (gold.length === 0) throw new DatasetError(file, line, `answer ${JSON.stringify(r.answer)} is not one of the options`);
    return { id: `siqa-${i}`, context: `Question: ${r.context} ${r.question}\nAnswer:`, choices: r.options.map((o) => ` ${o}`), gold: gold.length === 1 ? gold[0] : gold };
  });
}
export const siqa = mcTask({
  ...common, name: 'siqa', version: 1, title: 'SIQA',
  template: 'Question: {context} {question}\\nAnswer: → " {option}" ×3',
  fewShotSource: 'the dev set itself (other items, seeded)', answerFormat: 'option text; score = log-likelihood / characters; a duplicated option counts either copy',
  files: ['siqa/dev.jsonl'],
}, 'chars', (d) => ({ docs: loadSiqa(d) }));

// ---- HellaSwag ---------------------------------------------------------------------------
/** lm-evaluation-harness's HellaSwag preprocessing (the data file already had most of it applied). */
export function hellaswagPreprocess(text: string): string {
  return text.trim().replaceAll(' [title]', '. ').replace(/\[.*?\]/g, '').replaceAll('  ', ' ');
}
export function loadHellaswag(dataDir: string): McDoc[] {
  const { file, lines } = readLines(dataDir, 'hellaswag/hellaswag_val_full.txt');
  if (lines.length % 6 !== 0) throw new DatasetError(file, lines[lines.length - 1]?.line ?? null, `expected 6 lines per item, the file has ${lines.length} non-empty lines`);
  const docs: McDoc[] = [];
  for (let i = 0; i < lines.length; i += 6) {
    const label = lines[i + 1];
    if (!/^[0-3]$/.test(label.text.trim())) throw new DatasetError(file, label.line, `expected the gold label 0-3 on the second line of an item, got ${JSON.stringify(label.text.slice(0, 40))}`);
    docs.push({
      id: `hellaswag-${i / 6}`, context: hellaswagPreprocess(lines[i].text),
      choices: lines.slice(i + 2, i + 6).map((l) => ` ${hellaswagPreprocess(l.text)}`), gold: Number(label.text.trim()),
    });
  }
  return docs;
}
export const hellaswag = mcTask({
  ...common, name: 'hellaswag', version: 1, title: 'HellaSwag',
  template: '{activity_label}: {ctx} → " {ending}" ×4 (after [title]/[step] tag preprocessing)',
  fewShotSource: 'the validation set itself (other items, seeded)', answerFormat: 'ending text; score = log-likelihood / characters',
  files: ['hellaswag/hellaswag_val_full.txt'],
}, 'chars', (d) => ({ docs: loadHellaswag(d) }));

// ---- WinoGrande --------------------------------------------------------------------------
export function loadWinogrande(dataDir: string): McDoc[] {
  const { file, records } = readJsonl<{ qID: string; sentence: string; option1: string; option2: string; answer: string }>(dataDir, 'winogrande/dev.jsonl');
  return records.map(({ line, value: r }) => {
    requireFields(file, line, r, { qID: 'string', sentence: 'string', option1: 'string', option2: 'string', answer: 'string' });
    const blank = r.sentence.indexOf('_');
    if (blank < 0) throw new DatasetError(file, line, 'sentence has no "_" blank');
    if (r.answer !== '1' && r.answer !== '2') throw new DatasetError(file, line, `answer should be "1" or "2", got ${JSON.stringify(r.answer)}`);
    // Partial scoring: each option fills the blank in the prefix; the shared suffix is scored.
    const prefix = r.sentence.slice(0, blank);
    const suffix = ` ${r.sentence.slice(blank + 1).trim()}`;
    return { id: r.qID, context: [prefix + r.option1, prefix + r.option2], choices: [suffix, suffix], gold: Number(r.answer) - 1 };
  });
}
export const winogrande = mcTask({
  ...common, name: 'winogrande', version: 1, title: 'WinoGrande',
  template: '{sentence before _}{option} → " {sentence after _}" (partial scoring)',
  fewShotSource: 'the dev set itself (other items, seeded)', answerFormat: 'the option whose filled prefix gives the suffix the higher log-likelihood',
  files: ['winogrande/dev.jsonl'],
}, 'raw', (d) => ({ docs: loadWinogrande(d) }));

// ---- ARC ---------------------------------------------------------------------------------
interface ArcRecord { id: string; question: { stem: string; choices: { text: string; label: string }[] }; answerKey: string }
export function loadArc(dataDir: string, rel: string): McDoc[] {
  const { file, records } = readJsonl<ArcRecord>(dataDir, rel);
  return records.map(({ line, value: r }) => {
    requireFields(file, line, r, { id: 'string', question: 'object', answerKey: 'string' });
    requireFields(file, line, r.question, { stem: 'string', choices: 'array' });
    // Labels are A-E or 1-5 depending on the item: map by label, not position.
    const gold = r.question.choices.findIndex((c) => c.label === r.answerKey);
    if (gold < 0) throw new DatasetError(file, line, `answerKey ${JSON.stringify(r.answerKey)} matches no choice label`);
    return { id: r.id, context: `Question: ${r.question.stem}\nAnswer:`, choices: r.question.choices.map((c) => ` ${c.text}`), gold };
  });
}
function arcTask(name: string, title: string, level: 'Easy' | 'Challenge'): Task {
  const test = `arc/ARC-${level}-Test.jsonl`;
  const dev = `arc/ARC-${level}-Dev.jsonl`;
  return mcTask({
    ...common, name, version: 1, title,
    template: 'Question: {stem}\\nAnswer: → " {choice}" ×3-5',
    fewShotSource: `${dev} (seeded)`, answerFormat: 'choice text; score = log-likelihood / characters',
    files: [test, dev],
  }, 'chars', (d) => ({ docs: loadArc(d, test), pool: loadArc(d, dev) }));
}
export const arcEasy = arcTask('arc_easy', 'ARC-e', 'Easy');
export const arcChallenge = arcTask('arc_challenge', 'ARC-c', 'Challenge');

// ---- OpenBookQA --------------------------------------------------------------------------
export function loadOpenbookqa(dataDir: string, rel: string): McDoc[] {
  const { file, rows } = readDelimited(dataDir, rel, '\t', false);
  const [header, ...body] = rows;
  if (!header || header.cells.join('|') !== 'ID|Question Stem|Choices|Complete Question|Answer Key') {
    throw new DatasetError(file, 1, 'expected the header "ID, Question Stem, Choices, Complete Question, Answer Key" (tab-separated)');
  }
  return body.map((row) => {
    if (row.cells.length !== 5) throw new DatasetError(file, row.line, `expected 5 tab-separated cells, found ${row.cells.length}`);
    const [id, stem, choicesText, , key] = row.cells;
    const parts = choicesText.split(/\(([A-D])\) /).slice(1);
    const labels: string[] = [];
    const texts: string[] = [];
    for (let i = 0; i < parts.length; i += 2) { labels.push(parts[i]); texts.push(parts[i + 1].trim()); }
    if (labels.join('') !== 'ABCD') throw new DatasetError(file, row.line, `Choices should read "(A) … (B) … (C) … (D) …", got ${JSON.stringify(choicesText.slice(0, 60))}`);
    const gold = labels.indexOf(key.trim());
    if (gold < 0) throw new DatasetError(file, row.line, `Answer Key ${JSON.stringify(key)} is not A-D`);
    return { id: `obqa-${id}`, context: stem, choices: texts.map((t) => ` ${t}`), gold };
  });
}
export const openbookqa = mcTask({
  ...common, name: 'openbookqa', version: 1, title: 'OBQA',
  template: '{question_stem} → " {choice}" ×4',
  fewShotSource: 'openbookqa/dev.tsv (seeded)', answerFormat: 'choice text; score = log P(choice|context) - log P(choice|"Answer:")',
  files: ['openbookqa/test.tsv', 'openbookqa/dev.tsv'],
}, 'unconditional', (d) => ({ docs: loadOpenbookqa(d, 'openbookqa/test.tsv'), pool: loadOpenbookqa(d, 'openbookqa/dev.tsv') }));
