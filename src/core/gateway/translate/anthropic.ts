/**
 * Anthropic's Messages API (`POST /v1/messages`) translated onto chat completions: the request
 * mapper (system, text / tool_use / tool_result blocks, tools, tool_choice, stop_sequences,
 * output_config.format) and the stream translator from chat chunks to Anthropic's events
 * (message_start, content_block_*, message_delta, message_stop) and its final message. Images,
 * documents, thinking and server tools are refused by name. See docs/api-fields.md.
 */
import { z } from 'zod';
import type { ApiErrorInfo, ApiEvent, ApiTranslation, StreamTranslator, TranslateEnv, Translated } from './api.js';
import { finishOf, type ChatChunk, type ChatMessage, type ChatRequest, type ChatText, type ChatTool, type ChatToolChoice, type Finish } from './chat.js';
import { badField, check, isObject, jsonSchemaObject } from './fields.js';

const WHAT = 'a Messages API request';

/** Prompt-caching breakpoints: a hint to Anthropic's servers, accepted and ignored here. */
const cacheControl = z.unknown().optional();

const requestSchema = z.strictObject({
  model: z.string().min(1),
  max_tokens: z.number().int().min(1),
  messages: z.array(z.unknown()).min(1),
  system: z.union([z.string(), z.array(z.unknown())]).nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: z.number().min(0).max(1).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().min(0).nullish(),
  stream: z.boolean().nullish(),
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().optional(),
  metadata: z.strictObject({ user_id: z.string().nullish() }).nullish(),
  service_tier: z.enum(['auto', 'standard_only']).nullish(),
  thinking: z.unknown().optional(),
  output_config: z.unknown().optional(),
  cache_control: cacheControl,
});

const textBlock = z.strictObject({ type: z.literal('text'), text: z.string(), cache_control: cacheControl, citations: z.array(z.unknown()).max(0, 'citations cannot be sent').nullish() });
const toolUseBlock = z.strictObject({ type: z.literal('tool_use'), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()), cache_control: cacheControl });
const toolResultBlock = z.strictObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.unknown())]).nullish(),
  is_error: z.boolean().nullish(),
  cache_control: cacheControl,
});
const messageSchema = z.strictObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(z.unknown())]) });
const toolSchema = z.strictObject({
  type: z.literal('custom').nullish(),
  name: z.string().min(1).max(128).regex(/^[a-zA-Z0-9_-]+$/, 'a tool name is letters, digits, _ and -'),
  description: z.string().nullish(),
  input_schema: jsonSchemaObject,
  strict: z.boolean().nullish(),
  cache_control: cacheControl,
});
const parallel = { disable_parallel_tool_use: z.boolean().nullish() };
const outputConfig = z.strictObject({
  format: z.strictObject({ type: z.literal('json_schema'), schema: jsonSchemaObject }).nullish(),
  effort: z.null().optional(),
});

/** What the answer echoes of the request. */
interface Echo {
  model: string;
  stopSequences: string[];
}

/** Validates a Messages request and maps it onto a chat-completions body. */
export function parseMessagesRequest(body: unknown): { chat: ChatRequest; echo: Echo; stream: boolean } {
  if (!isObject(body)) throw badField('', 'The request body must be a JSON object.', 'invalid_body');
  if (body.max_tokens === undefined || body.max_tokens === null) {
    throw badField('max_tokens', 'max_tokens is required by the Messages API: the most tokens to generate, e.g. "max_tokens": 1024.', 'missing_required_field');
  }
  const r = check(requestSchema, body, [], WHAT);
  if (r.thinking != null && !(isObject(r.thinking) && r.thinking.type === 'disabled')) {
    throw badField('thinking', 'thinking is not supported: the upstream is reached through chat completions, which have no thinking blocks. Leave thinking out (or send {"type": "disabled"}).', 'unsupported_parameter');
  }
  const config = r.output_config == null ? null : check(outputConfig, r.output_config, ['output_config'], WHAT);

  const messages: ChatMessage[] = [];
  const system = r.system == null ? null : systemText(r.system);
  if (system !== null) messages.push({ role: 'system', content: system });
  r.messages.forEach((m, i) => addMessage(messages, m, i));

  const tools = (r.tools ?? []).map((t, i) => toolOf(t, i));
  const choice = r.tool_choice == null ? null : toolChoiceOf(r.tool_choice, tools);

  const chat: ChatRequest = { model: r.model, messages, max_tokens: r.max_tokens };
  if (r.stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  if (r.temperature != null) chat.temperature = r.temperature;
  if (r.top_p != null) chat.top_p = r.top_p;
  if (r.top_k != null) chat.top_k = r.top_k;
  if (r.stop_sequences?.length) chat.stop = r.stop_sequences;
  if (tools.length) chat.tools = tools;
  if (choice) {
    chat.tool_choice = choice.choice;
    if (choice.noParallel) chat.parallel_tool_calls = false;
  }
  if (config?.format) chat.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: config.format.schema, strict: true } };
  return { chat, echo: { model: r.model, stopSequences: r.stop_sequences ?? [] }, stream: r.stream ?? false };
}

function systemText(system: string | unknown[]): ChatText {
  if (typeof system === 'string') return system;
  const texts = system.map((b, j) => {
    if (!isObject(b) || b.type !== 'text') throw badField(`system[${j}].type`, `System blocks must be text blocks (got ${JSON.stringify(isObject(b) ? (b.type ?? null) : b)}).`, 'unsupported_content');
    return check(textBlock, b, [`system[${j}]`], WHAT).text;
  });
  return texts.length === 1 ? texts[0]! : texts.map((text) => ({ type: 'text' as const, text }));
}

function refuseBlock(type: unknown, path: string, role: string): never {
  const accepted = role === 'assistant' ? 'text, tool_use' : 'text, tool_result';
  throw badField(
    `${path}.type`,
    `Content block type ${JSON.stringify(type ?? null)} is not supported in a ${role} message (accepted: ${accepted}). Images, documents, thinking and server-tool blocks cannot be passed through to a chat-completions upstream here.`,
    'unsupported_content',
  );
}

function addMessage(messages: ChatMessage[], raw: unknown, i: number): void {
  const where = `messages[${i}]`;
  const m = check(messageSchema, raw, [where], WHAT);
  if (typeof m.content === 'string') {
    messages.push({ role: m.role, content: m.content });
    return;
  }
  const texts: string[] = [];
  if (m.role === 'assistant') {
    const calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
    m.content.forEach((b, j) => {
      const path = `${where}.content[${j}]`;
      const type = isObject(b) ? b.type : undefined;
      if (type === 'text') texts.push(check(textBlock, b, [path], WHAT).text);
      else if (type === 'tool_use') {
        const u = check(toolUseBlock, b, [path], WHAT);
        calls.push({ id: u.id, type: 'function', function: { name: u.name, arguments: JSON.stringify(u.input) } });
      } else refuseBlock(type, path, 'assistant');
    });
    messages.push({ role: 'assistant', content: texts.length ? texts.join('') : null, ...(calls.length ? { tool_calls: calls } : {}) });
    return;
  }
  // A user turn: tool results answer the assistant's calls, so they go first (as chat `tool`
  // messages right after the calls); its text follows as a user message.
  m.content.forEach((b, j) => {
    const path = `${where}.content[${j}]`;
    const type = isObject(b) ? b.type : undefined;
    if (type === 'text') texts.push(check(textBlock, b, [path], WHAT).text);
    else if (type === 'tool_result') {
      const t = check(toolResultBlock, b, [path], WHAT);
      const text = toolResultText(t.content, path);
      messages.push({ role: 'tool', tool_call_id: t.tool_use_id, content: t.is_error ? `Error: ${text}` : text });
    } else refuseBlock(type, path, 'user');
  });
  if (texts.length) messages.push({ role: 'user', content: texts.length === 1 ? texts[0]! : texts.map((text) => ({ type: 'text' as const, text })) });
}

function toolResultText(content: string | unknown[] | null | undefined, path: string): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((b, k) => {
      if (isObject(b) && b.type === 'text') return check(textBlock, b, [`${path}.content[${k}]`], WHAT).text;
      throw badField(`${path}.content[${k}].type`, `tool_result content must be text blocks (got ${JSON.stringify(isObject(b) ? (b.type ?? null) : b)}).`, 'unsupported_content');
    })
    .join('');
}

function toolOf(t: unknown, i: number): ChatTool {
  const where = `tools[${i}]`;
  if (isObject(t) && t.type != null && t.type !== 'custom') {
    throw badField(
      `${where}.type`,
      `Tool type ${JSON.stringify(t.type)} is a server tool (web search, bash, text editor, code execution, computer …), which this gateway does not run. Remove it, or define a client tool with name, description and input_schema and run it yourself.`,
      'unsupported_tool',
    );
  }
  const c = check(toolSchema, t, [where], WHAT);
  const fn: ChatTool['function'] = { name: c.name, parameters: c.input_schema };
  if (c.description != null) fn.description = c.description;
  if (c.strict != null) fn.strict = c.strict;
  return { type: 'function', function: fn };
}

function toolChoiceOf(choice: unknown, tools: ChatTool[]): { choice: ChatToolChoice; noParallel: boolean } {
  const type = isObject(choice) ? choice.type : undefined;
  switch (type) {
    case 'auto':
    case 'any': {
      const c = check(z.strictObject({ type: z.literal(type), ...parallel }), choice, ['tool_choice'], WHAT);
      if (type === 'any' && tools.length === 0) throw badField('tool_choice', 'tool_choice {"type": "any"} needs at least one tool in "tools".');
      return { choice: type === 'any' ? 'required' : 'auto', noParallel: c.disable_parallel_tool_use === true };
    }
    case 'tool': {
      const c = check(z.strictObject({ type: z.literal('tool'), name: z.string().min(1), ...parallel }), choice, ['tool_choice'], WHAT);
      if (!tools.some((t) => t.function.name === c.name)) {
        throw badField('tool_choice.name', `tool_choice names the tool "${c.name}", which is not in "tools" (${tools.length ? tools.map((t) => t.function.name).join(', ') : 'none given'}).`, 'unknown_tool');
      }
      return { choice: { type: 'function', function: { name: c.name } }, noParallel: c.disable_parallel_tool_use === true };
    }
    case 'none':
      check(z.strictObject({ type: z.literal('none') }), choice, ['tool_choice'], WHAT);
      return { choice: 'none', noParallel: false };
    default:
      throw badField('tool_choice.type', `tool_choice type ${JSON.stringify(type ?? null)} is not supported. Send {"type": "auto"}, {"type": "any"}, {"type": "tool", "name": "…"} or {"type": "none"}.`, 'unsupported_value');
  }
}

// ---------------------------------------------------------------------------------------------
// Answers: chat chunks → Anthropic events and the final message.

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

/**
 * Anthropic's stop_reason for a finish. A stop on one of the request's stop sequences is known
 * only when the upstream says which one matched (vLLM's `stop_reason`); otherwise it reads as end_turn.
 */
export function stopReasonOf(finish: Finish, matched: string | number | null | undefined, stopSequences: readonly string[]): { stop_reason: StopReason; stop_sequence: string | null } {
  switch (finish) {
    case 'length':
      return { stop_reason: 'max_tokens', stop_sequence: null };
    case 'tool_calls':
      return { stop_reason: 'tool_use', stop_sequence: null };
    case 'content_filter':
      return { stop_reason: 'refusal', stop_sequence: null };
    case 'stop':
      return typeof matched === 'string' && stopSequences.includes(matched) ? { stop_reason: 'stop_sequence', stop_sequence: matched } : { stop_reason: 'end_turn', stop_sequence: null };
  }
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown; json: string };

export class MessagesStream implements StreamTranslator {
  private readonly id: string;
  private model: string;
  private readonly blocks: Block[] = [];
  /** The block deltas go to; Anthropic's blocks are strictly one after another. */
  private open: number | null = null;
  private readonly callBlocks = new Map<number, number>();
  private finish: Finish | null = null;
  private matched: string | number | null | undefined;
  private usage: { input_tokens: number; output_tokens: number } | null = null;
  private done: Record<string, unknown> | null = null;
  failure: string | null = null;

  constructor(
    private readonly echo: Echo,
    env: TranslateEnv,
  ) {
    this.id = env.id('msg');
    this.model = echo.model;
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  private message(content: unknown[], stop: { stop_reason: StopReason | null; stop_sequence: string | null }, usage: { input_tokens: number; output_tokens: number }): Record<string, unknown> {
    return {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.model,
      content,
      stop_reason: stop.stop_reason,
      stop_sequence: stop.stop_sequence,
      stop_details: null,
      container: null,
      usage: { ...usage, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    };
  }

  start(): ApiEvent[] {
    return [{ type: 'message_start', message: this.message([], { stop_reason: null, stop_sequence: null }, { input_tokens: 0, output_tokens: 0 }) }, { type: 'ping' }];
  }

  private close(): ApiEvent[] {
    if (this.open === null) return [];
    const index = this.open;
    this.open = null;
    return [{ type: 'content_block_stop', index }];
  }

  chunk(c: ChatChunk): ApiEvent[] {
    if (this.failure || this.done) return [];
    if (c.model) this.model = c.model;
    if (c.usage) this.usage = { input_tokens: c.usage.prompt_tokens ?? 0, output_tokens: c.usage.completion_tokens ?? 0 };
    const choice = c.choices?.[0];
    if (!choice) return [];
    const out: ApiEvent[] = [];
    const delta = choice.delta;
    const text = (delta?.content ?? '') + (delta?.refusal ?? '');
    if (text) {
      const current = this.open === null ? null : this.blocks[this.open]!;
      if (current?.type !== 'text') {
        out.push(...this.close());
        this.blocks.push({ type: 'text', text: '' });
        this.open = this.blocks.length - 1;
        out.push({ type: 'content_block_start', index: this.open, content_block: { type: 'text', text: '' } });
      }
      (this.blocks[this.open!] as { text: string }).text += text;
      out.push({ type: 'content_block_delta', index: this.open, delta: { type: 'text_delta', text } });
    }
    for (const t of delta?.tool_calls ?? []) {
      const key = t.index ?? this.callBlocks.size;
      let index = this.callBlocks.get(key);
      if (index === undefined) {
        out.push(...this.close());
        const block: Block = { type: 'tool_use', id: t.id || `toolu_${this.id.slice(4)}_${key}`, name: t.function?.name ?? '', input: {}, json: '' };
        this.blocks.push(block);
        index = this.open = this.blocks.length - 1;
        this.callBlocks.set(key, index);
        out.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      } else if (index !== this.open) {
        return [...out, ...this.fail('The upstream interleaved the arguments of several tool calls, which Anthropic content blocks (one after another) cannot carry.')];
      }
      const block = this.blocks[index] as Extract<Block, { type: 'tool_use' }>;
      if (t.function?.name && !block.name) block.name = t.function.name;
      const args = t.function?.arguments;
      if (args) {
        block.json += args;
        out.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } });
      }
    }
    if (choice.finish_reason) {
      this.finish = finishOf(choice.finish_reason);
      this.matched = choice.stop_reason;
    }
    return out;
  }

  end(): ApiEvent[] {
    if (this.failure || this.done) return [];
    if (this.finish === null) return this.fail('The upstream stream ended before the answer was finished.');
    for (const b of this.blocks) {
      if (b.type !== 'tool_use') continue;
      try {
        b.input = JSON.parse(b.json || '{}');
      } catch {
        // Arguments cut off by max_tokens stay partial (the stream carried them as they were).
        if (this.finish !== 'length') return this.fail(`The upstream's arguments for tool "${b.name}" are not valid JSON: ${b.json.slice(0, 200)}`);
        b.input = {};
      }
    }
    const stop = stopReasonOf(this.finish, this.matched, this.echo.stopSequences);
    const usage = this.usage ?? { input_tokens: 0, output_tokens: 0 };
    const content = this.blocks.map((b) => (b.type === 'text' ? { type: 'text', text: b.text } : { type: 'tool_use', id: b.id, name: b.name, input: b.input }));
    this.done = this.message(content, stop, usage);
    return [...this.close(), { type: 'message_delta', delta: { ...stop, stop_details: null }, usage: { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens } }, { type: 'message_stop' }];
  }

  fail(message: string): ApiEvent[] {
    if (this.failure || this.done) return [];
    this.failure = message;
    return [{ type: 'error', error: { type: 'api_error', message } }];
  }

  final(): unknown {
    return this.done;
  }
}

/** Anthropic's error type for an HTTP status. */
export function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503 || status === 529) return 'overloaded_error';
  if (status === 504) return 'timeout_error';
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** Anthropic's error shape: `{type: "error", error: {type, message}}` (a refused field is named in the message). */
export function anthropicErrorBody(e: ApiErrorInfo): unknown {
  return { type: 'error', error: { type: anthropicErrorType(e.status), message: e.message } };
}

export const anthropicApi: ApiTranslation = {
  parse(body: unknown, env: TranslateEnv): Translated {
    const { chat, echo, stream } = parseMessagesRequest(body);
    return { chat, stream, translator: new MessagesStream(echo, env) };
  },
  errorBody: anthropicErrorBody,
};
