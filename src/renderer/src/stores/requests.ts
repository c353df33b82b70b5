/** The gateway's recent requests and the requests waiting per model, live from `gateway.request` and `gateway.queue`. */
import { create } from 'zustand';
import type { ModelQueueState, RequestRecord } from '../../../shared/contract/index.js';
import { invoke, on } from '../api/client.js';

interface RequestsState {
  items: RequestRecord[];
  /** Per model, while requests wait for it. */
  queues: Record<string, ModelQueueState>;
  load(): Promise<void>;
}

export const useRequests = create<RequestsState>((set) => ({
  items: [],
  queues: {},
  async load() {
    const [items, queue] = await Promise.all([invoke('gateway.requests', { limit: 50 }), invoke('gateway.queue', {})]);
    set({ items, queues: Object.fromEntries(queue.models.filter((q) => q.waiting.length > 0).map((q) => [q.model, q])) });
  },
}));

on('gateway.request', (r) => useRequests.setState((s) => ({ items: [r, ...s.items].slice(0, 50) })));
on('gateway.queue', (q) =>
  useRequests.setState((s) => {
    const queues = { ...s.queues };
    if (q.waiting.length > 0) queues[q.model] = q;
    else delete queues[q.model];
    return { queues };
  }),
);
