/**
 * Training runs for the runs page: a runs folder holds one directory per run, each with a
 * JSON-lines log (one record per step: {step, loss, lr, ...}) and any evaluation reports.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ApiError } from './errors.js';

const LOG_NAMES = ['log.jsonl', 'train.jsonl', 'metrics.jsonl'];

export interface RunSummary { name: string; updated: string; records: number }
export interface ReportRow { task: string; metric: string; value: number; stderr: number | null; n: number | null }

function logFile(dir: string): string | null {
  for (const n of LOG_NAMES) if (existsSync(join(dir, n))) return join(dir, n);
  const any = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  return any.length ? join(dir, any[0]!) : null;
}

/** Parses a JSON-lines log, skipping a torn last line (a run being written) and malformed lines. */
export function readLog(path: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch { /* torn or foreign line: skipped */ }
  }
  return out;
}

/** Rows of an evaluation report (src/eval's JSON report: results[] of {task, items, metrics: {name: {value, stderr, n}}}). */
export function reportRows(report: unknown): ReportRow[] {
  const rows: ReportRow[] = [];
  const results = (report as { results?: unknown })?.results;
  if (Array.isArray(results)) {
    for (const r of results as Record<string, unknown>[]) {
      const task = String(r.task ?? r.name ?? '?');
      const metrics = (r.metrics ?? {}) as Record<string, unknown>;
      const items = typeof r.items === 'number' ? r.items : null;
      for (const [metric, m] of Object.entries(metrics)) {
        if (typeof m === 'number') rows.push({ task, metric, value: m, stderr: null, n: items });
        else if (m && typeof m === 'object' && typeof (m as { value?: unknown }).value === 'number') {
          const mm = m as { value: number; stderr?: number; n?: number };
          const stderr = typeof mm.stderr === 'number' && Number.isFinite(mm.stderr) ? mm.stderr : null;
          rows.push({ task, metric, value: mm.value, stderr, n: mm.n ?? items });
        }
      }
    }
  }
  return rows;
}

export class RunStore {
  constructor(readonly root: string) {}

  list(): RunSummary[] {
    if (!existsSync(this.root)) return [];
    const runs: RunSummary[] = [];
    for (const name of readdirSync(this.root).sort()) {
      const dir = join(this.root, name);
      if (!statSync(dir).isDirectory()) continue;
      const log = logFile(dir);
      if (!log) continue;
      runs.push({ name, updated: statSync(log).mtime.toISOString(), records: readLog(log).length });
    }
    return runs;
  }

  get(name: string): { name: string; updated: string; log: Record<string, unknown>[]; reports: { file: string; rows: ReportRow[] }[] } {
    const dir = resolve(this.root, name);
    if (!dir.startsWith(resolve(this.root) + '/') || !existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new ApiError(404, `no run named '${name}' in ${this.root}`, 'not_found_error');
    }
    const log = logFile(dir);
    const reports: { file: string; rows: ReportRow[] }[] = [];
    for (const sub of [dir, join(dir, 'eval')]) {
      if (!existsSync(sub)) continue;
      for (const f of readdirSync(sub).filter((f) => f.endsWith('.json')).sort()) {
        try {
          const rows = reportRows(JSON.parse(readFileSync(join(sub, f), 'utf8')));
          if (rows.length) reports.push({ file: f, rows });
        } catch { /* not a report */ }
      }
    }
    return { name, updated: log ? statSync(log).mtime.toISOString() : '', log: log ? readLog(log) : [], reports };
  }
}
