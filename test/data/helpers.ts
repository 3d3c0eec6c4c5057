/** Shared helpers for the data-pipeline tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BadRecord, BadRecordSink, Doc } from '../../src/data/document.js';

/** ../shared/data from the repo root (tests run from the repo root). */
export const SHARED = resolve('../shared/data');
export const FIXTURES = resolve('fixtures/data');

export class CollectSink implements BadRecordSink {
  readonly records: (BadRecord & { reader: string })[] = [];
  bad(reader: string, record: BadRecord): void {
    this.records.push({ reader, ...record });
  }
  reasons(): string[] {
    return this.records.map((r) => r.reason);
  }
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function tempDir(t: { after(fn: () => void): void }, name = 'llama-ts-data-'): string {
  const d = mkdtempSync(join(tmpdir(), name));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function doc(text: string, meta: Record<string, unknown> = {}, id = 'doc'): Doc {
  return { id, text, source: 'test', meta };
}
