/**
 * Tool calls in OpenAI's shapes: the grammar that forces one (tool_choice "required" or a named
 * function), the streaming reader that turns that grammar's output into a call's name and
 * `arguments` fragments, the calls node-llama-cpp parsed from a chat wrapper's own call syntax
 * (tool_choice "auto"), and the message/delta shapes of both.
 *
 * The worker makes at most one call per answer (`parallel_tool_calls: true` permits several, it
 * does not require them).
 */
import { randomBytes } from 'node:crypto';
import type { GbnfJsonSchema, LlamaChatResponseFunctionCall, ChatModelFunctions } from 'node-llama-cpp';
import type { PreparedTool } from './chat-plan.js';

/** A finished (or cut) call: what the non-streamed message carries. */
export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, exactly the concatenation of the streamed fragments. */
  arguments: string;
}

/** OpenAI-style call id: `call_` + 24 random alphanumerics. */
export function newCallId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return `call_${[...randomBytes(24)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

/**
 * The grammar schema of a forced call. One candidate: its arguments object alone (the name is
 * known). Several: `{"name": <one of them>, "arguments": <that function's arguments>}`, name first
 * so the call's name is known before its arguments stream.
 */
export function forcedCallGrammar(tools: readonly PreparedTool[]): GbnfJsonSchema {
  if (tools.length === 1) return tools[0].parameters.grammar;
  return {
    oneOf: tools.map((t) => ({ type: 'object', properties: { name: { const: t.name }, arguments: t.parameters.grammar } }) as GbnfJsonSchema),
  };
}

const WRAPPER_HEAD = /^\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*/;

/**
 * Reads the output of {@link forcedCallGrammar} as it is generated: calls `onStart(name)` once the
 * name is known, then `onArguments(fragment)` with pieces of the arguments JSON. Trailing
 * whitespace (and, with several candidates, the wrapper's closing brace) is held back until more
 * text shows it is part of the arguments, so the fragments concatenate to {@link finish}'s
 * `arguments` exactly.
 */
export class ForcedCallReader {
  private head = '';
  private args = '';
  private emitted = 0;
  private started = false;
  name: string | null;

  constructor(
    private readonly names: readonly string[],
    private readonly onStart: (name: string) => void,
    private readonly onArguments: (fragment: string) => void,
  ) {
    this.name = names.length === 1 ? names[0] : null;
  }

  push(text: string): void {
    if (!text) return;
    if (this.names.length === 1) {
      this.start();
      this.args += text;
    } else if (this.name === null) {
      this.head += text;
      const m = WRAPPER_HEAD.exec(this.head);
      if (!m) return;
      this.name = JSON.parse(m[1]) as string;
      this.start();
      this.args = this.head.slice(m[0].length);
    } else {
      this.args += text;
    }
    if (this.emitted === 0) this.args = this.args.trimStart();
    this.release(this.names.length === 1 ? /\s*$/ : /\s*(\}\s*)?$/);
  }

  private start(): void {
    if (this.started || this.name === null) return;
    this.started = true;
    this.onStart(this.name);
  }

  /** Emits what is certainly part of the arguments: all but the tail that `held` matches. */
  private release(held: RegExp): void {
    const tail = held.exec(this.args)![0].length;
    const safe = this.args.length - tail;
    if (safe > this.emitted) {
      this.onArguments(this.args.slice(this.emitted, safe));
      this.emitted = safe;
    }
  }

  /**
   * The call's name and arguments at the end of generation (`complete`: the grammar finished, not
   * cut by max_tokens); emits the last fragment. Null when no name was generated before a cut.
   */
  finish(complete: boolean): { name: string; arguments: string } | null {
    if (this.name === null) return null;
    let args = this.args;
    if (complete && this.names.length > 1) args = args.replace(/\s*\}\s*$/, '');
    args = args.trimEnd();
    this.start();
    if (args.length > this.emitted) {
      this.onArguments(args.slice(this.emitted));
      this.emitted = args.length;
    }
    return { name: this.name, arguments: args };
  }
}

/**
 * The calls node-llama-cpp parsed from the chat wrapper's call syntax (tool_choice "auto"), as
 * OpenAI calls; their arguments are the parsed params as compact JSON. At most `max` of them.
 */
export function callsFromChatResponse(calls: readonly LlamaChatResponseFunctionCall<ChatModelFunctions>[] | undefined, max = 1): { name: string; arguments: string }[] {
  return (calls ?? []).slice(0, max).map((c) => ({ name: c.functionName, arguments: JSON.stringify(c.params ?? {}) }));
}

/** The `tool_calls` of a non-streamed assistant message. */
export const messageToolCalls = (calls: readonly ToolCall[]) => calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));

/** The first streamed delta of call `index`: id, type and name, with empty arguments. */
export const callStartDelta = (index: number, call: { id: string; name: string }) => ({
  delta: { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] },
});

/** A streamed piece of call `index`'s arguments. */
export const callArgumentsDelta = (index: number, fragment: string) => ({ delta: { tool_calls: [{ index, function: { arguments: fragment } }] } });
