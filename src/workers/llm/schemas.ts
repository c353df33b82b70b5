/**
 * zod schemas of the OpenAI request bodies the LLM worker accepts. Unknown fields are ignored
 * (clients send many optional ones), known fields with the wrong type are a 400 naming the field.
 */
import { z } from 'zod';
import { HttpError } from '../../lib/http.js';

const stop = z.union([z.string(), z.array(z.string()).max(16)], { error: 'stop: must be a string or an array of up to 16 strings' }).nullish();

/** Sampling and length fields shared by chat and text completions. */
const sampling = {
  model: z.string().nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  /** Newer OpenAI name for max_tokens in chat. */
  max_completion_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  /** llama-server extensions. */
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repeat_penalty: z.number().min(0).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  seed: z.number().int().nullish(),
  stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1, { error: 'n: only n=1 is supported' }).nullish(),
};

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const messageContent = z.union([z.string(), z.array(textPart)], { error: 'content: must be a string or an array of text parts' }).nullish();

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: messageContent,
});

export const chatRequestSchema = z.object({
  ...sampling,
  messages: z.array(chatMessageSchema).min(1, 'messages: at least one message is required'),
});

export const completionRequestSchema = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'prompt: send one prompt per request')], {
    error: 'prompt: must be a string (or an array holding one string)',
  }),
});

export const embeddingRequestSchema = z.object({
  model: z.string().nullish(),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int().min(0)).min(1),
    z.array(z.array(z.number().int().min(0)).min(1)).min(1),
  ], { error: 'input: must be a string, an array of strings, an array of token ids or an array of token-id arrays' }),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Validates a parsed JSON body; failures are a 400 naming the first bad field. */
export function validate<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'Request body must be a JSON object.', 'invalid_request_error', 'invalid_body');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue.path.length ? issue.path.join('.') : null;
  const message = param && !issue.message.startsWith(`${param}:`) ? `${param}: ${issue.message}` : issue.message;
  throw new HttpError(400, `Invalid request: ${message}`, 'invalid_request_error', 'invalid_value', param);
}

/** Message text, joining text parts. */
export function messageText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('');
}
