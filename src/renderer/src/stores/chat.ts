/** The Chat page: a streamed conversation with one LLM through the gateway, with timings per reply. */
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

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  timings?: { ttftMs: number; totalMs: number; tokens: number; tokensPerSecond: number | null };
  error?: string;
}

interface ChatState {
  models: GatewayModel[];
  model: string;
  system: string;
  messages: ChatMessage[];
  streaming: AbortController | null;
  /** While the reply waits for a free slot: its place in the model's queue and the expected wait. */
  queued: { position: number; etaMs: number | null } | null;
  error: string | null;
  loadModels(): Promise<void>;
  setModel(id: string): void;
  setSystem(text: string): void;
  send(text: string): Promise<void>;
  stop(): void;
  clear(): void;
}

export const useChat = create<ChatState>((set, get) => ({
  models: [],
  model: '',
  system: 'You are a helpful assistant.',
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
  async send(text) {
    const { model, system } = get();
    if (!model || get().streaming) return;
    const history = [...get().messages.filter((m) => !m.error), { role: 'user' as const, content: text }];
    const controller = new AbortController();
    set({ messages: [...history, { role: 'assistant', content: '' }], streaming: controller, error: null });
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
        body: JSON.stringify({ model, stream: true, messages: [...(system.trim() ? [{ role: 'system', content: system }] : []), ...history.map(({ role, content }) => ({ role, content }))] }),
        signal: controller.signal,
      });
      offQueue();
      set({ queued: null });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
      }
      let content = '';
      for await (const chunk of readSse(res.body)) {
        // A stream can end with an error event (the model's server stopped mid-answer).
        const failure = (chunk as { error?: { message?: string } }).error;
        if (failure) throw new Error(failure.message ?? 'The answer ended with an error.');
        const delta = (chunk as { choices?: { delta?: { content?: string } }[] }).choices?.[0]?.delta?.content;
        if (!delta) continue;
        firstAt ??= performance.now();
        tokens++;
        content += delta;
        update({ content });
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
