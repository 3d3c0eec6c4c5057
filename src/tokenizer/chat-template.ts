/**
 * The chat template used for instruction finetuning (LLaMA-I, PAPER.md §8), `llama-ts chat` and
 * the server's /v1/chat/completions: Llama-2's [INST] format, the one LLaMA-family chat models
 * and their users know.
 *
 *   <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST]
 *
 * <s> and </s> are the BOS/EOS control ids, never text (a literal "<s>" typed by a user stays text).
 * A system message is folded into the first user turn. Every assistant turn ends with EOS, so a
 * finetuned model learns to stop; the loss mask marks exactly the assistant tokens and that EOS.
 */

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface ChatTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  encode(text: string, opts?: { bos?: boolean; eos?: boolean }): number[];
}

export interface EncodedChat {
  ids: number[];
  /** 1 where the token is part of an assistant reply (or its EOS): the finetuning targets. */
  responseMask: Uint8Array;
}

export const B_INST = '[INST]';
export const E_INST = '[/INST]';
const B_SYS = '<<SYS>>\n';
const E_SYS = '\n<</SYS>>\n\n';

/** Checks the message order: optional system first, then user/assistant alternating from user. */
function turns(messages: readonly ChatMessage[]): { user: string; assistant: string | null }[] {
  if (!messages.length) throw new Error('chat: no messages');
  let system: string | null = null;
  let rest = messages;
  if (messages[0]!.role === 'system') {
    system = messages[0]!.content;
    rest = messages.slice(1);
  }
  const out: { user: string; assistant: string | null }[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const u = rest[i]!;
    const a = rest[i + 1];
    if (u.role !== 'user') throw new Error(`chat: message ${i + (system === null ? 0 : 1)} has role '${u.role}' where a 'user' message was expected (after an optional system message, roles must alternate user/assistant)`);
    if (a && a.role !== 'assistant') throw new Error(`chat: message ${i + 1 + (system === null ? 0 : 1)} has role '${a.role}' where an 'assistant' message was expected`);
    const user = out.length === 0 && system !== null ? `${B_SYS}${system}${E_SYS}${u.content}` : u.content;
    out.push({ user, assistant: a ? a.content : null });
  }
  return out;
}

/**
 * Tokenizes a conversation. With `generationPrompt` the last message must be the user's and the
 * result ends with "[/INST]", ready for the model to answer; otherwise (training data) the last
 * message must be the assistant's.
 */
export function encodeChat(tok: ChatTokenizer, messages: readonly ChatMessage[], generationPrompt: boolean): EncodedChat {
  const ts = turns(messages);
  const last = ts[ts.length - 1]!;
  if (generationPrompt && last.assistant !== null) throw new Error('chat: the last message must be from the user to generate a reply');
  if (!generationPrompt && last.assistant === null) throw new Error('chat: a training conversation must end with an assistant message');
  const ids: number[] = [];
  const mask: number[] = [];
  for (const t of ts) {
    const prompt = tok.encode(`${B_INST} ${t.user.trim()} ${E_INST}`, { bos: true });
    ids.push(...prompt);
    mask.push(...prompt.map(() => 0));
    if (t.assistant !== null) {
      // SentencePiece's dummy prefix supplies the space after [/INST], as in Meta's joint encoding
      const reply = tok.encode(`${t.assistant.trim()} `, { eos: true });
      ids.push(...reply);
      mask.push(...reply.map(() => 1));
    }
  }
  return { ids, responseMask: Uint8Array.from(mask) };
}
