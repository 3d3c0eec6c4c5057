// CCNet line dedup: normalization and hashes against Python (fixtures/ccnet/normalize.json, made by
// scripts/fixtures/ccnet-normalize.py), the hash set, and both dedup modes on the real WET sample
// with planted duplicates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalizeForDedup, normalizeForLm } from '../../../src/data/ccnet/normalize.js';
import { sha1Prefix64 } from '../../../src/data/ccnet/sha1-prefix.js';
import { FlatHashSet } from '../../../src/data/ccnet/hash-set.js';
import { dedupTwoPass, DuplicateRemover, HashCollector, lineHashes } from '../../../src/data/ccnet/line-dedup.js';
import { readWarcDocs } from '../../../src/data/readers/warc.js';
import { ignoreBadRecords } from '../../../src/data/document.js';

const cases = JSON.parse(readFileSync('fixtures/ccnet/normalize.json', 'utf8')) as { line: string; dedup: string; lm: string; hash: string }[];
const u64 = (h: Uint32Array, i: number): string => ((BigInt(h[i * 2 + 1]) << 32n) | BigInt(h[i * 2])).toString();

test('normalizeForDedup and normalizeForLm equal the Python reference', () => {
  for (const c of cases) {
    assert.equal(normalizeForDedup(c.line), c.dedup, `dedup ${JSON.stringify(c.line)}`);
    assert.equal(normalizeForLm(c.line), c.lm, `lm ${JSON.stringify(c.line)}`);
  }
});

test('line hash = first 8 bytes of sha1 as little-endian uint64 (Python/numpy reference)', () => {
  for (const c of cases) {
    const h = lineHashes(c.line);
    assert.equal(u64(h, 0), c.hash, JSON.stringify(c.line));
  }
});

test('sha1Prefix64 agrees with node:crypto across block boundaries', () => {
  const out = new Uint32Array(2);
  for (let len = 0; len < 300; len += 1) {
    const bytes = new Uint8Array(len).map((_, i) => (i * 31 + len) & 0xff);
    sha1Prefix64(bytes, 0, len, out, 0);
    const d = createHash('sha1').update(bytes).digest();
    assert.equal(out[0], d.readUInt32LE(0), `len ${len}`);
    assert.equal(out[1], d.readUInt32LE(4), `len ${len}`);
  }
});

test('FlatHashSet: add/state semantics, growth, dump/load merges flags', () => {
  const s = new FlatHashSet(4);
  assert.equal(s.add(1, 2), false);
  assert.equal(s.state(1, 2), 1);
  assert.equal(s.add(1, 2), true);
  assert.equal(s.state(1, 2), 2);
  assert.equal(s.state(3, 4), 0);
  for (let i = 1; i <= 5000; i++) s.add(i * 7919, i);
  assert.equal(s.size, 5001);
  for (let i = 1; i <= 5000; i++) assert.equal(s.state(i * 7919, i), 1);
  assert.equal(s.state(1, 2), 2);
  const dir = mkdtempSync(join(tmpdir(), 'ccnet-hs-'));
  try {
    const a = new FlatHashSet(), b = new FlatHashSet();
    a.add(10, 0); a.add(11, 0); b.add(11, 0); b.add(12, 0); b.add(12, 0);
    a.dump(join(dir, 'a.bin'));
    b.dump(join(dir, 'b.bin'));
    const m = FlatHashSet.fromFiles([join(dir, 'a.bin'), join(dir, 'b.bin')]);
    assert.deepEqual([m.state(10, 0), m.state(11, 0), m.state(12, 0), m.state(13, 0)], [1, 2, 2, 0]);
    writeFileSync(join(dir, 'bad.bin'), Buffer.from('not a hash set'));
    assert.throws(() => new FlatHashSet().load(join(dir, 'bad.bin')), /bad magic at byte 0/);
    const good = readFileSync(join(dir, 'a.bin'));
    writeFileSync(join(dir, 'cut.bin'), good.subarray(0, good.length - 3));
    assert.throws(() => new FlatHashSet().load(join(dir, 'cut.bin')), /does not match file size/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function wetDocs(): Promise<string[]> {
  const texts: string[] = [];
  for await (const d of readWarcDocs('../shared/data/ccnet/sample.warc.txt', ignoreBadRecords)) texts.push(d.text);
  return texts;
}

test('two-pass dedup on the WET sample removes the planted duplicate lines and nothing else', async () => {
  const docs = await wetDocs();
  assert.equal(docs.length, 3);
  // The sample's lines are all distinct except the blank ones: check that first.
  const all = docs.flatMap((d) => d.split('\n')).filter((l) => normalizeForDedup(l) !== '');
  assert.equal(new Set(all.map(normalizeForDedup)).size, all.length);
  // Plant: a 4th doc repeats one English line (different case/digits/spacing) and one Russian line,
  // plus a line of its own.
  const en = docs[0].split('\n')[1];
  const ru = docs[2].split('\n').find((l) => l.trim().length > 20)!;
  const planted = [`  ${en.toUpperCase()}  `, ru, 'A line that appears only here, 2024.'].join('\n');
  const { results, stats } = dedupTwoPass([...docs, planted]);
  // Every occurrence of a repeated line goes (the paper's setting); a line whose normalized form
  // occurs once in the whole group stays (a single blank line included).
  const kept = results.map((r) => r?.text.split('\n') ?? []);
  assert.ok(!kept[0].includes(en));
  assert.ok(!kept[2].includes(ru));
  assert.deepEqual(kept[3], ['A line that appears only here, 2024.']);
  const occurrences = new Map<string, number>();
  for (const l of [...docs, planted].flatMap((d) => d.split('\n'))) occurrences.set(normalizeForDedup(l), (occurrences.get(normalizeForDedup(l)) ?? 0) + 1);
  for (let i = 0; i < 3; i++) {
    const expected = docs[i].split('\n').filter((l) => occurrences.get(normalizeForDedup(l)) === 1);
    assert.ok(expected.length >= docs[i].split('\n').length - 3, 'only the planted lines and blanks differ');
    assert.deepEqual(kept[i], expected, `doc ${i}`);
  }
  assert.equal(stats.docs, 4);
  assert.equal(stats.docsDropped, 0);
  assert.ok(stats.charsKept < stats.chars);
});

test('one-pass (collect) dedup keeps the first occurrence; duplicates inside a doc go', () => {
  const r = new DuplicateRemover(new FlatHashSet(), { collect: true });
  assert.deepEqual(r.process('alpha 1\nbeta\nalpha 2')?.text, 'alpha 1\nbeta'); // "alpha 0" twice in the doc
  assert.equal(r.process('BETA\nalpha 9'), null); // all lines seen before → document dropped
  assert.deepEqual(r.process('gamma\nbeta')?.lineIds, [0]);
  assert.equal(r.stats.docsDropped, 1);
});

test('sharded two-pass: per-shard hash files merged give the same result as one set', () => {
  const shards = [['x one\nshared line', 'y two'], ['shared line\nz three', 'w four\nx one']];
  const dir = mkdtempSync(join(tmpdir(), 'ccnet-dd-'));
  try {
    const files = shards.map((docs, i) => {
      const c = new HashCollector();
      for (const d of docs) c.add(d);
      const f = join(dir, `${i}.bin`);
      c.hashes.dump(f);
      return f;
    });
    const merged = new DuplicateRemover(FlatHashSet.fromFiles(files));
    const out = shards.flat().map((d) => merged.process(d)?.text ?? null);
    assert.deepEqual(out, [null, 'y two', 'z three', 'w four']);
    assert.deepEqual(out, dedupTwoPass(shards.flat()).results.map((r) => r?.text ?? null));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one-pass normalizers equal the regex chain on random Unicode text (astral included)', async () => {
  const { normalizeForDedupSlow, normalizeForLmSlow } = await import('../../../src/data/ccnet/normalize.js');
  const pool = [...'aZ09 \t\u00a0\u3000\u0085\u001c.,!?-Éçñ√ü ΣσςΑ İı ДЖй ٣٤ ५६ ，。「」—…’«» ︎é\u0301ด้ 한국어 𝟘𝟙😀𐐀 \u200b\ufeff\u2028'];
  let seed = 42;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let t = 0; t < 3000; t++) {
    let s = '';
    const len = rand(30);
    for (let i = 0; i < len; i++) s += pool[rand(pool.length)];
    assert.equal(normalizeForDedup(s), normalizeForDedupSlow(s), JSON.stringify(s));
    assert.equal(normalizeForLm(s), normalizeForLmSlow(s), JSON.stringify(s));
    // the ASCII byte path of the hasher equals hashing the normalized string
    const h = lineHashes(s);
    const bytes = new TextEncoder().encode(normalizeForDedup(s));
    const d = createHash('sha1').update(bytes).digest();
    assert.equal(h[0], d.readUInt32LE(0), JSON.stringify(s));
  }
});
