/** Whether the UI can reach the core: drives the login screen and the "reconnecting" banner. */
import { create } from 'zustand';

interface ConnectionState {
  status: 'unknown' | 'ok' | 'unauthorized';
  live: boolean;
  setOk(): void;
  setUnauthorized(): void;
  setLive(live: boolean): void;
}

export const useConnection = create<ConnectionState>((set) => ({
  status: 'unknown',
  live: true,
  setOk: () => set({ status: 'ok' }),
  setUnauthorized: () => set({ status: 'unauthorized' }),
  setLive: (live) => set({ live }),
}));
