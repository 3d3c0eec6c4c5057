import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '../../src/data/ops/config.js';
import { runPipeline } from '../../src/data/ops/run.js';
import { expandGlob } from '../../src/data/ops/glob.js';
import { markerPath } from '../../src/data/ops/job.js';
import { siteName } from '../../src/data/ops/registry.js';
import { SHARED, tempDir } from './helpers.js';
import { makeRunDir } from './run-fixture.js';

/** Every output shard's text, with the run folder's path replaced so runs in two folders compare. */
function outputs(out: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.jsonl.gz')) m.set(p.slice(out.length + 1), gunzipSync(readFileSync(p)).toString().split(join(out, '..')).join('<run>'));
    }
  };
  walk(out);
  return m;
}

const quiet = { log: () => {} };

test('a run over real samples: two waves, bad inputs counted, report written', async (t) => {
  const dir = tempDir(t);
  const cfgPath = makeRunDir(dir);
  const config = parseConfig(JSON.parse(readFileSync(cfgPath, 'utf8')), cfgPath);
  const r = await runPipeline(config, quiet);
  const rep = r.report.toJSON();
  assert.equal(rep.readers.warc!.bad['truncated-compressed-stream']!.count, 1);
  assert.equal(rep.readers.warc!.bad['reader-error']!.count, 1);
  assert.equal(rep.stages['near-dedup']!.drops['near-duplicate']!.docs, 1, 'the copied book');
  assert.equal(rep.stages['exact-dedup']!.docsIn, rep.stages['min-length']!.docsOut);
  assert.deepEqual([...r.finals.keys()], ['commoncrawl', 'books', 'stackexchange']);
  assert.equal(r.finals.get('stackexchange')!.length, Math.ceil(95 / 7));
  const table = readFileSync(join(config.output, 'report.txt'), 'utf8');
  assert.match(table, /near-dedup\s+3\s+2/);
  assert.ok(existsSync(join(config.output, 'report.json')));
});

test('deterministic: 1 worker and 2 worker threads give byte-identical shards', async (t) => {
  const a = tempDir(t);
  const b = tempDir(t);
  const ca = makeRunDir(a);
  const cb = makeRunDir(b);
  await runPipeline(parseConfig(JSON.parse(readFileSync(ca, 'utf8')), ca), quiet);
  await runPipeline({ ...parseConfig(JSON.parse(readFileSync(cb, 'utf8')), cb), workers: 2 }, quiet);
  const oa = outputs(join(a, 'out'));
  const ob = outputs(join(b, 'out'));
  assert.ok(oa.size > 10);
  assert.deepEqual([...oa.keys()].sort(), [...ob.keys()].sort());
  for (const [k, v] of oa) assert.equal(ob.get(k), v, k);
});

test('resumable: finished jobs are skipped; a lost job and leftovers of a killed one are redone', async (t) => {
  const dir = tempDir(t);
  const cfgPath = makeRunDir(dir);
  const config = parseConfig(JSON.parse(readFileSync(cfgPath, 'utf8')), cfgPath);
  await runPipeline(config, quiet);
  const before = outputs(config.output);
  // Lose one wave-1 job (marker and shards) and leave a temp file as a killed writer would.
  const job = { kind: 'wave1' as const, source: 0, input: 0, path: '' };
  unlinkSync(markerPath(config, job));
  for (const f of readdirSync(join(config.output, 'commoncrawl/wave1'))) if (f.startsWith('in-00000-')) unlinkSync(join(config.output, 'commoncrawl/wave1', f));
  writeFileSync(join(config.output, 'commoncrawl/wave1/.in-00000-00000.jsonl.gz.tmp-999'), 'torn');
  const lines: string[] = [];
  await runPipeline(config, { log: (s) => lines.push(s) });
  assert.ok(lines.some((l) => /\[wave1\] 8 job\(s\), 7 already done/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /\[wave2\] 2 job\(s\), 2 already done/.test(l)), 'wave 2 markers still valid');
  assert.deepEqual(outputs(config.output), before);
  assert.ok(!readdirSync(join(config.output, 'commoncrawl/wave1')).some((f) => f.includes('.tmp-')));
});

test('config errors name the field and what is allowed', () => {
  assert.throws(() => parseConfig({ output: 'o', sources: [{ name: 'x', reader: 'pdf', inputs: ['a'] }] }, 'c.json'), /sources\.0\.reader: unknown reader "pdf" \(known: warc, wet, jsonl/);
  assert.throws(() => parseConfig({ output: 'o', sources: [{ name: 'x', reader: 'warc', inputs: ['a'], stages: [{ type: 'nope' }] }] }, 'c.json'), /sources\.0\.stages\.0\.type: unknown stage type "nope"/);
  assert.throws(() => parseConfig({ output: 'o', sources: [{ name: 'x', reader: 'warc', inputs: ['a'] }, { name: 'x', reader: 'warc', inputs: ['b'] }] }, 'c.json'), /"x" is used twice/);
  assert.throws(() => parseConfig({ sources: [] }, 'c.json'), /output: Required/);
});

test('StackExchange site names come from the dump folder', () => {
  assert.equal(siteName('/dumps/math.stackexchange.com/Posts.xml'), 'math.stackexchange.com');
  assert.equal(siteName('/x/Posts.stat4decision-2017.xml'), 'Posts.stat4decision-2017');
});

test('glob expansion is sorted and handles ** and ?', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  for (const f of ['x1.txt', 'x2.txt', 'a/y.txt', 'a/b/z.txt', 'a/b/w.md']) writeFileSync(join(dir, f), '');
  assert.deepEqual(expandGlob('x?.txt', dir).map((p) => p.slice(dir.length + 1)), ['x1.txt', 'x2.txt']);
  assert.deepEqual(expandGlob('**/*.txt', dir).map((p) => p.slice(dir.length + 1)), ['a/b/z.txt', 'a/y.txt', 'x1.txt', 'x2.txt']);
  assert.deepEqual(expandGlob('nothing-*.txt', dir), []);
});

test('CLI: llama-ts data run, report, stage; clear errors', (t) => {
  const dir = tempDir(t);
  const cfgPath = makeRunDir(dir);
  const cli = join(process.cwd(), 'dist/src/cli/main.js');
  const run = spawnSync(process.execPath, [cli, 'data', 'run', '--config', cfgPath], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /near-dedup/);
  assert.match(run.stderr, /\[wave1\] 8 job\(s\)/);
  const rep = execFileSync(process.execPath, [cli, 'data', 'report', '--config', cfgPath, '--json'], { encoding: 'utf8' });
  assert.equal(JSON.parse(rep).stages['near-dedup'].docsOut, 2);
  const stage = spawnSync(process.execPath, [cli, 'data', 'stage', 'c4', '--reader', 'warc', '--output', join(dir, 'c4'), join(SHARED, 'dolma_warc/sample-0000.warc.gz')], { encoding: 'utf8' });
  assert.equal(stage.status, 0, stage.stderr);
  assert.match(stage.stdout, /c4\s+22\s+\d+/);
  const bad = spawnSync(process.execPath, [cli, 'data', 'run'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--config FILE is required/);
  const missing = spawnSync(process.execPath, [cli, 'data', 'run', '--config', join(dir, 'nope.json')], { encoding: 'utf8' });
  assert.match(missing.stderr, /cannot read config .*nope\.json/);
  rmSync(join(dir, 'out'), { recursive: true, force: true });
});
