/**
 * The pipeline report: documents and bytes in/out per stage and per drop reason, with a few
 * samples of each reason, plus the bad records each reader skipped. Reports from shards and
 * workers merge (`merge`), so a distributed run adds up to one report.
 */
import type { BadRecord, BadRecordSink, Doc } from './document.js';
import { utf8Length } from './document.js';

/** How many samples of each drop reason / bad-record reason are kept. */
export const SAMPLES_PER_REASON = 3;
const SAMPLE_CHARS = 200;

export interface DropSample { id: string; detail?: string; excerpt: string }

export interface ReasonCount { docs: number; bytes: number; samples: DropSample[] }

export interface StageCount {
  docsIn: number;
  bytesIn: number;
  docsOut: number;
  bytesOut: number;
  /** Wall milliseconds spent inside the stage (for MB/s figures). */
  ms: number;
  drops: Record<string, ReasonCount>;
}

export interface ReaderCount {
  docs: number;
  bytes: number;
  bad: Record<string, { count: number; samples: BadRecord[] }>;
}

export interface ReportJson {
  readers: Record<string, ReaderCount>;
  /** Stages in first-seen order. */
  stages: Record<string, StageCount>;
}

function excerpt(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > SAMPLE_CHARS ? flat.slice(0, SAMPLE_CHARS) + '…' : flat;
}

export class PipelineReport implements BadRecordSink {
  readonly readers: Record<string, ReaderCount> = {};
  readonly stages: Record<string, StageCount> = {};

  private reader(name: string): ReaderCount {
    return (this.readers[name] ??= { docs: 0, bytes: 0, bad: {} });
  }

  stage(name: string): StageCount {
    return (this.stages[name] ??= { docsIn: 0, bytesIn: 0, docsOut: 0, bytesOut: 0, ms: 0, drops: {} });
  }

  /** A reader produced a document. */
  read(reader: string, doc: Doc): void {
    const r = this.reader(reader);
    r.docs++;
    r.bytes += utf8Length(doc.text);
  }

  /** A reader skipped a bad record (BadRecordSink). */
  bad(reader: string, record: BadRecord): void {
    const b = (this.reader(reader).bad[record.reason] ??= { count: 0, samples: [] });
    b.count++;
    if (b.samples.length < SAMPLES_PER_REASON) {
      b.samples.push({ ...record, ...(record.sample !== undefined ? { sample: excerpt(record.sample) } : {}) });
    }
  }

  countIn(stage: string, bytes: number): void {
    const s = this.stage(stage);
    s.docsIn++;
    s.bytesIn += bytes;
  }

  countOut(stage: string, bytes: number): void {
    const s = this.stage(stage);
    s.docsOut++;
    s.bytesOut += bytes;
  }

  countDrop(stage: string, reason: string, doc: Doc, bytes: number, detail?: string): void {
    const r = (this.stage(stage).drops[reason] ??= { docs: 0, bytes: 0, samples: [] });
    r.docs++;
    r.bytes += bytes;
    if (r.samples.length < SAMPLES_PER_REASON) {
      r.samples.push({ id: doc.id, ...(detail !== undefined ? { detail } : {}), excerpt: excerpt(doc.text) });
    }
  }

  addTime(stage: string, ms: number): void {
    this.stage(stage).ms += ms;
  }

  toJSON(): ReportJson {
    return { readers: this.readers, stages: this.stages };
  }

  static fromJSON(j: ReportJson): PipelineReport {
    const r = new PipelineReport();
    r.merge(j);
    return r;
  }

  /** Adds another report (from a shard or a worker) into this one. */
  merge(other: ReportJson | PipelineReport): this {
    const o = other instanceof PipelineReport ? other.toJSON() : other;
    for (const [name, rc] of Object.entries(o.readers)) {
      const mine = this.reader(name);
      mine.docs += rc.docs;
      mine.bytes += rc.bytes;
      for (const [reason, b] of Object.entries(rc.bad)) {
        const m = (mine.bad[reason] ??= { count: 0, samples: [] });
        m.count += b.count;
        for (const s of b.samples) if (m.samples.length < SAMPLES_PER_REASON) m.samples.push(s);
      }
    }
    for (const [name, sc] of Object.entries(o.stages)) {
      const mine = this.stage(name);
      mine.docsIn += sc.docsIn;
      mine.bytesIn += sc.bytesIn;
      mine.docsOut += sc.docsOut;
      mine.bytesOut += sc.bytesOut;
      mine.ms += sc.ms;
      for (const [reason, rc] of Object.entries(sc.drops)) {
        const m = (mine.drops[reason] ??= { docs: 0, bytes: 0, samples: [] });
        m.docs += rc.docs;
        m.bytes += rc.bytes;
        for (const s of rc.samples) if (m.samples.length < SAMPLES_PER_REASON) m.samples.push(s);
      }
    }
    return this;
  }

  /** A fixed-width table for terminals and logs. */
  toTable(): string {
    const mb = (b: number) => (b / 1e6).toFixed(2);
    const pct = (a: number, b: number) => (b === 0 ? '-' : ((100 * a) / b).toFixed(1) + '%');
    const rows: string[][] = [['step', 'docs in', 'docs out', 'MB in', 'MB out', 'kept', 'MB/s']];
    for (const [name, r] of Object.entries(this.readers)) {
      const bad = Object.values(r.bad).reduce((a, b) => a + b.count, 0);
      rows.push([`read ${name}`, bad ? `+${bad} bad` : '', String(r.docs), '', mb(r.bytes), '', '']);
      for (const [reason, b] of Object.entries(r.bad)) rows.push([`  ✗ ${reason}`, String(b.count), '', '', '', '', '']);
    }
    for (const [name, s] of Object.entries(this.stages)) {
      const rate = s.ms > 0 ? (s.bytesIn / 1e6 / (s.ms / 1000)).toFixed(1) : '';
      rows.push([name, String(s.docsIn), String(s.docsOut), mb(s.bytesIn), mb(s.bytesOut), pct(s.bytesOut, s.bytesIn), rate]);
      const reasons = Object.entries(s.drops).sort((a, b) => b[1].docs - a[1].docs);
      for (const [reason, d] of reasons) rows.push([`  ✗ ${reason}`, String(d.docs), '', mb(d.bytes), '', '', '']);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
    return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
  }
}
