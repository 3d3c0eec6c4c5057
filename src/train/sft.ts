/**
 * Instruction-finetuning data (LLaMA-I, PAPER.md §8): JSON lines, each either
 *   {"prompt": "...", "response": "..."}                       (optional "system")
 *   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
 * rendered with the project's chat template (src/tokenizer/chat-template.ts, Llama-2's
 * "<s>[INST] {user} [/INST] {assistant} </s>") and trained with the loss masked to the response:
 * the target of a position is -1 unless the token it predicts belongs to an assistant reply (or the
 * EOS that ends it), so the model learns to answer, not to write prompts.
 *
 * One conversation per row: tokens [0, T) and targets [1, T+1) of its ids, padded with EOS and
 * target -1; longer conversations are cut at T+1 tokens (counted in `truncated`). Rows are read in a
 * shuffled order fixed per (seed, epoch), so the position is two integers.
 */
import { readFileSync } from 'node:fs';
import { encodeChat, type ChatMessage, type ChatTokenizer } from '../tokenizer/chat-template.js';
import type { BatchSource } from './batch-source.js';
import { hashUniform } from './mixture.js';

export interface SftExample { ids: Int32Array; mask: Uint8Array; source: string }

const ROLES = new Set(['system', 'user', 'assistant']);

/** Parses one JSONL record into chat messages; `where` is "file:line" for errors. */
export function recordToMessages(rec: unknown, where: string): ChatMessage[] {
  if (!rec || typeof rec !== 'object' || Array.isArray(rec)) throw new Error(`${where}: expected a JSON object with "prompt"/"response" or "messages"`);
  const r = rec as Record<string, unknown>;
  if (Array.isArray(r.messages)) {
    return r.messages.map((m, i) => {
      const mm = m as Record<string, unknown>;
      if (!mm || typeof mm.role !== 'string' || !ROLES.has(mm.role) || typeof mm.content !== 'string') {
        throw new Error(`${where}: messages[${i}] must be {"role": "system"|"user"|"assistant", "content": string}, got ${JSON.stringify(m)}`);
      }
      return { role: mm.role as ChatMessage['role'], content: mm.content };
    });
  }
  if (typeof r.prompt === 'string' && typeof r.response === 'string') {
    const msgs: ChatMessage[] = [];
    if (typeof r.system === 'string') msgs.push({ role: 'system', content: r.system });
    msgs.push({ role: 'user', content: r.prompt }, { role: 'assistant', content: r.response });
    return msgs;
  }
  const missing = 'messages' in r ? '"messages" must be an array' : `missing field ${typeof r.prompt !== 'string' ? '"prompt"' : '"response"'} (string)`;
  throw new Error(`${where}: ${missing}; each line needs {"prompt", "response"} or {"messages": [...]}`);
}

/** Reads and tokenizes a JSONL file of instruction examples. */
export function loadSftFile(path: string, tok: ChatTokenizer): SftExample[] {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new Error(`instruction data ${path}: ${(e as Error).message}`); }
  const out: SftExample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const where = `${path}:${i + 1}`;
    let rec: unknown;
    try { rec = JSON.parse(line); } catch (e) { throw new Error(`${where}: not valid JSON (${(e as Error).message})`); }
    let enc;
    try { enc = encodeChat(tok, recordToMessages(rec, where), false); } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.startsWith(where) ? msg : `${where}: ${msg}`);
    }
    out.push({ ids: Int32Array.from(enc.ids), mask: enc.responseMask, source: where });
  }
  if (!out.length) throw new Error(`instruction data ${path}: no examples (expected JSON lines)`);
  return out;
}

export class SftLoader implements BatchSource {
  private epoch = 0;
  private index = 0;
  private order: Uint32Array | null = null;
  private orderEpoch = -1;
  truncated = 0;

  constructor(readonly examples: readonly SftExample[], readonly seqLen: number, readonly seed: number, readonly padId: number) {
    if (!examples.length) throw new Error('instruction finetuning needs at least one example');
    for (const ex of examples) {
      if (!ex.mask.some((m, j) => m === 1 && j > 0 && j <= seqLen)) {
        throw new Error(`${ex.source}: no response token falls within the first ${seqLen} tokens (the prompt is too long for --seq-len ${seqLen})`);
      }
    }
  }

  private perm(epoch: number): Uint32Array {
    if (this.order && this.orderEpoch === epoch) return this.order;
    const n = this.examples.length;
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(hashUniform(this.seed, 2, epoch, i) * (i + 1));
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    this.order = p;
    this.orderEpoch = epoch;
    return p;
  }

  nextBatch(B: number, tokens: Int32Array, targets: Int32Array): void {
    const T = this.seqLen;
    for (let b = 0; b < B; b++) {
      const ex = this.examples[this.perm(this.epoch)[this.index]];
      if (ex.ids.length > T + 1) this.truncated++;
      for (let t = 0; t < T; t++) {
        const inRange = t < ex.ids.length;
        tokens[b * T + t] = inRange ? ex.ids[t] : this.padId;
        targets[b * T + t] = t + 1 < ex.ids.length && ex.mask[t + 1] === 1 ? ex.ids[t + 1] : -1;
      }
      if (++this.index >= this.examples.length) { this.index = 0; this.epoch++; }
    }
  }

  get position(): { epoch: number; index: number } { return { epoch: this.epoch, index: this.index }; }
  set position(p: unknown) {
    const q = p as { epoch?: unknown; index?: unknown };
    if (!q || !Number.isInteger(q.epoch) || !Number.isInteger(q.index) || (q.index as number) < 0 || (q.index as number) >= this.examples.length) {
      throw new Error(`instruction-data position ${JSON.stringify(p)} does not fit ${this.examples.length} examples: was the data file changed?`);
    }
    this.epoch = q.epoch as number;
    this.index = q.index as number;
  }

  describe(): Record<string, unknown> {
    return { examples: this.examples.length, epoch: this.epoch + this.index / this.examples.length, truncated: this.truncated };
  }
}
