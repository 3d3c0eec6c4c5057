/**
 * The unit every data-pipeline step passes along, and the contract between steps.
 *
 * Flow: readers (async iterables of Doc) → stages (one Doc in, one Doc or a Drop out) → writers
 * (sharded JSONL, then token shards). Everything streams, so memory stays bounded by the largest
 * document plus the writers' buffers, whatever the input size.
 *
 * A stage never throws for bad content: it returns `drop('reason', detail)` and the runner counts
 * the reason (docs, bytes, a few samples) in the report. Throwing is kept for programming errors
 * and unusable configuration; the runner turns a throw on one document into a counted
 * `stage-error` drop so one bad record never aborts a run.
 */

export interface Doc {
  /** Stable across runs: derived from the input (file + record position or the record's own id). */
  id: string;
  /** UTF-8 text (already decoded; invalid bytes were either rejected by the reader or replaced). */
  text: string;
  /** Corpus name as in Table 1: commoncrawl, c4, github, wikipedia, books, arxiv, stackexchange. */
  source: string;
  /** Free-form provenance and stage annotations (url, language, perplexity, license, ...). */
  meta: Record<string, unknown>;
}

/** A stage's verdict to remove a document, with a reason name that the report counts. */
export interface Drop {
  readonly drop: string;
  /** Short human-readable why (e.g. "3 sentences < 5"); kept with the report's samples. */
  readonly detail?: string;
}

export function drop(reason: string, detail?: string): Drop {
  return detail === undefined ? { drop: reason } : { drop: reason, detail };
}

export function isDrop(x: unknown): x is Drop {
  return typeof x === 'object' && x !== null && typeof (x as Drop).drop === 'string';
}

/** `null` is accepted as a drop with reason `<stage name>` for terse filters. */
export type StageResult = Doc | Drop | null;

/**
 * A per-document step: filter, transform, annotate. Stages may keep state (an exact-dedup hash
 * set, an LSH index) but must be deterministic for a given input order.
 */
export interface Stage {
  readonly name: string;
  process(doc: Doc): StageResult | Promise<StageResult>;
  /** Called once after the last document (e.g. to release resources or log totals). */
  close?(): void | Promise<void>;
}

/** Where a reader found a bad record: kept in the report so a human can find the bytes. */
export interface BadRecord {
  reason: string;
  /** e.g. "file.warc.gz byte 123456" or "Posts.xml line 42". */
  where: string;
  detail?: string;
  /** A short excerpt of the offending input. */
  sample?: string;
}

/** Readers report skipped input here instead of throwing (bad input never aborts a run). */
export interface BadRecordSink {
  bad(reader: string, record: BadRecord): void;
}

/** A sink that discards issues: for tools that only want the documents. */
export const ignoreBadRecords: BadRecordSink = { bad() {} };

/** UTF-8 byte length without allocating (reports count bytes, not UTF-16 units). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
