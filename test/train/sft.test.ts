import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSftFile, SftLoader } from '../../src/train/sft.js';
import type { ChatTokenizer } from '../../src/tokenizer/chat-template.js';

const dir = mkdtempSync(join(tmpdir(), 'llama-ts-sft-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// A byte-level tokenizer (ids = byte + 3; 1 = BOS, 2 = EOS): enough to check the masking rules.
const tok: ChatTokenizer = {
  bosId: 1,
  eosId: 2,
  encode(text, opts) {
    const ids = [...new TextEncoder().encode(text)].map((b) => b + 3);
    return [...(opts?.bos ? [1] : []), ...ids, ...(opts?.eos ? [2] : [])];
  },
};
const dec = (ids: number[]) => new TextDecoder().decode(Uint8Array.from(ids.filter((i) => i > 2).map((i) => i - 3)));

test('prompt/response and messages records; the loss is masked to the response and its EOS', () => {
  const p = join(dir, 'a.jsonl');
  writeFileSync(p, [
    JSON.stringify({ prompt: 'Hi?', response: 'Yo.' }),
    '',
    JSON.stringify({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: 'A1' }, { role: 'user', content: 'Q2' }, { role: 'assistant', content: 'A2' }] }),
  ].join('\n'));
  const ex = loadSftFile(p, tok);
  assert.equal(ex.length, 2);
  assert.equal(dec([...ex[0].ids]), '[INST] Hi? [/INST]Yo. ');
  const T = 64;
  const l = new SftLoader([ex[0]], T, 1, 2);
  const tokens = new Int32Array(T), targets = new Int32Array(T);
  l.nextBatch(1, tokens, targets);
  const ids = [...ex[0].ids];
  const trained = [...targets].filter((t) => t >= 0);
  assert.equal(dec(trained), 'Yo. ');
  assert.equal(trained[trained.length - 1], 2, 'the EOS that ends the reply is a target');
  // every target is the next input token; padding is EOS with target -1
  for (let t = 0; t + 1 < ids.length; t++) { assert.equal(tokens[t], ids[t]); if (targets[t] >= 0) assert.equal(targets[t], ids[t + 1]); }
  for (let t = ids.length; t < T; t++) { assert.equal(tokens[t], 2); assert.equal(targets[t], -1); }

  const l2 = new SftLoader([ex[1]], T * 2, 1, 2);
  const tk = new Int32Array(T * 2), tg = new Int32Array(T * 2);
  l2.nextBatch(1, tk, tg);
  assert.equal(dec([...tg].filter((t) => t >= 0)), 'A1 A2 ');
});

test('bad records name the file and line', () => {
  const p = join(dir, 'bad.jsonl');
  writeFileSync(p, JSON.stringify({ prompt: 'x', response: 'y' }) + '\n{"prompt": "x"}\n');
  assert.throws(() => loadSftFile(p, tok), /bad\.jsonl:2: missing field "response"/);
  writeFileSync(p, '{"prompt": "x", "response": "y"}\n{oops\n');
  assert.throws(() => loadSftFile(p, tok), /bad\.jsonl:2: not valid JSON/);
  writeFileSync(p, JSON.stringify({ messages: [{ role: 'user', content: 'a' }, { role: 'bot', content: 'b' }] }) + '\n');
  assert.throws(() => loadSftFile(p, tok), /bad\.jsonl:1: messages\[1\] must be/);
  writeFileSync(p, JSON.stringify({ messages: [{ role: 'user', content: 'a' }] }) + '\n');
  assert.throws(() => loadSftFile(p, tok), /bad\.jsonl:1: .*must end with an assistant message/);
  writeFileSync(p, '\n\n');
  assert.throws(() => loadSftFile(p, tok), /no examples/);
});

test('order is shuffled per epoch, deterministic, and the position restores; too-long prompts are refused', () => {
  const p = join(dir, 'many.jsonl');
  writeFileSync(p, Array.from({ length: 10 }, (_, i) => JSON.stringify({ prompt: `q${i}`, response: `a${i}` })).join('\n'));
  const ex = loadSftFile(p, tok);
  const run = (l: SftLoader, n: number) => { const a = new Int32Array(32 * 3), b = new Int32Array(32 * 3); const out: number[][] = []; for (let i = 0; i < n; i++) { l.nextBatch(3, a, b); out.push([...a]); } return out; };
  const l1 = new SftLoader(ex, 32, 5, 2);
  run(l1, 4);
  const pos = JSON.parse(JSON.stringify(l1.position));
  const rest = run(l1, 5);
  const l2 = new SftLoader(ex, 32, 5, 2);
  l2.position = pos;
  assert.deepEqual(run(l2, 5), rest);
  assert.throws(() => { l2.position = { epoch: 0, index: 10 }; }, /does not fit 10 examples/);
  assert.throws(() => new SftLoader(ex, 8, 1, 2), /no response token falls within the first 8 tokens/);
});
