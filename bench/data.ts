/**
 * `npm run bench -- data [--mb N]`: throughput (MB/s on one core) of the data pipeline's readers
 * and per-source stages on CCNet's WET sample repeated to ~N MB (default 100), plus WARC→HTML→text
 * on the dolma sample. Each step runs alone on the main thread, so the figure is per core.
 * The CCNet stages (line dedup, language id, perplexity) are measured by bench/data-ccnet.ts.
 * No peer: no JS/TS implementation of these pipelines exists; the Python references (CCNet,
 * RedPajama) are not installed here. Last line: JSON.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import type { Doc, Stage } from '../src/data/document.js';
import { ignoreBadRecords } from '../src/data/document.js';
import { readWarcDocs } from '../src/data/readers/warc.js';
import { c4Stage } from '../src/data/filters/c4.js';
import { githubStage } from '../src/data/filters/github.js';
import { wikipediaStage } from '../src/data/filters/wikitext.js';
import { arxivStage } from '../src/data/filters/arxiv.js';
import { exactDedupStage } from '../src/data/dedup/exact.js';
import { nearDedupStage } from '../src/data/dedup/minhash.js';

const SHARED = resolve('../shared/data');

/** Splits the WET sample into records and rewrites them, numbered, to ~mb MB (gzip per record). */
async function makeWet(path: string, mb: number): Promise<number> {
  const raw = readFileSync(join(SHARED, 'ccnet/sample.warc.txt'), 'utf8');
  const bodies = raw.split(/^WARC\/1\.0$/m).slice(2).map((r) => r.split(/\n\n/).slice(1).join('\n\n').trim());
  const out = createWriteStream(path);
  let bytes = 0;
  for (let i = 0; bytes < mb * 1e6; i++) {
    // A counter in each copy keeps exact dedup from seeing only duplicates.
    const body = `${bodies[i % bodies.length]}\nCopy number ${i} of this page is here.\n`;
    const len = Buffer.byteLength(body);
    const rec = `WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: http://example.com/${i}\r\nWARC-Record-ID: <urn:uuid:${i}>\r\nContent-Length: ${len}\r\n\r\n${body}\r\n\r\n`;
    bytes += len;
    if (!out.write(gzipSync(rec, { level: 1 }))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return bytes;
}

async function timeStage(stage: Stage, docs: Doc[]): Promise<{ mbps: number; kept: number }> {
  let bytes = 0;
  for (const d of docs) bytes += Buffer.byteLength(d.text);
  const t0 = performance.now();
  let kept = 0;
  for (const d of docs) {
    const r = await stage.process(d);
    if (r && !('drop' in r)) kept++;
  }
  const s = (performance.now() - t0) / 1000;
  return { mbps: bytes / 1e6 / s, kept };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { mb: { type: 'string', default: '100' } } });
  const mb = Number(values.mb);
  if (!(mb > 0)) throw new Error(`--mb must be a positive number, got ${values.mb}`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-data-'));
  try {
    const wet = join(dir, 'sample.wet.gz');
    const textBytes = await makeWet(wet, mb);
    console.log(`WET sample repeated to ${(textBytes / 1e6).toFixed(1)} MB of text (gzip per record)`);
    const results: Record<string, number> = {};

    let t0 = performance.now();
    const docs: Doc[] = [];
    for await (const d of readWarcDocs(wet, ignoreBadRecords)) docs.push({ ...d, meta: { ...d.meta, lang: 'en', ns: 0, license: 'mit', ext: 'md', path: 'README.md' } });
    results['read-wet-gz'] = textBytes / 1e6 / ((performance.now() - t0) / 1000);

    const html = join(dir, 'dolma.warc.gz');
    const warcCopies = Math.max(1, Math.round(mb / 10));
    writeFileSync(html, Buffer.concat(Array.from({ length: warcCopies }, () => readFileSync(join(SHARED, 'dolma_warc/sample-0000.warc.gz')))));
    t0 = performance.now();
    let htmlText = 0;
    for await (const d of readWarcDocs(html, ignoreBadRecords)) htmlText += Buffer.byteLength(d.text);
    const warcSecs = (performance.now() - t0) / 1000;
    results['read-warc-html (text MB/s)'] = htmlText / 1e6 / warcSecs;
    results['read-warc-html (WARC MB/s)'] = gunzipSync(readFileSync(html)).length / 1e6 / warcSecs;

    const stages: [string, Stage][] = [
      ['c4', c4Stage()],
      ['github', githubStage()],
      ['wikipedia', wikipediaStage({ minChars: 1 })],
      ['arxiv', arxivStage({ minChars: 1 })],
      ['exact-dedup', exactDedupStage()],
      ['near-dedup (minhash)', nearDedupStage()],
    ];
    for (const [name, stage] of stages) {
      const r = await timeStage(stage, docs);
      results[name] = r.mbps;
      console.log(`  ${name.padEnd(28)} ${r.mbps.toFixed(1).padStart(7)} MB/s per core   (${r.kept}/${docs.length} docs kept)`);
    }
    console.log(`  ${'read-wet-gz'.padEnd(28)} ${results['read-wet-gz']!.toFixed(1).padStart(7)} MB/s per core`);
    console.log(`  ${'read-warc-html'.padEnd(28)} ${results['read-warc-html (WARC MB/s)']!.toFixed(1).padStart(7)} MB/s of WARC per core (${results['read-warc-html (text MB/s)']!.toFixed(1)} MB/s of extracted text)`);
    console.log('(figures on a shared 2-core machine are noisy)');
    console.log(JSON.stringify({ bench: 'data', mb: +(textBytes / 1e6).toFixed(1), docs: docs.length, mbPerSecPerCore: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, +v.toFixed(2)])) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
