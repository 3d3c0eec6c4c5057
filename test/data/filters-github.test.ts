import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyLicense } from '../../src/data/filters/license.js';
import { githubStage, stripLicenseHeader, codeStats } from '../../src/data/filters/github.js';
import { readCodeTree } from '../../src/data/readers/code-tree.js';
import { exactDedupStage } from '../../src/data/dedup/exact.js';
import { runStages } from '../../src/data/pipeline.js';
import { PipelineReport } from '../../src/data/report.js';
import { CollectSink, collect, tempDir } from './helpers.js';

const MIT = 'MIT License\n\nCopyright (c) 2020 Someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\nof this software...';
const APACHE = '                                 Apache License\n                           Version 2.0, January 2004\n                        http://www.apache.org/licenses/';
const BSD3 = 'Copyright (c) 2001\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met:\n3. Neither the name of the copyright holder nor the names of its contributors may be used';
const BSD2 = 'Copyright (c) 2001\nRedistribution and use in source and binary forms, with or without modification, are permitted provided that...';
const GPL = 'GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n... Permission is hereby granted, free of charge, to any person obtaining a copy (quoted)';

test('licence classification', () => {
  assert.equal(classifyLicense(MIT), 'mit');
  assert.equal(classifyLicense(APACHE), 'apache-2.0');
  assert.equal(classifyLicense(BSD3), 'bsd-3-clause');
  assert.equal(classifyLicense(BSD2), 'bsd-2-clause');
  assert.equal(classifyLicense(GPL), 'gpl', 'copyleft wins over an MIT-like sentence');
  assert.equal(classifyLicense('GNU LESSER GENERAL PUBLIC LICENSE'), 'lgpl');
  assert.equal(classifyLicense('All rights reserved.'), 'other');
  assert.equal(classifyLicense('SPDX-License-Identifier: MIT'), 'mit');
});

test('licence header removal keeps code, shebang and non-licence comments', () => {
  assert.equal(stripLicenseHeader('/*\n * Copyright 2020 X\n * Licensed under MIT\n */\n\nint main() {}\n'), 'int main() {}\n');
  assert.equal(stripLicenseHeader('#!/usr/bin/env python\n# Copyright (c) 2020 X\n# SPDX-License-Identifier: MIT\nimport os\n'), '#!/usr/bin/env python\nimport os\n');
  assert.equal(stripLicenseHeader('// Licensed to the Apache Software Foundation\n// under the License.\npackage main\n'), 'package main\n');
  const plain = '// A helper that adds numbers.\nfunction add(a, b) { return a + b; }\n';
  assert.equal(stripLicenseHeader(plain), plain);
  assert.equal(stripLicenseHeader('"""Copyright 2019 X. Licensed under BSD."""\nx = 1\n'), 'x = 1\n');
});

test('each heuristic drops at its threshold and not below', () => {
  const s = githubStage();
  const base = { license: 'mit', path: 'src/a.py', ext: 'py' };
  const d = (text: string, meta: Record<string, unknown> = base) => ({ id: 'x', text, source: 'github', meta });
  const reason = (r: unknown) => (r && typeof r === 'object' && 'drop' in r ? (r as { drop: string }).drop : 'kept');
  const code = 'def add(a, b):\n    return a + b\n';
  assert.equal(reason(s.process(d(code))), 'kept');
  assert.equal(reason(s.process(d(code, { ...base, license: 'gpl' }))), 'license');
  assert.equal(reason(s.process(d(code, { ...base, license: 'none' }))), 'license');
  assert.equal(reason(s.process(d(code, { ...base, ext: 'png', path: 'a.png' }))), 'extension');
  assert.equal(reason(s.process(d(code, { ...base, ext: '', path: 'Dockerfile' }))), 'kept');
  const shortLines = 'y = value\n'.repeat(30);
  assert.equal(reason(s.process(d('x = "' + 'a'.repeat(994) + '"\n' + shortLines))), 'kept', 'a 1000-char line is allowed');
  assert.equal(reason(s.process(d('x = "' + 'a'.repeat(995) + '"\n' + shortLines))), 'max-line-length');
  const longish = Array.from({ length: 10 }, () => 'value = "' + 'abcdefghij'.repeat(11) + '"').join('\n');
  assert.equal(reason(s.process(d(longish))), 'avg-line-length');
  assert.equal(reason(s.process(d('0x1F, 0x2E, 0x3D;\n'.repeat(3) + '=== --- +++ *** ### @@@ !!! ???\n'.repeat(20)))), 'alnum-fraction');
  assert.equal(reason(s.process(d('1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n'.repeat(10)))), 'alpha-per-token');
  assert.equal(reason(s.process(d('/* Copyright 2020. Licensed MIT. */\n'))), 'empty');
  const st = codeStats('ab\ncd');
  assert.deepEqual([st.maxLineLength, st.avgLineLength, st.alnumFraction], [2, 2.5, 0.8]);
});

test('code trees: nearest LICENSE decides, binaries skipped, exact duplicates removed', async (t) => {
  const root = tempDir(t);
  const repo = join(root, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  mkdirSync(join(repo, 'vendor/gpl-lib'), { recursive: true });
  mkdirSync(join(repo, 'node_modules/dep'), { recursive: true });
  writeFileSync(join(repo, 'LICENSE'), MIT);
  writeFileSync(join(repo, 'src/a.js'), '// Copyright 2020 X, MIT License\nexport const add = (a, b) => a + b;\n');
  writeFileSync(join(repo, 'src/b.js'), 'export const add = (a, b) => a + b;\n');
  writeFileSync(join(repo, 'src/logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
  writeFileSync(join(repo, 'vendor/gpl-lib/COPYING'), GPL);
  writeFileSync(join(repo, 'vendor/gpl-lib/lib.c'), 'int f(void) { return 1; }\n');
  writeFileSync(join(repo, 'node_modules/dep/index.js'), 'module.exports = 1;\n');
  const sink = new CollectSink();
  const files = await collect(readCodeTree(repo, sink));
  assert.deepEqual(files.map((f) => [f.meta.path, f.meta.license]), [['src/a.js', 'mit'], ['src/b.js', 'mit'], ['vendor/gpl-lib/lib.c', 'gpl']]);
  const report = new PipelineReport();
  const kept = await collect(runStages(files, [githubStage(), exactDedupStage()], report));
  // a.js equals b.js once its licence header is removed: the second is an exact duplicate.
  assert.deepEqual(kept.map((f) => f.meta.path), ['src/a.js']);
  assert.equal(report.stages.github!.drops.license!.docs, 1);
  assert.equal(report.stages['exact-dedup']!.drops['exact-duplicate']!.docs, 1);
  assert.equal(report.stages['exact-dedup']!.drops['exact-duplicate']!.samples[0]!.detail, 'same content as repo/src/a.js');
});
