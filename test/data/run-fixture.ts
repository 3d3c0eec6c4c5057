/** The small pipeline run that the operations and mixture tests share. */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './helpers.js';

/** A small run over real samples, with damaged inputs mixed in. */
export function makeRunDir(dir: string): string {
  mkdirSync(join(dir, 'in/cc'), { recursive: true });
  mkdirSync(join(dir, 'in/books'), { recursive: true });
  copyFileSync(join(SHARED, 'dolma_warc/sample-0000.warc.gz'), join(dir, 'in/cc/a.warc.gz'));
  copyFileSync(join(SHARED, 'ccnet/sample.warc.txt'), join(dir, 'in/cc/b.warc'));
  const whole = readFileSync(join(SHARED, 'dolma_warc/sample-0001.warc.gz'));
  writeFileSync(join(dir, 'in/cc/c-truncated.warc.gz'), whole.subarray(0, whole.length >> 1));
  mkdirSync(join(dir, 'in/cc/d-not-a-file.warc.gz')); // the reader fails on it: counted, not fatal
  for (const f of ['11-0.txt', '84-0.txt']) copyFileSync(join(SHARED, 'gutenberg', f), join(dir, 'in/books', f));
  copyFileSync(join(SHARED, 'gutenberg/84-0.txt'), join(dir, 'in/books/84-copy.txt'));
  const config = {
    output: 'out',
    workers: 1,
    shardDocs: 7,
    sources: [
      { name: 'commoncrawl', reader: 'warc', inputs: ['in/cc/*'], stages: [{ type: 'min-length', chars: 200 }, { type: 'exact-dedup' }] },
      { name: 'books', reader: 'books', inputs: ['in/books/*.txt'], stages: [{ type: 'near-dedup' }] },
      { name: 'stackexchange', reader: 'stackexchange', inputs: [join(SHARED, 'stackexchange/Posts.stat4decision-2017.xml')], stages: [] },
    ],
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return join(dir, 'config.json');
}

