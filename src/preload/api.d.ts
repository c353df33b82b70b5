/** The shape of `window.aima` that the preload exposes; the renderer's IPC client wraps it. */
import type { InvokeReply } from '../shared/ipc-channels.js';

export interface AimaBridge {
  invoke(name: string, params: unknown): Promise<InvokeReply>;
  on(name: string, listener: (payload: unknown) => void): () => void;
  ready(): void;
}

declare global {
  interface Window {
    aima?: AimaBridge;
  }
}
