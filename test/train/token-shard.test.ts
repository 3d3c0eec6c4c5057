import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  crc32, readTokenShard, readTokenShardHeader, shardDocument, TokenShardWriter, writeTokenShard,
} from '../../src/data/token-shard.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-shard-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('crc32 matches the IEEE check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  // incremental == one-shot
  const a = new TextEncoder().encode('12345'), b = new TextEncoder().encode('6789');
  assert.equal(crc32(b, crc32(a)), 0xcbf43926);
});

test('round trip with uint16 ids, empty documents included', () => {
  const docs = [[1, 2, 3], [], [65535, 0], [7]];
  const p = join(dir, 'a.shard');
  const h = writeTokenShard(p, docs, 65536);
  assert.equal(h.tokenWidth, 2);
  const s = readTokenShard(p, { expectVocabSize: 65536 });
  assert.equal(s.docCount, 4);
  assert.equal(s.tokenCount, 6);
  assert.ok(s.tokens instanceof Uint16Array);
  for (let i = 0; i < docs.length; i++) assert.deepEqual([...shardDocument(s, i)], docs[i]);
  assert.deepEqual(readTokenShardHeader(p), { version: 1, vocabSize: 65536, tokenWidth: 2, docCount: 4, tokenCount: 6, payloadCrc: h.payloadCrc });
  // no temporary files left behind
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('round trip with uint32 ids (vocab > 65536) and an odd token count (padding)', () => {
  const p = join(dir, 'b.shard');
  const w = new TokenShardWriter(p, 100000);
  w.addDocument([99999, 70000, 5]);
  w.addDocument(new Uint32Array([1, 2]));
  w.close();
  const s = readTokenShard(p);
  assert.ok(s.tokens instanceof Uint32Array);
  assert.deepEqual([...shardDocument(s, 0)], [99999, 70000, 5]);
  assert.deepEqual([...shardDocument(s, 1)], [1, 2]);

  const p2 = join(dir, 'odd.shard');
  writeTokenShard(p2, [[1, 2, 3]], 10);
  assert.deepEqual([...shardDocument(readTokenShard(p2), 0)], [1, 2, 3]);
});

test('an id outside the vocabulary is refused at write time, naming document and position', () => {
  const p = join(dir, 'bad.shard');
  assert.throws(() => writeTokenShard(p, [[1, 2], [3, 10]], 10), /document 1 token 1 has id 10, outside \[0, 10\)/);
  assert.throws(() => readFileSync(p), /ENOENT/); // nothing half-written is left in place
});

test('truncated shards name the file and byte offset', () => {
  const p = join(dir, 'c.shard');
  writeTokenShard(p, [[1, 2, 3, 4, 5], [6]], 512);
  const full = readFileSync(p);
  const t1 = join(dir, 'trunc1.shard');
  writeFileSync(t1, full.subarray(0, full.length - 3));
  assert.throws(() => readTokenShard(t1), (e: Error) => /trunc1\.shard: truncated/.test(e.message) && /byte offset \d+/.test(e.message));
  assert.throws(() => readTokenShardHeader(t1), /truncated/);
  const t2 = join(dir, 'trunc2.shard');
  writeFileSync(t2, full.subarray(0, 20));
  assert.throws(() => readTokenShard(t2), /less than the 64-byte header \(at byte offset 20\)/);
});

test('wrong magic, other vocabulary, corrupt payload and corrupt header', () => {
  const p = join(dir, 'd.shard');
  writeTokenShard(p, [[1, 2, 3]], 512);
  const full = readFileSync(p);

  const m = join(dir, 'magic.shard');
  writeFileSync(m, Buffer.concat([Buffer.from('GGUF'), full.subarray(4)]));
  assert.throws(() => readTokenShard(m), /magic\.shard: not a llama-ts token shard.*byte offset 0/);

  assert.throws(() => readTokenShard(p, { expectVocabSize: 32000 }), /vocabulary size 512 differs from the model's 32000.*byte offset 12/);

  const c = join(dir, 'corrupt.shard');
  const bad = Buffer.from(full);
  bad[65] ^= 0xff;
  writeFileSync(c, bad);
  assert.throws(() => readTokenShard(c), /payload checksum mismatch/);

  const hc = join(dir, 'hdr.shard');
  const badh = Buffer.from(full);
  badh[12] = 0xff; // vocab size changed without updating the header checksum
  writeFileSync(hc, badh);
  assert.throws(() => readTokenShard(hc), /header checksum mismatch.*byte offset 36/);
});
