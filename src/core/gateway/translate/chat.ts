/**
 * The upstream side of the gateway's API translations: OpenAI chat-completions shapes (the
 * request the translations build, the answer and stream chunks they read), an incremental SSE
 * parser, and a whole answer replayed as chunks, so that every combination of "the client wants
 * a stream" and "the upstream sent one" goes through one stream translator.
 */

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Text as one string, or as parts when the client sent several (their boundaries kept). */
export type ChatText = string | { type: 'text'; text: string }[];

export type ChatMessage =
  | { role: 'system' | 'user'; content: ChatText }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ChatToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type ChatResponseFormat = { type: 'json_object' } | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean; description?: string } };

/** The chat-completions body a translation sends upstream (only the fields it sets). */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop?: string[];
  tools?: ChatTool[];
  tool_choice?: ChatToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ChatResponseFormat;
  reasoning_effort?: string;
}

export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/** A non-streamed chat completion, as far as the translations read it. */
export interface ChatCompletion {
  id?: string;
  model?: string;
  choices?: {
    index?: number;
    message?: { role?: string; content?: string | null; tool_calls?: Partial<ChatToolCall>[] | null; refusal?: string | null };
    finish_reason?: string | null;
    /** vLLM: the stop string (or token id) that ended generation; null for end of sequence. */
    stop_reason?: string | number | null;
  }[];
  usage?: ChatUsage | null;
}

/** One tool call fragment of a streamed delta. */
export interface ChatToolCallDelta {
  index?: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** One streamed chunk (`chat.completion.chunk`), or an error event some servers send mid-stream. */
export interface ChatChunk {
  id?: string;
  model?: string;
  choices?: {
    index?: number;
    delta?: { role?: string; content?: string | null; tool_calls?: ChatToolCallDelta[] | null; refusal?: string | null };
    finish_reason?: string | null;
    stop_reason?: string | number | null;
  }[];
  usage?: ChatUsage | null;
  error?: unknown;
}

/** The finish of a chat completion, as the translations map it. */
export type Finish = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** Normalizes an upstream `finish_reason` (`function_call` is the legacy name of `tool_calls`; unknown ones count as a stop). */
export function finishOf(reason: string | null | undefined): Finish {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Incremental SSE parser: feed it text as it arrives, get each complete event's data (multi-line
 * data joined with newlines). Comments and fields other than `data` are skipped.
 */
export class SseParser {
  private buffer = '';

  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    for (;;) {
      const m = /\r?\n\r?\n/.exec(this.buffer);
      if (!m) break;
      const block = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
      if (data.length) out.push(data.join('\n'));
    }
    return out;
  }

  /** What is left at the end of the stream (an event without its closing blank line). */
  end(): string[] {
    const rest = this.buffer;
    this.buffer = '';
    return rest.trim() ? this.push(`${rest}\n\n`) : [];
  }
}

/** A whole answer as the chunks a stream of it would have had, so a stream translator can replay it. */
export function completionAsChunks(c: ChatCompletion): ChatChunk[] {
  const choice = c.choices?.[0];
  const message = choice?.message;
  const chunks: ChatChunk[] = [];
  const delta: NonNullable<NonNullable<ChatChunk['choices']>[number]['delta']> = { role: 'assistant' };
  if (message?.content) delta.content = message.content;
  if (message?.tool_calls?.length) {
    delta.tool_calls = message.tool_calls.map((t, index) => ({ index, id: t.id, type: 'function', function: { name: t.function?.name, arguments: t.function?.arguments ?? '' } }));
  }
  chunks.push({ id: c.id, model: c.model, choices: [{ index: 0, delta, finish_reason: choice?.finish_reason ?? 'stop', stop_reason: choice?.stop_reason }] });
  if (c.usage) chunks.push({ id: c.id, model: c.model, choices: [], usage: c.usage });
  return chunks;
}

/** An upstream error body in any of the shapes OpenAI-compatible servers use, reduced to what the translations need. */
export interface UpstreamError {
  message: string;
  type: string | null;
  code: string | null;
  param: string | null;
}

/**
 * Reads an upstream error: OpenAI's `{error: {message, type, param, code}}`, llama-server's
 * `{error: {code: 500, message, type}}`, vLLM's `{object: "error", message, type, code}`, a bare
 * string, or anything else (then the text itself, shortened).
 */
export function readUpstreamError(text: string, status: number): UpstreamError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
  const obj = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null;
  const inner = obj && typeof obj.error === 'object' && obj.error !== null ? (obj.error as Record<string, unknown>) : obj;
  const message = str(inner?.message) ?? str(obj?.error) ?? (text.trim().slice(0, 500) || `The upstream answered HTTP ${status} without a body.`);
  return { message, type: str(inner?.type), code: str(inner?.code), param: str(inner?.param) };
}
