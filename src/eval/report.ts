/**
 * Evaluation reports: a JSON document with every setting and metric, and Markdown tables laid
 * out like the paper's (one column per benchmark, values in %, ± one standard error), followed by
 * a table of every metric.
 */
import type { TaskResult } from './runner.js';
import type { MetricValue } from './stats.js';

export interface EvalReport {
  kind: 'llama-ts-eval-report';
  formatVersion: 1;
  createdAt: string;
  model: { name: string; source: string; config?: unknown };
  seed: number;
  limit: number | null;
  dataDir: string;
  results: TaskResult[];
  /** Set when the run stopped early; results holds the tasks that finished. */
  incomplete?: string;
}

const GROUP_TITLES: Record<string, string> = {
  'common-sense': 'Zero-shot common-sense reasoning (Table 3)',
  'closed-book-qa': 'Closed-book question answering, exact match (Tables 4-5)',
  reading: 'Reading comprehension (Table 6)',
  math: 'Mathematical reasoning (Table 7)',
  code: 'Code generation (Table 8)',
  mmlu: 'Massive Multitask Language Understanding (Table 9)',
  toxicity: 'RealToxicityPrompts, mean toxicity (Table 11)',
  bias: 'Bias (Tables 12-13)',
  truthfulqa: 'TruthfulQA multiple choice (Table 14)',
};

/** Metrics that are shares/probabilities print as percentages; 'toxicity' is a [0,1] score and prints as such. */
function isPercent(metric: string): boolean { return !metric.startsWith('toxicity'); }

export function formatMetric(metric: string, v: MetricValue): string {
  if (!Number.isFinite(v.value)) return 'n/a';
  const scale = isPercent(metric) ? 100 : 1;
  const digits = isPercent(metric) ? 1 : 3;
  const se = Number.isFinite(v.stderr) ? ` ± ${(v.stderr * scale).toFixed(digits)}` : '';
  return `${(v.value * scale).toFixed(digits)}${se}`;
}

function primary(r: TaskResult): [string, MetricValue] | null {
  const m = r.metrics[r.meta.primaryMetric];
  if (m) return [r.meta.primaryMetric, m];
  const first = Object.entries(r.metrics).find(([k]) => !k.includes('/'));
  return first ?? null;
}

export function markdownReport(rep: EvalReport): string {
  const out: string[] = [`# Evaluation of ${rep.model.name}`, '',
    ...(rep.incomplete ? [`**Incomplete run** (${rep.incomplete}).`, ''] : []),
    `seed ${rep.seed}; ${rep.limit !== null ? `limited to the first ${rep.limit} items per task (not comparable with full-set numbers)` : 'full evaluation sets'}; values in % ± one standard error unless noted.`, ''];
  const groups = [...new Set(rep.results.map((r) => r.meta.group))];
  for (const g of groups) {
    const rs = rep.results.filter((r) => r.meta.group === g);
    // Columns as in the paper's table: each task's own column list, or its title with its primary
    // metric; metrics a run did not produce (pass@100 with 10 samples) are left out.
    const cols: { title: string; metric: string; v: MetricValue }[] = [];
    for (const r of rs) {
      const wanted = r.meta.columns ?? [[r.meta.title, r.meta.primaryMetric] as [string, string]];
      let any = false;
      for (const [title, metric] of wanted) {
        const v = r.metrics[metric];
        if (v) { cols.push({ title, metric, v }); any = true; }
      }
      if (!any) {
        const p = primary(r);
        if (p) cols.push({ title: `${r.meta.title} (${p[0]})`, metric: p[0], v: p[1] });
      }
    }
    out.push(`## ${GROUP_TITLES[g] ?? g}`, '');
    out.push(`| model | ${cols.map((c) => c.title).join(' | ')} |`);
    out.push(`|---|${cols.map(() => '---').join('|')}|`);
    out.push(`| ${rep.model.name} | ${cols.map((c) => formatMetric(c.metric, c.v)).join(' | ')} |`);
    out.push('', `shots: ${rs.map((r) => `${r.meta.title} ${String(r.settings.shots)}`).join(', ')}; items: ${rs.map((r) => `${r.meta.title} ${r.items}`).join(', ')}`, '');
  }
  out.push('## All metrics', '', '| task | metric | value | stderr | n |', '|---|---|---|---|---|');
  for (const r of rep.results) {
    for (const [k, v] of Object.entries(r.metrics)) {
      const scale = isPercent(k) ? 100 : 1;
      out.push(`| ${r.task} | ${k} | ${Number.isFinite(v.value) ? (v.value * scale).toFixed(isPercent(k) ? 2 : 4) : 'n/a'} | ${Number.isFinite(v.stderr) ? (v.stderr * scale).toFixed(isPercent(k) ? 2 : 4) : 'n/a'} | ${v.n} |`);
    }
  }
  out.push('');
  return out.join('\n');
}
