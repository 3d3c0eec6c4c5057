/**
 * The architecture of DESIGN.md, enforced: every folder of src/ imports only from folders on a
 * lower floor (or its own), so data flows one way. A new import that breaks this fails here.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const FLOOR: Record<string, number> = {
  util: 0, kernels: 1, tokenizer: 1, model: 2, data: 2, formats: 3, train: 4, inference: 4, eval: 5, serve: 5, cli: 6, web: 6,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'asm' ? [] : files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

it('src/ folders import only from lower floors', () => {
  const violations: string[] = [];
  for (const file of files('src')) {
    const from = relative('src', file).split('/')[0]!;
    if (!(from in FLOOR)) { if (from !== 'index.ts') violations.push(`${file}: folder '${from}' has no floor in this test`); continue; }
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      const target = relative('src', resolve(dirname(file), spec)).split('/')[0]!;
      if (target === from || !(target in FLOOR)) continue;
      if (FLOOR[target]! >= FLOOR[from]!) violations.push(`${file} imports ${spec} (${from}: floor ${FLOOR[from]} -> ${target}: floor ${FLOOR[target]})`);
    }
  }
  assert.deepEqual(violations, []);
});
