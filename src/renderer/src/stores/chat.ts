/**
 * The Chat page: a streamed conversation with one LLM through the gateway, with timings per reply.
 * Optional request options (tools, tool_choice, response_format, ...) go into each request as
 * they are; a reply's tool calls are collected from OpenAI's streamed deltas.
 */
import { create } from 'zustand';
import { gatewayFetch, on } from '../api/client.js';
import { readSse } from '../api/sse.js';

export interface GatewayModel {
  id: string;
  kind: string;
  state: string;
  reason: string | null;
  aliases: string[];
}

/** A tool call the model made, as OpenAI streams it: name, then `arguments` in pieces. */
export interface ChatToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  toolCalls?: ChatToolCall[];
  /** The reply was asked for as JSON (response_format json_object or json_schema). */
  json?: boolean;
  timings?: { ttftMs: number; totalMs: number; tokens: number; tokensPerSecond: number | null };
  error?: string;
}

interface ChatState {
  models: GatewayModel[];
  model: string;
  system: string;
  /** Extra request fields as JSON text (e.g. tools and tool_choice); empty for none. */
  options: string;
  messages: ChatMessage[];
  streaming: AbortController | null;
  /** While the reply waits for a free slot: its place in the model's queue and the expected wait. */
  queued: { position: number; etaMs: number | null } | null;
  error: string | null;
  loadModels(): Promise<void>;
  setModel(id: string): void;
  setSystem(text: string): void;
  setOptions(text: string): void;
  send(text: string): Promise<void>;
  stop(): void;
  clear(): void;
}

export const useChat = create<ChatState>((set, get) => ({
  models: [],
  model: '',
  system: 'You are a helpful assistant.',
  options: '',
  messages: [],
  streaming: null,
  queued: null,
  error: null,
  async loadModels() {
    try {
      const res = await gatewayFetch('/v1/models');
      const body = (await res.json()) as { data?: { id: string; aima?: Omit<GatewayModel, 'id'> }[]; error?: { message: string } };
      if (!res.ok) throw new Error(body.error?.message ?? res.statusText);
      const models = (body.data ?? []).map((m) => ({ id: m.id, kind: m.aima?.kind ?? 'llm', state: m.aima?.state ?? 'running', reason: m.aima?.reason ?? null, aliases: m.aima?.aliases ?? [] })).filter((m) => m.kind === 'llm');
      const current = get().model;
      set({ models, model: models.some((m) => m.id === current) ? current : (models.find((m) => m.state === 'running') ?? models[0])?.id ?? '', error: null });
    } catch (err) {
      set({ error: `Could not list models: ${(err as Error).message}` });
    }
  },
  setModel: (model) => set({ model }),
  setSystem: (system) => set({ system }),
  setOptions: (options) => set({ options }),
  async send(text) {
    const { model, system, options } = get();
    if (!model || get().streaming) return;
    let extra: Record<string, unknown> = {};
    try {
      extra = parseOptions(options);
    } catch (err) {
      set({ error: (err as Error).message });
      return;
    }
    const history = [...get().messages.filter((m) => !m.error), { role: 'user' as const, content: text }];
    const controller = new AbortController();
    const json = isJsonFormat(extra.response_format);
    set({ messages: [...history, { role: 'assistant', content: '', ...(json ? { json } : {}) }], streaming: controller, error: null });
    const started = performance.now();
    let firstAt: number | null = null;
    let tokens = 0;
    const update = (patch: Partial<ChatMessage>) =>
      set((s) => {
        const messages = s.messages.slice();
        messages[messages.length - 1] = { ...messages[messages.length - 1]!, ...patch };
        return { messages };
      });
    // The gateway's live queue names this request by the id it sends (x-request-id).
    const requestId = crypto.randomUUID();
    const offQueue = on('gateway.queue', (q) => {
      if (q.model !== model && !get().models.find((m) => m.id === q.model)?.aliases.includes(model)) return;
      const mine = q.waiting.find((w) => w.clientId === requestId);
      set({ queued: mine ? { position: mine.position, etaMs: mine.etaMs } : null });
    });
    try {
      const res = await gatewayFetch('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ ...extra, model, stream: true, messages: [...(system.trim() ? [{ role: 'system', content: system }] : []), ...history.map(toRequestMessage)] }),
        signal: controller.signal,
      });
      offQueue();
      set({ queued: null });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
      }
      let content = '';
      const toolCalls: ChatToolCall[] = [];
      for await (const chunk of readSse(res.body)) {
        // A stream can end with an error event (the model's server stopped mid-answer).
        const streamError = (chunk as { error?: { message?: string } }).error;
        if (streamError) throw new Error(streamError.message ?? 'the stream failed');
        const delta = (chunk as { choices?: { delta?: StreamDelta }[] }).choices?.[0]?.delta;
        if (!delta?.content && !delta?.tool_calls?.length) continue;
        firstAt ??= performance.now();
        tokens++;
        content += delta.content ?? '';
        for (const d of delta.tool_calls ?? []) {
          const call = (toolCalls[d.index] ??= { id: '', name: '', arguments: '' });
          call.id ||= d.id ?? '';
          call.name ||= d.function?.name ?? '';
          call.arguments += d.function?.arguments ?? '';
        }
        update({ content, ...(toolCalls.length ? { toolCalls: toolCalls.map((c) => ({ ...c })) } : {}) });
      }
      const totalMs = performance.now() - started;
      const genMs = firstAt === null ? 0 : performance.now() - firstAt;
      update({ timings: { ttftMs: Math.round((firstAt ?? performance.now()) - started), totalMs: Math.round(totalMs), tokens, tokensPerSecond: genMs > 0 ? Math.round((tokens / genMs) * 10000) / 10 : null } });
    } catch (err) {
      if (controller.signal.aborted) update({ error: 'Stopped.' });
      else update({ error: (err as Error).message });
    } finally {
      offQueue();
      set({ streaming: null, queued: null });
    }
  },
  stop() {
    get().streaming?.abort();
  },
  clear: () => set({ messages: [] }),
}));

/** One streamed chat delta: text and/or pieces of tool calls. */
interface StreamDelta {
  content?: string | null;
  tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
}

/** The request options text as an object; an error names what is wrong with it. */
export function parseOptions(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Request options are not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('Request options must be a JSON object, e.g. {"response_format": {"type": "json_object"}}.');
  return value as Record<string, unknown>;
}

const isJsonFormat = (format: unknown) => {
  const type = (format as { type?: unknown } | undefined)?.type;
  return type === 'json_object' || type === 'json_schema';
};

/**
 * A message as the next request carries it. The playground runs no tools, so an earlier tool call
 * goes back as text saying what was called (a call without a result would be refused).
 */
function toRequestMessage(m: ChatMessage): { role: ChatMessage['role']; content: string } {
  if (!m.toolCalls?.length) return { role: m.role, content: m.content };
  const calls = m.toolCalls.map((c) => `[called ${c.name}(${c.arguments})]`).join('\n');
  return { role: m.role, content: m.content ? `${m.content}\n${calls}` : calls };
}
