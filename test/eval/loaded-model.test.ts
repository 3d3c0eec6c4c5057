import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadedModelAdapter, tokenizePair } from '../../src/eval/loaded-model.js';
import type { GenerationResult, LoadedModel, SamplingOptions, Sequence, TextTokenizer } from '../../src/inference/types.js';
import type { LlamaConfig } from '../../src/model/config.js';

/** Character tokenizer (ids = code + 3; BOS 1) with one merge, "▁c"+"at" style: " cat" is a single token. */
const CAT = 200;
const VOCAB = 201;
const charTok: TextTokenizer = {
  vocabSize: VOCAB, bosId: 1, eosId: 2,
  encode(text, opts) {
    const ids: number[] = opts?.bos ? [1] : [];
    for (let i = 0; i < text.length; i++) {
      if (text.startsWith(' cat', i)) { ids.push(CAT); i += 3; continue; }
      ids.push((text.charCodeAt(i) % 190) + 3);
    }
    return ids;
  },
  decode: (ids) => ids.map((id) => (id === CAT ? ' cat' : id >= 3 ? String.fromCharCode(id - 3) : '')).join(''),
  idToPiece: (id) => String(id),
};

/** A bigram "transformer": log-softmax of a fixed pseudo-random logit table indexed by the previous token. */
function row(prev: number): Float32Array {
  const logits = new Float64Array(VOCAB);
  for (let v = 0; v < VOCAB; v++) logits[v] = Math.sin(prev * 12.9898 + v * 78.233) * 3;
  let m = -Infinity;
  for (const x of logits) m = Math.max(m, x);
  let s = 0;
  for (const x of logits) s += Math.exp(x - m);
  const out = new Float32Array(VOCAB);
  for (let v = 0; v < VOCAB; v++) out[v] = logits[v] - m - Math.log(s);
  return out;
}

class FakeSeq implements Sequence {
  constructor(private readonly model: FakeModel, public tokens: number[] = []) {}
  get length() { return this.tokens.length; }
  append(tokens: readonly number[], logprobs: 'none' | 'last' | 'all'): Float32Array {
    if (this.tokens.length + tokens.length > this.model.contextLength) throw new Error('context exceeded');
    this.model.appended += tokens.length;
    const rows: Float32Array[] = [];
    for (const t of tokens) { this.tokens.push(t); rows.push(row(t)); }
    if (logprobs === 'none') return new Float32Array(0);
    if (logprobs === 'last') return rows[rows.length - 1];
    const out = new Float32Array(rows.length * VOCAB);
    rows.forEach((r, i) => out.set(r, i * VOCAB));
    return out;
  }
  fork(): Sequence { this.model.forks++; return new FakeSeq(this.model, this.tokens.slice()); }
  truncate(n: number) { this.tokens.length = Math.min(this.tokens.length, n); }
  dispose() {}
}

class FakeModel implements LoadedModel {
  appended = 0;
  forks = 0;
  readonly config = { maxSeqLen: 4096, vocabSize: VOCAB } as LlamaConfig;
  readonly name = 'fake-bigram';
  constructor(readonly tokenizer: TextTokenizer | null = charTok, readonly contextLength = 4096) {}
  newSequence(): Sequence { return new FakeSeq(this); }
  async generate(promptIds: readonly number[], opts: SamplingOptions): Promise<GenerationResult> {
    let prev = promptIds[promptIds.length - 1];
    const toks: number[] = [];
    for (let i = 0; i < (opts.maxTokens ?? 1); i++) {
      const r = row(prev);
      let best = 3;
      for (let v = 3; v < VOCAB; v++) if (r[v] > r[best]) best = v;
      toks.push(best); prev = best;
    }
    return { text: charTok.decode(toks), tokens: toks, finishReason: 'length', promptTokens: promptIds.length };
  }
  dispose() {}
}

/** Independent reference: sum of row(prev)[tok] over the continuation tokens after the context tokens. */
function reference(ctx: number[], cont: number[]): number {
  const all = [...ctx, ...cont];
  let lp = 0;
  for (let i = ctx.length; i < all.length; i++) lp += row(all[i - 1])[all[i]];
  return lp;
}

test('tokenization follows lm-evaluation-harness: whitespace moves, continuation = whole[len(context):]', () => {
  const p = tokenizePair(charTok, { context: 'the ', continuation: 'cat' });
  assert.deepEqual(p.contextIds, charTok.encode('the', { bos: true }));
  assert.deepEqual(p.continuationIds, [CAT], '" cat" is one token once the space moved');
});

test('scores equal the reference, with and without context sharing; sharing prefills each context once', async () => {
  const reqs = [
    { context: 'Question: x\nAnswer:', continuation: ' cat' }, { context: 'Question: x\nAnswer:', continuation: ' dog food' },
    { context: 'Question: x\nAnswer:', continuation: ' a' }, { context: 'other', continuation: ' thing' },
  ];
  const shared = new FakeModel();
  const plain = new FakeModel();
  const a = await new LoadedModelAdapter(shared).loglikelihood(reqs);
  const b = await new LoadedModelAdapter(plain, { shareContext: false }).loglikelihood(reqs);
  reqs.forEach((r, i) => {
    const p = tokenizePair(charTok, r);
    const ref = reference(p.contextIds, p.continuationIds);
    assert.ok(Math.abs(a[i].logprob - ref) < 1e-4, `shared ${i}: ${a[i].logprob} vs ${ref}`);
    assert.equal(a[i].logprob, b[i].logprob);
    assert.equal(a[i].greedy, b[i].greedy);
  });
  const ctxLen = charTok.encode('Question: x\nAnswer:', { bos: true }).length;
  assert.equal(plain.appended - shared.appended, 2 * ctxLen, 'two fewer prefills of the shared context');
  assert.equal(shared.forks, 2, 'three continuations of one context: two forks, the last reuses the base');
});

test('greedy flag: a continuation made of argmax tokens is greedy', async () => {
  const m = new FakeModel();
  const ctx = charTok.encode('ab', { bos: true });
  const gen = await m.generate(ctx, { maxTokens: 3 });
  const [r] = await new LoadedModelAdapter(m).loglikelihood([{ context: 'ab', continuation: gen.text }]);
  // Re-tokenizing the decoded text may differ from the generated ids only through the " cat" merge.
  if (tokenizePair(charTok, { context: 'ab', continuation: gen.text }).continuationIds.join() === gen.tokens.join()) assert.equal(r.greedy, true);
  const [s] = await new LoadedModelAdapter(m).loglikelihood([{ context: 'ab', continuation: 'zzzz' }]);
  assert.equal(s.greedy, false);
});

test('contexts longer than the window lose tokens from the left; a model without tokenizer is refused', async () => {
  const m = new FakeModel(charTok, 16);
  const [r] = await new LoadedModelAdapter(m).loglikelihood([{ context: 'x'.repeat(40), continuation: ' yz' }]);
  assert.ok(Number.isFinite(r.logprob));
  assert.throws(() => new LoadedModelAdapter(new FakeModel(null)), /has no tokenizer/);
  assert.deepEqual(await new LoadedModelAdapter(m).generate([{ prompt: 'y'.repeat(40), until: [], maxTokens: 2 }]), [(await m.generate(charTok.encode('y'.repeat(40), { bos: true }).slice(-14), { maxTokens: 2 })).text]);
});
