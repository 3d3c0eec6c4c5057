/**
 * The C4 stage against an independent Python implementation of the same rules
 * (scripts/fixtures/data/c4_reference.py → fixtures/data/c4-expected.jsonl), on 141 pages of
 * WikiText-2, Tiny Shakespeare and edge cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { c4Stage } from '../../src/data/filters/c4.js';
import { FIXTURES } from './helpers.js';

interface Page { id: string; text: string }
interface Verdict { id: string; text?: string; drop?: string }

const read = <T>(f: string): T[] => readFileSync(join(FIXTURES, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

test('C4 stage agrees with the Python reference on every page', async () => {
  const pages = read<Page>('c4-pages.jsonl');
  const expected = new Map(read<Verdict>('c4-expected.jsonl').map((v) => [v.id, v]));
  assert.equal(pages.length, 141);
  const stage = c4Stage();
  let kept = 0;
  for (const p of pages) {
    const want = expected.get(p.id)!;
    const got = await stage.process({ id: p.id, text: p.text, source: 'c4', meta: {} });
    if (want.drop) assert.equal(got && 'drop' in got ? got.drop : 'kept', want.drop, p.id);
    else {
      assert.ok(got && !('drop' in got), `${p.id}: ${JSON.stringify(got)}`);
      assert.equal(got.text, want.text, p.id);
      kept++;
    }
  }
  assert.ok(kept > 100);
});
