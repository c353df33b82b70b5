/** The gateway's recent requests, live from the `gateway.request` event. */
import { create } from 'zustand';
import type { RequestRecord } from '../../../shared/contract/index.js';
import { invoke, on } from '../api/client.js';

interface RequestsState {
  items: RequestRecord[];
  load(): Promise<void>;
}

export const useRequests = create<RequestsState>((set) => ({
  items: [],
  async load() {
    set({ items: await invoke('gateway.requests', { limit: 50 }) });
  },
}));

on('gateway.request', (r) => useRequests.setState((s) => ({ items: [r, ...s.items].slice(0, 50) })));
