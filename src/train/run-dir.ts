/**
 * A run directory: everything one training run writes, so it can be resumed, plotted and used.
 *
 *   run.json                  the run's settings (model config, data, schedule, optimizer), written once
 *   log.jsonl                 one JSON record per line (schema in the README, "Training logs")
 *   checkpoints/step-NNNNNNNN.ckpt   the last `keep` checkpoints (src/train/checkpoint.ts)
 *   model.gguf                the exported model at the end (when src/formats can write it)
 *   tokenizer.model           the tokenizer, when the run made or was given one
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class RunDir {
  constructor(readonly dir: string) {}

  get settingsPath(): string { return join(this.dir, 'run.json'); }
  get logPath(): string { return join(this.dir, 'log.jsonl'); }
  get checkpointDir(): string { return join(this.dir, 'checkpoints'); }
  get modelPath(): string { return join(this.dir, 'model.gguf'); }
  get tokenizerPath(): string { return join(this.dir, 'tokenizer.model'); }

  create(): void {
    mkdirSync(this.checkpointDir, { recursive: true });
  }

  writeJson(path: string, value: unknown): void {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(value, null, 1) + '\n');
    renameSync(tmp, path);
  }

  readSettings<T>(): T {
    if (!existsSync(this.settingsPath)) throw new Error(`${this.dir} is not a llama-ts run directory (no run.json); start a run with 'llama-ts train --out ${this.dir} ...'`);
    try { return JSON.parse(readFileSync(this.settingsPath, 'utf8')) as T; } catch (e) {
      throw new Error(`${this.settingsPath}: not valid JSON (${(e as Error).message})`);
    }
  }

  checkpointPath(step: number): string {
    return join(this.checkpointDir, `step-${String(step).padStart(8, '0')}.ckpt`);
  }

  /** Checkpoints present, newest first. */
  checkpoints(): { step: number; path: string }[] {
    if (!existsSync(this.checkpointDir)) return [];
    return readdirSync(this.checkpointDir)
      .map((f) => /^step-(\d{8})\.ckpt$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ step: Number(m[1]), path: join(this.checkpointDir, m[0]) }))
      .sort((a, b) => b.step - a.step);
  }

  /** Deletes all but the newest `keep` checkpoints, and temporary files a killed save left behind. */
  prune(keep: number): void {
    for (const c of this.checkpoints().slice(Math.max(1, keep))) {
      try { unlinkSync(c.path); } catch { /* already gone */ }
    }
    if (!existsSync(this.checkpointDir)) return;
    for (const f of readdirSync(this.checkpointDir)) {
      if (/^\.step-\d{8}\.ckpt\.tmp-\d+$/.test(f) && !f.endsWith(`.tmp-${process.pid}`)) {
        try { unlinkSync(join(this.checkpointDir, f)); } catch { /* already gone */ }
      }
    }
  }

  log(record: Record<string, unknown>): void {
    appendFileSync(this.logPath, JSON.stringify(record) + '\n');
  }

  /**
   * On resume: drops the records written after the checkpoint being resumed from (those steps will
   * run again), and a torn last line, so the log reads as one uninterrupted run.
   */
  truncateLog(afterStep: number): void {
    if (!existsSync(this.logPath)) return;
    const kept: string[] = [];
    for (const line of readFileSync(this.logPath, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let rec: { step?: unknown };
      try { rec = JSON.parse(line); } catch { continue; }
      if (typeof rec.step === 'number' && rec.step > afterStep) continue;
      kept.push(line);
    }
    const tmp = `${this.logPath}.tmp-${process.pid}`;
    writeFileSync(tmp, kept.length ? kept.join('\n') + '\n' : '');
    renameSync(tmp, this.logPath);
  }
}
