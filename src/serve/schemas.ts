/**
 * Request bodies of the OpenAI API as we accept them. Unknown fields are rejected (a typo such
 * as `max_token` would otherwise be silently ignored); fields we accept but cannot honour
 * (n > 1, penalties) are rejected with a message rather than ignored.
 */
import { z } from 'zod';

const stop = z.union([z.string(), z.array(z.string()).max(8)]).nullish();
const common = {
  model: z.string().optional(),
  max_tokens: z.number().int().min(0).nullish(),
  max_completion_tokens: z.number().int().min(0).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  seed: z.number().int().nullish(),
  stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullish(),
  n: z.literal(1).nullish(),
  presence_penalty: z.literal(0).nullish(),
  frequency_penalty: z.literal(0).nullish(),
  user: z.string().nullish(),
};

export const CompletionRequest = z
  .object({
    ...common,
    prompt: z.union([
      z.string(),
      z.array(z.number().int().min(0)).min(1),
      z.array(z.string()).min(1).max(64),
      z.array(z.array(z.number().int().min(0)).min(1)).min(1).max(64),
    ]),
    echo: z.boolean().nullish(),
    logprobs: z.number().int().min(0).max(20).nullish(),
    suffix: z.null().optional(),
  })
  .strict();
export type CompletionRequest = z.infer<typeof CompletionRequest>;

const Message = z
  .object({
    role: z.enum(['system', 'user', 'assistant']),
    content: z.union([
      z.string(),
      z.array(z.object({ type: z.literal('text'), text: z.string() }).strict()),
    ]),
    name: z.string().optional(),
  })
  .strict();

export const ChatRequest = z
  .object({
    ...common,
    messages: z.array(Message).min(1),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
  })
  .strict();
export type ChatRequest = z.infer<typeof ChatRequest>;
export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export function messageText(m: z.infer<typeof Message>): string {
  return typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
}

/** zod issues → one readable message naming the field. */
export function describeIssues(err: z.ZodError): { message: string; param: string | null } {
  const first = err.issues[0];
  const path = first?.path.join('.') || null;
  const msgs = err.issues.slice(0, 3).map((i) => {
    const where = i.path.length ? `'${i.path.join('.')}'` : 'body';
    if (i.code === 'unrecognized_keys') return `unknown field(s) ${i.keys.map((k) => `'${k}'`).join(', ')} in ${where}`;
    return `${where}: ${i.message}`;
  });
  return { message: `invalid request: ${msgs.join('; ')}`, param: path };
}
