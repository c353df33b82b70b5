/**
 * zod schemas of the OpenAI request bodies the LLM worker accepts. Nothing is dropped silently:
 * every field is honoured, accepted and ignored on purpose (listed in docs/api-fields.md, marked
 * "ignored" below), or refused with a 400 naming it. An unknown field is a 400 `Unknown field "x"`.
 * Known fields with the wrong type are a 400 naming the field.
 */
import { z } from 'zod';
import { HttpError } from '../../lib/http.js';

const stop = z.union([z.string(), z.array(z.string()).max(16)], { error: 'stop: must be a string or an array of up to 16 strings' }).nullish();

/** A field refused by name: any value other than null is a 400 with `message`. */
const refused = (message: string) => z.null({ error: message }).optional();

/** Fields of both endpoints that describe the caller: accepted and ignored (nothing here uses them). */
const ignoredCallerFields = {
  /** ignored: end-user id for abuse tracking. */
  user: z.string().nullish(),
  /** ignored: OpenAI's replacement for `user`. */
  safety_identifier: z.string().nullish(),
  /** ignored: each slot reuses its KV cache for a shared prompt prefix anyway. */
  prompt_cache_key: z.string().nullish(),
  /** ignored: stored-completion tags (nothing is stored). */
  metadata: z.record(z.string(), z.string()).nullish(),
  /** ignored: there is one tier. */
  service_tier: z.string().nullish(),
};

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
  stream_options: z
    .strictObject({
      include_usage: z.boolean().nullish(),
      /** ignored: the worker never pads stream events. */
      include_obfuscation: z.boolean().nullish(),
    })
    .nullish(),
  n: z.literal(1, { error: 'n: only n=1 is supported' }).nullish(),
  logit_bias: refused('logit_bias: token biases are not supported by the embedded LLM worker. Fix: remove logit_bias.'),
  ...ignoredCallerFields,
};

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const messageContent = z.union([z.string(), z.array(textPart)], { error: 'content: must be a string or an array of text parts' }).nullish();

const toolCall = z.strictObject({
  id: z.string().min(1),
  type: z.literal('function', { error: 'type: only "function" tool calls are supported' }),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});

const messageName = { /** ignored: participant names are not part of the prompt. */ name: z.string().nullish() };

export const chatMessageSchema = z.discriminatedUnion(
  'role',
  [
    z.strictObject({ role: z.literal('system'), content: messageContent, ...messageName }),
    z.strictObject({ role: z.literal('developer'), content: messageContent, ...messageName }),
    z.strictObject({ role: z.literal('user'), content: messageContent, ...messageName }),
    z.strictObject({
      role: z.literal('assistant'),
      content: messageContent,
      ...messageName,
      tool_calls: z.array(toolCall).nullish(),
      /** ignored: a refusal text the client echoes back. */
      refusal: z.string().nullish(),
      /** ignored: reasoning text (llama-server's field) echoed back; reasoning is not replayed. */
      reasoning_content: z.string().nullish(),
      /** ignored: citations (OpenAI's web search) echoed back with the message. */
      annotations: z.array(z.unknown()).nullish(),
      function_call: refused('function_call: the deprecated function_call is not supported. Fix: use tool_calls.'),
      audio: refused('audio: audio output is not supported by the embedded LLM worker.'),
    }),
    z.strictObject({ role: z.literal('tool'), content: messageContent, tool_call_id: z.string({ error: 'tool_call_id: a tool message must name the tool call it answers' }).min(1) }),
  ],
  { error: 'role: must be system, developer, user, assistant or tool' },
);

const functionTool = z.strictObject({
  type: z.literal('function', { error: 'type: only "function" tools are supported by the embedded LLM worker' }),
  function: z.strictObject({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'name: must be 1-64 letters, digits, underscores or dashes'),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown(), { error: 'parameters: must be a JSON Schema object' }).nullish(),
    /** Honoured whatever its value: the arguments always follow the schema (grammar + validation). */
    strict: z.boolean().nullish(),
  }),
});

export const toolChoiceSchema = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string().min(1) }) }),
  ],
  { error: 'tool_choice: must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}' },
);

export const responseFormatSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('text') }),
    z.strictObject({ type: z.literal('json_object') }),
    z.strictObject({
      type: z.literal('json_schema'),
      json_schema: z.strictObject({
        name: z.string().min(1),
        description: z.string().nullish(),
        schema: z.record(z.string(), z.unknown(), { error: 'schema: must be a JSON Schema object' }).nullish(),
        /** Honoured whatever its value: the output always follows the schema (grammar + validation). */
        strict: z.boolean().nullish(),
      }),
    }),
  ],
  { error: 'response_format: type must be "text", "json_object" or "json_schema"' },
);

export const chatRequestSchema = z.strictObject({
  ...sampling,
  messages: z.array(chatMessageSchema).min(1, 'messages: at least one message is required'),
  tools: z.array(functionTool).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  /** Honoured: at most one call per answer, which `true` (may call several) permits. */
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema.nullish(),
  logprobs: z.literal(false, { error: 'logprobs: token log probabilities are not available from the embedded LLM worker. Fix: remove logprobs (or set it to false).' }).nullish(),
  top_logprobs: refused('top_logprobs: token log probabilities are not available from the embedded LLM worker. Fix: remove top_logprobs.'),
  /** Only `false` (the default): nothing is stored. */
  store: z.literal(false, { error: 'store: the embedded LLM worker stores no completions. Fix: remove store (or set it to false).' }).nullish(),
  modalities: z.array(z.literal('text', { error: 'modalities: the embedded LLM worker answers with text only. Fix: send ["text"] or leave modalities out.' })).nullish(),
  /** ignored: the effort of reasoning models is fixed by their chat template. */
  reasoning_effort: z.string().nullish(),
  /** ignored: the length of the answer is bounded by max_tokens only. */
  verbosity: z.string().nullish(),
  /** ignored: a latency optimisation that does not change the answer. */
  prediction: z.strictObject({ type: z.literal('content'), content: z.union([z.string(), z.array(textPart)]) }).nullish(),
  audio: refused('audio: audio output is not supported by the embedded LLM worker. Fix: use the TTS worker (/v1/audio/speech).'),
  functions: refused('functions: the deprecated functions field is not supported. Fix: use tools.'),
  function_call: refused('function_call: the deprecated function_call field is not supported. Fix: use tool_choice.'),
  web_search_options: refused('web_search_options: web search is not available in the embedded LLM worker. Fix: remove web_search_options.'),
});

export const completionRequestSchema = z.strictObject({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1, 'prompt: send one prompt per request')], {
    error: 'prompt: must be a string (or an array holding one string)',
  }),
  echo: z.literal(false, { error: 'echo: echoing the prompt is not supported. Fix: remove echo (or set it to false).' }).nullish(),
  best_of: z.literal(1, { error: 'best_of: only best_of=1 is supported' }).nullish(),
  logprobs: refused('logprobs: token log probabilities are not available from the embedded LLM worker. Fix: remove logprobs.'),
  suffix: refused('suffix: insertion (a suffix after the completion) is not supported. Fix: remove suffix.'),
});

export const embeddingRequestSchema = z.strictObject({
  model: z.string().nullish(),
  input: z.union([
    z.string(),
    z.array(z.string()).min(1),
    z.array(z.number().int().min(0)).min(1),
    z.array(z.array(z.number().int().min(0)).min(1)).min(1),
  ], { error: 'input: must be a string, an array of strings, an array of token ids or an array of token-id arrays' }),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  /** ignored: end-user id for abuse tracking. */
  user: z.string().nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Validates a parsed JSON body; failures are a 400 naming the first bad (or unknown) field. */
export function validate<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'Request body must be a JSON object.', 'invalid_request_error', 'invalid_body');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  if (issue.code === 'unrecognized_keys') {
    const param = [...issue.path, issue.keys[0]].join('.');
    throw new HttpError(
      400,
      `Unknown field "${param}": the embedded LLM worker neither uses nor ignores it. Fix: remove it (docs/api-fields.md lists every accepted field).`,
      'invalid_request_error',
      'unknown_field',
      param,
    );
  }
  const param = issue.path.length ? issue.path.join('.') : null;
  const bare = param?.split('.').at(-1);
  let message = issue.message;
  if (param && bare && message.startsWith(`${bare}:`)) message = `${param}:${message.slice(bare.length + 1)}`;
  else if (param && !message.startsWith(`${param}:`)) message = `${param}: ${message}`;
  throw new HttpError(400, `Invalid request: ${message}`, 'invalid_request_error', 'invalid_value', param);
}

/** Message text, joining text parts. */
export function messageText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('');
}
