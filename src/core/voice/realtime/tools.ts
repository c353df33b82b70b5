/**
 * Function tools of a Realtime session: the checks a session's or a response's tools must pass,
 * their translation into the chat-completions request of the turn's LLM call, and the Realtime
 * items of calls (made by the LLM or sent by the client) and their outputs, with the history
 * messages behind them. Pure functions, table-tested.
 */
import type { RealtimeFunctionTool, RealtimeToolChoice } from '../../../shared/contract/realtime.js';
import type { ChatToolCall } from '../../gateway/translate/chat.js';
import type { ChatMessage } from '../gateway-client.js';

export interface ToolSettings {
  tools: RealtimeFunctionTool[];
  toolChoice: RealtimeToolChoice;
}

export type ToolProblem = { code: string; message: string; param: string };

/** A function call of the conversation (made by the LLM or added by the client). */
export interface FunctionCall {
  callId: string;
  name: string;
  /** JSON text of the arguments. */
  arguments: string;
}

/** Why `s` cannot be used (a name twice, a tool_choice naming no tool); `prefix` is the field's path ("session", "response"). */
export function toolProblem(s: ToolSettings, prefix: string): ToolProblem | null {
  const names = new Set<string>();
  for (const [i, t] of s.tools.entries()) {
    if (names.has(t.name)) return { code: 'invalid_value', message: `${prefix}.tools[${i}].name: "${t.name}" is used by an earlier tool; function names must be unique.`, param: `${prefix}.tools[${i}].name` };
    names.add(t.name);
  }
  const c = s.toolChoice;
  if (typeof c === 'object' && !names.has(c.name)) {
    return { code: 'invalid_value', message: `${prefix}.tool_choice: names the function "${c.name}", which is not among the tools (${[...names].join(', ') || 'none'}).`, param: `${prefix}.tool_choice.name` };
  }
  if (c === 'required' && names.size === 0) return { code: 'invalid_value', message: `${prefix}.tool_choice: "required" needs at least one tool in ${prefix}.tools.`, param: `${prefix}.tool_choice` };
  return null;
}

/** The `tools` and `tool_choice` of the turn's chat-completions request (none when there are no tools or the choice is "none"). */
export function chatToolFields(s: ToolSettings): Record<string, unknown> {
  if (s.tools.length === 0 || s.toolChoice === 'none') return {};
  return {
    tools: s.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })),
    tool_choice: typeof s.toolChoice === 'string' ? s.toolChoice : { type: 'function', function: { name: s.toolChoice.name } },
  };
}

/** A function call's Realtime item (GA and beta share the shape). */
export function functionCallJson(id: string, call: FunctionCall, status: 'in_progress' | 'completed' | 'incomplete'): Record<string, unknown> {
  return { id, object: 'realtime.item', type: 'function_call', status, call_id: call.callId, name: call.name, arguments: call.arguments };
}

/** A function call output's Realtime item. */
export function functionOutputJson(id: string, callId: string, output: string): Record<string, unknown> {
  return { id, object: 'realtime.item', type: 'function_call_output', status: 'completed', call_id: callId, output };
}

/** The history's record of calls: on the assistant's message of the turn, or a message of its own. */
export function withCalls(message: ChatMessage | null, calls: readonly FunctionCall[]): ChatMessage {
  const toolCalls: ChatToolCall[] = calls.map((c) => ({ id: c.callId, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  const m = message ?? { role: 'assistant', content: '' };
  m.tool_calls = [...(m.tool_calls ?? []), ...toolCalls];
  return m;
}
