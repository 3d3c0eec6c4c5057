/**
 * Runs documents through a chain of stages, counting everything in a PipelineReport.
 * Streaming: pulls one document at a time from the source, so memory does not grow with input.
 */
import type { Doc, Stage, StageResult } from './document.js';
import { isDrop, utf8Length } from './document.js';
import { PipelineReport } from './report.js';

/** Applies one stage to one document and records the outcome; returns the surviving doc or null. */
export async function applyStage(stage: Stage, doc: Doc, report: PipelineReport): Promise<Doc | null> {
  const bytesIn = utf8Length(doc.text);
  report.countIn(stage.name, bytesIn);
  const t0 = performance.now();
  let out: StageResult;
  try {
    const r = stage.process(doc);
    out = r instanceof Promise ? await r : r;
  } catch (e) {
    // One document that trips a stage must not abort the run: count it with the error message.
    out = { drop: 'stage-error', detail: (e as Error)?.message ?? String(e) };
  }
  report.addTime(stage.name, performance.now() - t0);
  if (out === null) {
    report.countDrop(stage.name, stage.name, doc, bytesIn);
    return null;
  }
  if (isDrop(out)) {
    report.countDrop(stage.name, out.drop, doc, bytesIn, out.detail);
    return null;
  }
  report.countOut(stage.name, utf8Length(out.text));
  return out;
}

/** Streams `docs` through `stages` in order; yields the documents every stage kept. */
export async function* runStages(
  docs: AsyncIterable<Doc> | Iterable<Doc>,
  stages: readonly Stage[],
  report: PipelineReport,
): AsyncGenerator<Doc> {
  for await (const input of docs) {
    let doc: Doc | null = input;
    for (const stage of stages) {
      doc = await applyStage(stage, doc, report);
      if (doc === null) break;
    }
    if (doc !== null) yield doc;
  }
  for (const stage of stages) await stage.close?.();
}

/** Counts documents as they come out of a reader (the report's "read" rows). */
export async function* countRead(name: string, docs: AsyncIterable<Doc>, report: PipelineReport): AsyncGenerator<Doc> {
  for await (const d of docs) {
    report.read(name, d);
    yield d;
  }
}
