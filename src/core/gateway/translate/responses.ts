/**
 * OpenAI's Responses API (`POST /v1/responses`), stateless subset, translated onto chat
 * completions: the request mapper (input items, instructions, function tools, tool_choice,
 * text.format) and the stream translator that turns chat chunks into the Responses API's typed
 * events and its final `response` object. Nothing is stored: `store: true`,
 * `previous_response_id`, `conversation` and `background: true` are refused by name, as are
 * hosted tools (web_search, file_search, computer, …). See docs/api-fields.md.
 */
import { z } from 'zod';
import type { ApiErrorInfo, ApiEvent, ApiTranslation, StreamTranslator, TranslateEnv, Translated } from './api.js';
import { finishOf, type ChatChunk, type ChatMessage, type ChatRequest, type ChatResponseFormat, type ChatText, type ChatTool, type ChatToolChoice, type Finish } from './chat.js';
import { badField, check, isObject, jsonSchemaObject } from './fields.js';

const WHAT = 'a Responses API request';

const requestSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.unknown())]),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.unknown().optional(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_obfuscation: z.boolean().nullish() }).nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullish(),
  include: z.array(z.string()).nullish(),
  reasoning: z.strictObject({ effort: z.string().nullish(), summary: z.string().nullish(), generate_summary: z.string().nullish() }).nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().nullish(),
  safety_identifier: z.string().nullish(),
  prompt_cache_key: z.string().nullish(),
  service_tier: z.string().nullish(),
  truncation: z.enum(['auto', 'disabled']).nullish(),
  top_logprobs: z.number().int().nullish(),
  max_tool_calls: z.number().int().nullish(),
  prompt: z.unknown().optional(),
});
type Request = z.infer<typeof requestSchema>;

/** `include` values that ask for nothing this gateway would produce (it emits no reasoning items). */
const HARMLESS_INCLUDES = new Set(['reasoning.encrypted_content']);

const inputText = z.strictObject({ type: z.literal('input_text'), text: z.string() });
const outputText = z.strictObject({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()).max(0, 'annotations cannot be sent back').nullish(), logprobs: z.array(z.unknown()).nullish() });
const refusalPart = z.strictObject({ type: z.literal('refusal'), refusal: z.string() });

const messageItem = z.strictObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(z.unknown())]),
  id: z.string().nullish(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullish(),
  phase: z.string().nullish(),
});
const functionCallItem = z.strictObject({
  type: z.literal('function_call'),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
  id: z.string().nullish(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullish(),
});
const functionCallOutputItem = z.strictObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(z.unknown())]),
  id: z.string().nullish(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullish(),
});
const functionTool = z.strictObject({
  type: z.literal('function'),
  name: z.string().min(1).max(64).regex(/^[a-zA-Z0-9_-]+$/, 'a function name is letters, digits, _ and -'),
  description: z.string().nullish(),
  parameters: jsonSchemaObject.nullish(),
  strict: z.boolean().nullish(),
});
const textConfig = z.strictObject({ format: z.unknown().optional(), verbosity: z.enum(['low', 'medium', 'high']).nullish() });
const jsonSchemaFormat = z.strictObject({
  type: z.literal('json_schema'),
  name: z.string().min(1).max(64),
  schema: jsonSchemaObject,
  strict: z.boolean().nullish(),
  description: z.string().nullish(),
});

/** What the final `response` object echoes of the request. */
interface Echo {
  model: string;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  parallel_tool_calls: boolean;
  temperature: number | null;
  top_p: number | null;
  tool_choice: unknown;
  tools: unknown[];
  text: { format: unknown; verbosity?: string };
  reasoning: { effort: string | null; summary: string | null };
  user: string | null;
}

/** Validates a Responses request and maps it onto a chat-completions body. */
export function parseResponsesRequest(body: unknown): { chat: ChatRequest; echo: Echo; stream: boolean } {
  if (!isObject(body)) throw badField('', 'The request body must be a JSON object.', 'invalid_body');
  const r = check(requestSchema, body, [], WHAT);
  refuseStateful(r);

  const messages: ChatMessage[] = [];
  if (r.instructions) messages.push({ role: 'system', content: r.instructions });
  if (typeof r.input === 'string') messages.push({ role: 'user', content: r.input });
  else r.input.forEach((item, i) => addInputItem(messages, item, i));
  if (messages.length === 0) throw badField('input', 'The input is empty: send a string or at least one input item.', 'empty_input');

  const tools = (r.tools ?? []).map((t, i) => toolOf(t, i));
  const toolChoice = r.tool_choice === undefined || r.tool_choice === null ? undefined : toolChoiceOf(r.tool_choice, tools);
  const text = r.text === undefined || r.text === null ? null : check(textConfig, r.text, ['text'], WHAT);
  const format = text?.format === undefined || text.format === null ? null : formatOf(text.format);

  const chat: ChatRequest = { model: r.model, messages };
  if (r.stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  if (r.max_output_tokens != null) chat.max_tokens = r.max_output_tokens;
  if (r.temperature != null) chat.temperature = r.temperature;
  if (r.top_p != null) chat.top_p = r.top_p;
  if (tools.length) chat.tools = tools;
  if (toolChoice !== undefined) chat.tool_choice = toolChoice;
  if (r.parallel_tool_calls != null) chat.parallel_tool_calls = r.parallel_tool_calls;
  if (format?.chat) chat.response_format = format.chat;
  if (r.reasoning?.effort) chat.reasoning_effort = r.reasoning.effort;

  const echo: Echo = {
    model: r.model,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    metadata: r.metadata ?? {},
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    temperature: r.temperature ?? null,
    top_p: r.top_p ?? null,
    tool_choice: r.tool_choice ?? 'auto',
    tools: tools.map((t) => ({ type: 'function', name: t.function.name, description: t.function.description ?? null, parameters: t.function.parameters ?? null, strict: t.function.strict ?? null })),
    text: { format: format?.echo ?? { type: 'text' }, ...(text?.verbosity ? { verbosity: text.verbosity } : {}) },
    reasoning: { effort: r.reasoning?.effort ?? null, summary: null },
    user: r.user ?? null,
  };
  return { chat, echo, stream: r.stream ?? false };
}

/** Refuses what needs stored state or features beyond one chat completion, each by name. */
function refuseStateful(r: Request): void {
  if (r.store === true) {
    throw badField('store', 'store: true is not supported: this gateway keeps no responses (it is stateless). Send store: false (or leave it out) and pass the whole conversation in "input".', 'unsupported_value');
  }
  if (r.previous_response_id) {
    throw badField('previous_response_id', 'previous_response_id is not supported: this gateway stores no responses to continue from. Send the earlier turns as input items (messages, function_call and function_call_output) instead.', 'unsupported_parameter');
  }
  if (r.conversation != null) throw badField('conversation', 'conversation is not supported: this gateway stores no conversations. Send the earlier turns as input items instead.', 'unsupported_parameter');
  if (r.background === true) throw badField('background', 'background: true is not supported: responses are answered while the request is open (stream: true shows progress). Leave background out.', 'unsupported_value');
  if (r.prompt != null) throw badField('prompt', 'prompt (stored prompt templates) is not supported: send the text as instructions and input.', 'unsupported_parameter');
  if (r.truncation === 'auto') throw badField('truncation', 'truncation: "auto" is not supported: the gateway does not drop input items to fit the context. Leave truncation out (or send "disabled") and shorten the input.', 'unsupported_value');
  if (r.top_logprobs != null && r.top_logprobs > 0) throw badField('top_logprobs', 'top_logprobs is not supported by this gateway. Leave it out.', 'unsupported_parameter');
  if (r.max_tool_calls != null) throw badField('max_tool_calls', 'max_tool_calls is not supported: it limits hosted tool calls, which this gateway does not run. Leave it out.', 'unsupported_parameter');
  (r.include ?? []).forEach((v, i) => {
    if (!HARMLESS_INCLUDES.has(v)) throw badField(`include[${i}]`, `include "${v}" is not supported. Accepted: ${[...HARMLESS_INCLUDES].join(', ')} (no reasoning items are produced, so it adds nothing).`, 'unsupported_value');
  });
}

/** Text of message content: one string, or the parts' texts (kept as parts when there are several). */
function contentText(content: string | unknown[], where: string, role: string): ChatText {
  if (typeof content === 'string') return content;
  const texts = content.map((part, j) => {
    const path = `${where}.content[${j}]`;
    const type = isObject(part) ? part.type : undefined;
    if (type === 'input_text') return check(inputText, part, [path], WHAT).text;
    if (type === 'output_text' && role === 'assistant') return check(outputText, part, [path], WHAT).text;
    if (type === 'refusal' && role === 'assistant') return check(refusalPart, part, [path], WHAT).refusal;
    const accepted = role === 'assistant' ? 'output_text, refusal' : 'input_text';
    throw badField(`${path}.type`, `Content part type ${JSON.stringify(type ?? null)} is not supported in a ${role} message (accepted: ${accepted}). Images, files and audio cannot be passed through to a chat-completions upstream here; send text.`, 'unsupported_content');
  });
  return texts.length === 1 ? texts[0]! : texts.map((text) => ({ type: 'text' as const, text }));
}

function addInputItem(messages: ChatMessage[], item: unknown, i: number): void {
  const where = `input[${i}]`;
  if (!isObject(item)) throw badField(where, `Input item ${i} must be an object (a message, function_call or function_call_output).`);
  const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
  switch (type) {
    case 'message': {
      const m = check(messageItem, item, [where], WHAT);
      const content = contentText(m.content, where, m.role);
      if (m.role === 'assistant') messages.push({ role: 'assistant', content: typeof content === 'string' ? content : content.map((p) => p.text).join('') });
      else messages.push({ role: m.role === 'user' ? 'user' : 'system', content });
      return;
    }
    case 'function_call': {
      const c = check(functionCallItem, item, [where], WHAT);
      const call = { id: c.call_id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } };
      const last = messages.at(-1);
      // Consecutive calls (and calls right after the assistant's text) are one assistant turn.
      if (last?.role === 'assistant') (last.tool_calls ??= []).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
      return;
    }
    case 'function_call_output': {
      const o = check(functionCallOutputItem, item, [where], WHAT);
      const content = typeof o.output === 'string' ? o.output : toolOutputText(o.output, where);
      messages.push({ role: 'tool', tool_call_id: o.call_id, content });
      return;
    }
    default:
      throw badField(
        `${where}.type`,
        `Input item type ${JSON.stringify(type ?? null)} is not supported (accepted: message, function_call, function_call_output). Reasoning items, item references and hosted tools' items need state or tools this gateway does not have.`,
        'unsupported_input_item',
      );
  }
}

function toolOutputText(parts: unknown[], where: string): string {
  return parts
    .map((part, j) => {
      if (isObject(part) && part.type === 'input_text') return check(inputText, part, [`${where}.output[${j}]`], WHAT).text;
      throw badField(`${where}.output[${j}].type`, `Function output parts must be input_text (got ${JSON.stringify(isObject(part) ? (part.type ?? null) : part)}).`, 'unsupported_content');
    })
    .join('');
}

function toolOf(t: unknown, i: number): ChatTool {
  const where = `tools[${i}]`;
  if (!isObject(t) || t.type !== 'function') {
    const type = isObject(t) ? t.type : undefined;
    throw badField(
      `${where}.type`,
      `Tool type ${JSON.stringify(type ?? null)} is not supported: this gateway offers function tools only (hosted tools such as web_search, file_search, code_interpreter or computer are not run here). Remove it, or describe it as {"type": "function", "name", "parameters"} and run it yourself.`,
      'unsupported_tool',
    );
  }
  const f = check(functionTool, t, [where], WHAT);
  const fn: ChatTool['function'] = { name: f.name };
  if (f.description != null) fn.description = f.description;
  if (f.parameters != null) fn.parameters = f.parameters;
  if (f.strict != null) fn.strict = f.strict;
  return { type: 'function', function: fn };
}

function toolChoiceOf(choice: unknown, tools: ChatTool[]): ChatToolChoice {
  if (choice === 'none' || choice === 'auto' || choice === 'required') {
    if (choice === 'required' && tools.length === 0) throw badField('tool_choice', 'tool_choice "required" needs at least one function in "tools".');
    return choice;
  }
  if (isObject(choice) && choice.type === 'function') {
    const c = check(z.strictObject({ type: z.literal('function'), name: z.string().min(1) }), choice, ['tool_choice'], WHAT);
    if (!tools.some((t) => t.function.name === c.name)) {
      throw badField('tool_choice.name', `tool_choice names the function "${c.name}", which is not in "tools" (${tools.length ? tools.map((t) => t.function.name).join(', ') : 'none given'}).`, 'unknown_function');
    }
    return { type: 'function', function: { name: c.name } };
  }
  throw badField('tool_choice', `tool_choice ${JSON.stringify(choice)} is not supported. Send "none", "auto", "required" or {"type": "function", "name": "…"}.`, 'unsupported_value');
}

function formatOf(format: unknown): { chat: ChatResponseFormat | null; echo: unknown } {
  const type = isObject(format) ? format.type : undefined;
  if (type === 'text') {
    check(z.strictObject({ type: z.literal('text') }), format, ['text.format'], WHAT);
    return { chat: null, echo: { type: 'text' } };
  }
  if (type === 'json_object') {
    check(z.strictObject({ type: z.literal('json_object') }), format, ['text.format'], WHAT);
    return { chat: { type: 'json_object' }, echo: { type: 'json_object' } };
  }
  if (type === 'json_schema') {
    const f = check(jsonSchemaFormat, format, ['text.format'], WHAT);
    const js: { name: string; schema: Record<string, unknown>; strict?: boolean; description?: string } = { name: f.name, schema: f.schema };
    if (f.strict != null) js.strict = f.strict;
    if (f.description != null) js.description = f.description;
    return { chat: { type: 'json_schema', json_schema: js }, echo: { type: 'json_schema', ...js } };
  }
  throw badField('text.format.type', `text.format type ${JSON.stringify(type ?? null)} is not supported. Send "text", "json_object" or "json_schema".`, 'unsupported_value');
}

// ---------------------------------------------------------------------------------------------
// Answers: chat chunks → Responses events and the final response object.

interface MessageItem {
  id: string;
  type: 'message';
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] }[];
}
interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: 'in_progress' | 'completed' | 'incomplete';
  call_id: string;
  name: string;
  arguments: string;
}
type OutputItem = MessageItem | FunctionCallItem;

/** A snapshot of an item for an event (events outlive the item's later changes); cheaper than structuredClone. */
function copyItem(item: OutputItem): OutputItem {
  return item.type === 'message' ? { ...item, content: item.content.map((p) => ({ ...p })) } : { ...item };
}

/** The response's status and incomplete_details for a finish. */
export function responseStatusOf(finish: Finish): { status: 'completed' | 'incomplete'; incomplete_details: { reason: 'max_output_tokens' | 'content_filter' } | null } {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

export class ResponsesStream implements StreamTranslator {
  private seq = 0;
  private readonly id: string;
  private readonly createdAt: number;
  private readonly output: OutputItem[] = [];
  /** The message item text is being added to, if any. */
  private text: MessageItem | null = null;
  /** Function-call items by the upstream's tool-call index. */
  private readonly calls = new Map<number, FunctionCallItem>();
  private model: string;
  private finish: Finish | null = null;
  private usage: { input_tokens: number; input_tokens_details: { cached_tokens: number }; output_tokens: number; output_tokens_details: { reasoning_tokens: number }; total_tokens: number } | null = null;
  private done: Record<string, unknown> | null = null;
  failure: string | null = null;

  constructor(
    private readonly echo: Echo,
    private readonly env: TranslateEnv,
  ) {
    this.id = env.id('resp');
    this.createdAt = env.now();
    this.model = echo.model;
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  private event(type: string, fields: Record<string, unknown>): ApiEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }

  private response(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const e = this.echo;
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      status,
      background: false,
      error: null,
      incomplete_details: null,
      instructions: e.instructions,
      max_output_tokens: e.max_output_tokens,
      metadata: e.metadata,
      model: this.model,
      output: this.output.map(copyItem),
      parallel_tool_calls: e.parallel_tool_calls,
      previous_response_id: null,
      reasoning: e.reasoning,
      service_tier: 'default',
      store: false,
      temperature: e.temperature,
      text: e.text,
      tool_choice: e.tool_choice,
      tools: e.tools,
      top_p: e.top_p,
      truncation: 'disabled',
      usage: this.usage,
      user: e.user,
      ...extra,
    };
  }

  start(): ApiEvent[] {
    const r = this.response('in_progress');
    return [this.event('response.created', { response: r }), this.event('response.in_progress', { response: r })];
  }

  chunk(c: ChatChunk): ApiEvent[] {
    if (this.failure || this.done) return [];
    const out: ApiEvent[] = [];
    if (c.model) this.model = c.model;
    if (c.usage) {
      const input = c.usage.prompt_tokens ?? 0;
      const output = c.usage.completion_tokens ?? 0;
      this.usage = { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: c.usage.total_tokens ?? input + output };
    }
    const choice = c.choices?.[0];
    if (!choice) return out;
    const delta = choice.delta;
    const text = (delta?.content ?? '') + (delta?.refusal ?? '');
    if (text) out.push(...this.addText(text));
    for (const t of delta?.tool_calls ?? []) out.push(...this.addCall(t.index ?? this.calls.size, t.id, t.function?.name, t.function?.arguments));
    if (choice.finish_reason) this.finish = finishOf(choice.finish_reason);
    return out;
  }

  private addText(delta: string): ApiEvent[] {
    const out: ApiEvent[] = [];
    if (!this.text) {
      const item: MessageItem = { id: this.env.id('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
      this.text = item;
      this.output.push(item);
      const output_index = this.output.length - 1;
      out.push(this.event('response.output_item.added', { output_index, item: copyItem(item) }));
      const part = { type: 'output_text' as const, text: '', annotations: [], logprobs: [] };
      item.content.push(part);
      out.push(this.event('response.content_part.added', { item_id: item.id, output_index, content_index: 0, part: { ...part } }));
    }
    const item = this.text;
    item.content[0]!.text += delta;
    out.push(this.event('response.output_text.delta', { item_id: item.id, output_index: this.output.indexOf(item), content_index: 0, delta, logprobs: [] }));
    return out;
  }

  private addCall(index: number, callId: string | undefined, name: string | undefined, args: string | undefined): ApiEvent[] {
    const out: ApiEvent[] = [];
    let item = this.calls.get(index);
    if (!item) {
      // The message before a call is finished: text after calls starts a new message item.
      if (this.text) out.push(...this.closeItem(this.text, 'completed'));
      this.text = null;
      item = { id: this.env.id('fc'), type: 'function_call', status: 'in_progress', call_id: callId || this.env.id('call'), name: name ?? '', arguments: '' };
      this.calls.set(index, item);
      this.output.push(item);
      out.push(this.event('response.output_item.added', { output_index: this.output.length - 1, item: copyItem(item) }));
    } else if (name && !item.name) {
      item.name = name;
    }
    if (args) {
      item.arguments += args;
      out.push(this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: this.output.indexOf(item), delta: args }));
    }
    return out;
  }

  private closeItem(item: OutputItem, status: 'completed' | 'incomplete'): ApiEvent[] {
    if (item.status !== 'in_progress') return [];
    const output_index = this.output.indexOf(item);
    const out: ApiEvent[] = [];
    item.status = status;
    if (item.type === 'message') {
      const part = item.content[0]!;
      out.push(this.event('response.output_text.done', { item_id: item.id, output_index, content_index: 0, text: part.text, logprobs: [] }));
      out.push(this.event('response.content_part.done', { item_id: item.id, output_index, content_index: 0, part: { ...part } }));
    } else {
      out.push(this.event('response.function_call_arguments.done', { item_id: item.id, output_index, name: item.name, arguments: item.arguments }));
    }
    out.push(this.event('response.output_item.done', { output_index, item: copyItem(item) }));
    return out;
  }

  end(): ApiEvent[] {
    if (this.failure || this.done) return [];
    if (this.finish === null) return this.fail('The upstream stream ended before the answer was finished.');
    const { status, incomplete_details } = responseStatusOf(this.finish);
    const out: ApiEvent[] = [];
    for (const item of this.output) out.push(...this.closeItem(item, status === 'completed' ? 'completed' : 'incomplete'));
    this.done = this.response(status, { incomplete_details, completed_at: status === 'completed' ? this.env.now() : null });
    out.push(this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: this.done }));
    return out;
  }

  fail(message: string): ApiEvent[] {
    if (this.failure || this.done) return [];
    this.failure = message;
    for (const item of this.output) if (item.status === 'in_progress') item.status = 'incomplete';
    return [this.event('response.failed', { response: this.response('failed', { error: { code: 'server_error', message } }) })];
  }

  final(): unknown {
    return this.done;
  }
}

/** Responses errors are OpenAI's: `{error: {message, type, param, code}}`. */
export function responsesErrorBody(e: ApiErrorInfo): unknown {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

export const responsesApi: ApiTranslation = {
  parse(body: unknown, env: TranslateEnv): Translated {
    const { chat, echo, stream } = parseResponsesRequest(body);
    return { chat, stream, translator: new ResponsesStream(echo, env) };
  },
  errorBody: responsesErrorBody,
};
