/**
 * Progress of a training run on stderr: one line updated in place on a terminal, a plain line every
 * `every` steps (or 10 s) otherwise (logs, CI).
 */
import type { TrainProgress } from './trainer.js';

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function progressLine(p: TrainProgress): string {
  const pct = ((100 * p.step) / p.totalSteps).toFixed(0).padStart(3);
  const width = 20, filled = Math.round((width * p.step) / p.totalSteps);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  return `[${bar}] ${pct}% step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)}` +
    (p.valLoss !== undefined ? ` val ${p.valLoss.toFixed(4)}` : '') +
    ` lr ${p.lr.toExponential(2)} |g| ${p.gradNorm.toFixed(2)} ${Math.round(p.tokensPerSec).toLocaleString('en-US')} tok/s` +
    ` MFU ${(100 * p.mfu).toFixed(1)}% ETA ${formatDuration(p.etaSec)}`;
}

export class ProgressPrinter {
  private lastPrint = 0;
  private onLine = false;
  constructor(private readonly every: number, private readonly out: NodeJS.WriteStream = process.stderr) {}

  step(p: TrainProgress): void {
    const line = progressLine(p);
    if (this.out.isTTY) {
      this.out.write(`\r${line.slice(0, (this.out.columns ?? 160) - 1).padEnd(Math.min(line.length, (this.out.columns ?? 160) - 1))}`);
      this.onLine = true;
      if (p.step === p.totalSteps) this.newline();
      return;
    }
    const now = Date.now();
    if (p.step % this.every === 0 || p.step === p.totalSteps || p.step === 1 || now - this.lastPrint > 10000) {
      this.out.write(line + '\n');
      this.lastPrint = now;
    }
  }

  /** A message on its own line (ends an in-place progress line first). */
  say(msg: string): void {
    this.newline();
    this.out.write(msg + '\n');
  }

  newline(): void {
    if (this.onLine) { this.out.write('\n'); this.onLine = false; }
  }
}
