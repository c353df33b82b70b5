/** The shape of `window.aima` that the preload exposes; the renderer's IPC client wraps it. */
import type { InvokeReply } from '../shared/ipc-channels.js';

export interface AimaBridge {
  invoke(name: string, params: unknown): Promise<InvokeReply>;
  on(name: string, listener: (payload: unknown) => void): () => void;
  ready(): void;
  /** Desktop only: the native open dialog; null when cancelled. */
  pickModelPath(what: 'file' | 'folder'): Promise<string | null>;
  /** Desktop only: the gateway's URL and a bearer credential that opens /v1 only (never /api). */
  gatewayAccess(): Promise<{ url: string; token: string }>;
  /** Desktop only: asks main for a voice session; its MessagePort arrives as a window message (see voice-link.ts). */
  openVoice(): void;
  /** Desktop only: the filesystem path of a dropped file. */
  pathForFile(file: File): string;
}

declare global {
  interface Window {
    aima?: AimaBridge;
  }
}
