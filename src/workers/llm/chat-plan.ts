/**
 * A validated chat request -> what to generate, as pure decisions: the tools (each schema
 * normalized), how a tool may be called (`tool_choice`), the output format (`response_format`)
 * and the node-llama-cpp chat history (assistant tool calls with their `role: "tool"` results).
 * Everything a client got wrong is a 400 naming the field.
 */
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelFunctions } from 'node-llama-cpp';
import { HttpError } from '../../lib/http.js';
import { SchemaError, normalizeSchema } from './json-schema/normalize.js';
import type { NormalizedSchema } from './json-schema/normalize.js';
import { messageText } from './schemas.js';
import type { ChatRequest } from './schemas.js';

export interface PreparedTool {
  name: string;
  description?: string;
  parameters: NormalizedSchema;
}

/**
 * How the answer may call tools:
 * - `text`: no tool call (no tools, or tool_choice "none");
 * - `auto`: the model decides, through the chat wrapper's own function-call syntax;
 * - `call`: a call is forced, to one of `names` (tool_choice "required": all tools; a named function: that one).
 */
export type ToolMode = { kind: 'text' } | { kind: 'auto' } | { kind: 'call'; names: string[] };

export type OutputFormat = { kind: 'text' } | { kind: 'json_object' } | { kind: 'json_schema'; name: string; schema: NormalizedSchema };

export interface ChatPlan {
  tools: Map<string, PreparedTool>;
  mode: ToolMode;
  format: OutputFormat;
  history: ChatHistoryItem[];
}

const badRequest = (message: string, param: string, code = 'invalid_value') => new HttpError(400, message, 'invalid_request_error', code, param);

/** Normalizes a schema the client sent at `param`; an unsupported keyword is a 400 naming it. */
function prepareSchema(schema: unknown, param: string): NormalizedSchema {
  try {
    return normalizeSchema(schema);
  } catch (err) {
    if (!(err instanceof SchemaError)) throw err;
    const code = err.keyword === '$ref' || err.keyword === 'false' || err.keyword === 'type' ? 'invalid_schema' : 'unsupported_schema_keyword';
    throw badRequest(`Invalid schema in ${param}: ${err.message}`, param, code);
  }
}

function prepareTools(body: ChatRequest): Map<string, PreparedTool> {
  const tools = new Map<string, PreparedTool>();
  (body.tools ?? []).forEach((t, i) => {
    const { name, description, parameters } = t.function;
    if (tools.has(name)) throw badRequest(`tools[${i}].function.name: "${name}" is declared twice; function names must be unique.`, `tools[${i}].function.name`);
    // OpenAI: no parameters means a function without arguments.
    const schema = parameters ?? { type: 'object', properties: {}, additionalProperties: false };
    tools.set(name, { name, ...(description ? { description } : {}), parameters: prepareSchema(schema, `tools[${i}].function.parameters`) });
  });
  return tools;
}

function toolMode(body: ChatRequest, tools: Map<string, PreparedTool>): ToolMode {
  const choice = body.tool_choice ?? (tools.size ? 'auto' : 'none');
  if (choice === 'none') return { kind: 'text' };
  if (tools.size === 0) throw badRequest(`tool_choice: ${JSON.stringify(choice)} needs tools, but the request declares none. Fix: add tools, or remove tool_choice.`, 'tool_choice');
  if (choice === 'auto') return { kind: 'auto' };
  if (choice === 'required') return { kind: 'call', names: [...tools.keys()] };
  const name = choice.function.name;
  if (!tools.has(name)) {
    throw badRequest(`tool_choice.function.name: no tool named "${name}" is declared. Declared: ${[...tools.keys()].join(', ')}.`, 'tool_choice.function.name', 'tool_not_found');
  }
  return { kind: 'call', names: [name] };
}

function outputFormat(body: ChatRequest): OutputFormat {
  const f = body.response_format;
  if (!f || f.type === 'text') return { kind: 'text' };
  if (f.type === 'json_object') return { kind: 'json_object' };
  return { kind: 'json_schema', name: f.json_schema.name, schema: prepareSchema(f.json_schema.schema ?? {}, 'response_format.json_schema.schema') };
}

/** A tool result as node-llama-cpp renders it: JSON content as JSON, anything else as a string. */
function toolResult(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A call's `arguments` string as the history's params: parsed JSON, or the raw string if it is not JSON. */
const callParams = (args: string): unknown => toolResult(args);

/**
 * OpenAI messages -> node-llama-cpp chat history. An assistant message with `tool_calls` becomes a
 * model response holding those calls; each `role: "tool"` message fills in the result of the call
 * it names. When the conversation ends with tool results, generation continues that model
 * response (the model answers after seeing the results); otherwise a new, empty response follows.
 */
export function toHistory(messages: ChatRequest['messages']): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  /** Calls waiting for their result, by id: where they are in the history. */
  const open = new Map<string, { call: ChatModelFunctionCall; answered: boolean; at: string }>();
  messages.forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'developer':
        history.push({ type: 'system', text: messageText(m.content) });
        return;
      case 'user':
        history.push({ type: 'user', text: messageText(m.content) });
        return;
      case 'assistant': {
        const text = messageText(m.content);
        const response: (string | ChatModelFunctionCall)[] = text ? [text] : [];
        (m.tool_calls ?? []).forEach((c, j) => {
          const call: ChatModelFunctionCall = { type: 'functionCall', name: c.function.name, params: callParams(c.function.arguments), result: undefined, startsNewChunk: j === 0 };
          if (open.has(c.id)) throw badRequest(`messages[${i}].tool_calls[${j}].id: the id "${c.id}" is used twice; tool call ids must be unique.`, `messages[${i}].tool_calls[${j}].id`);
          open.set(c.id, { call, answered: false, at: `messages[${i}].tool_calls[${j}]` });
          response.push(call);
        });
        history.push({ type: 'model', response });
        return;
      }
      case 'tool': {
        const entry = open.get(m.tool_call_id);
        if (!entry) {
          throw badRequest(
            `messages[${i}].tool_call_id: no earlier assistant message has a tool call with id "${m.tool_call_id}". Fix: send the assistant message with its tool_calls before the tool results.`,
            `messages[${i}].tool_call_id`,
          );
        }
        if (entry.answered) throw badRequest(`messages[${i}].tool_call_id: the tool call "${m.tool_call_id}" already has a result.`, `messages[${i}].tool_call_id`);
        const last = history.at(-1);
        if (last?.type !== 'model' || !last.response.includes(entry.call)) {
          throw badRequest(`messages[${i}]: a tool result must follow the assistant message that made the call (and its other results).`, `messages[${i}]`);
        }
        entry.answered = true;
        entry.call.result = toolResult(messageText(m.content));
        return;
      }
    }
  });
  for (const [id, entry] of open) {
    if (!entry.answered) throw badRequest(`${entry.at}: the tool call "${id}" has no role "tool" message with its result. Fix: add {"role": "tool", "tool_call_id": "${id}", "content": ...} after it.`, entry.at);
  }
  const last = history.at(-1);
  const endsWithResults = last?.type === 'model' && last.response.some((r) => typeof r === 'object' && r.type === 'functionCall');
  if (!endsWithResults) history.push({ type: 'model', response: [] });
  return history;
}

/** Validates and plans a chat request (pure: no model needed). */
export function planChat(body: ChatRequest): ChatPlan {
  const tools = prepareTools(body);
  const mode = toolMode(body, tools);
  const format = outputFormat(body);
  if (mode.kind === 'auto' && format.kind !== 'text') {
    throw badRequest(
      'response_format: a JSON response_format cannot be combined with tool_choice "auto" (the model would have to choose between a call and JSON). Fix: use tool_choice "none" for a JSON answer, or "required" for a call.',
      'response_format',
    );
  }
  return { tools, mode, format, history: toHistory(body.messages) };
}

/** The tools as node-llama-cpp's function definitions (parameters from the normalized grammar schema). */
export function chatFunctions(tools: Iterable<PreparedTool>): ChatModelFunctions {
  return Object.fromEntries([...tools].map((t) => [t.name, { ...(t.description ? { description: t.description } : {}), params: t.parameters.grammar }]));
}
