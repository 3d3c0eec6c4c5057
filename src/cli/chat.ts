/**
 * `llama-ts chat --model PATH`: a conversation on stdin/stdout. Each input line is a user message;
 * the reply streams back. Works interactively (a "> " prompt) and with piped stdin (one reply per
 * line, then exit). The template is Llama-2's (src/tokenizer/chat-template.ts):
 *   <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {reply} </s><s>[INST] {user} [/INST]
 * The KV cache is kept between turns: only the tokens after the common prefix are computed.
 * Commands: /reset (forget the conversation), /exit.
 */
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { encodeChat, type ChatMessage } from '../tokenizer/chat-template.js';
import { loadModelFromArgs, MODEL_HELP, MODEL_OPTIONS, SAMPLING_HELP, SAMPLING_OPTIONS, samplingFromArgs } from '../inference/cli-options.js';

export const description = 'chat with a model on stdin/stdout (Llama-2 [INST] template)';

const HELP = `usage: llama-ts chat --model PATH [options]     (one user message per line; /reset, /exit)
${MODEL_HELP}
  --system TEXT        a system prompt
${SAMPLING_HELP}`;

export async function run(args: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: { ...MODEL_OPTIONS, ...SAMPLING_OPTIONS, system: { type: 'string' } },
  });
  if (v.help) { console.log(HELP); return 0; }
  const sampling = samplingFromArgs(v);
  const model = await loadModelFromArgs(v);
  const tok = model.tokenizer;
  if (!tok) throw new Error(`${v.model}: the model has no tokenizer; chat needs one`);
  const interactive = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive });
  const system: ChatMessage[] = v.system ? [{ role: 'system', content: v.system }] : [];
  let history: ChatMessage[] = [];
  let seq = model.newSequence();
  let cached: number[] = []; // tokens in seq's cache
  let turn = 0;
  const prompt = () => { if (interactive) process.stdout.write('> '); };
  prompt();
  try {
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '') { prompt(); continue; }
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') { history = []; seq.truncate(0); cached = []; process.stderr.write('(conversation cleared)\n'); prompt(); continue; }
      history.push({ role: 'user', content: line });
      let ids = encodeChat(tok, [...system, ...history], true).ids;
      // drop the oldest exchanges while the conversation and a full reply do not fit the context
      while (ids.length + (sampling.maxTokens ?? 256) > model.contextLength && history.length > 1) {
        history = history.slice(2);
        ids = encodeChat(tok, [...system, ...history], true).ids;
      }
      if (ids.length >= model.contextLength) {
        process.stderr.write(`error: this message alone needs ${ids.length} tokens; the context holds ${model.contextLength}\n`);
        history.pop();
        prompt();
        continue;
      }
      let common = 0;
      while (common < cached.length && common < ids.length - 1 && cached[common] === ids[common]) common++;
      seq.truncate(common);
      cached = cached.slice(0, common);
      const res = await model.continueSequence(seq, ids.slice(common), { ...sampling, seed: (sampling.seed ?? 0) + turn++ },
        (t) => { if (t.text) process.stdout.write(t.text); });
      process.stdout.write('\n');
      cached = [...ids, ...res.tokens].slice(0, seq.length);
      history.push({ role: 'assistant', content: res.text.trim() });
      if (res.finishReason === 'context') process.stderr.write('(the reply reached the end of the context)\n');
      prompt();
    }
  } finally {
    rl.close();
    seq.dispose();
    model.dispose();
    model.backend.dispose();
  }
  return 0;
}
