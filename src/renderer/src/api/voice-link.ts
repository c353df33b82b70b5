import { isVoiceRelayClose, type VoiceRelayClose } from '../../../shared/contract/voice-socket.js';
import { VOICE_PORT_MESSAGE } from '../../../shared/ipc-channels.js';

/**
 * The live voice session's link to the core: JSON text messages and binary PCM both ways (the
 * protocol of src/shared/contract/voice-socket.ts, read and written by voice-client.ts). In a
 * browser it is the `/api/voice` WebSocket (login cookie); inside Electron it is a MessagePort
 * from the preload, which the main process relays to the same endpoint
 * (src/main/voice-relay.ts), so the page and the core code are identical in both.
 */
export interface VoiceLink {
  send(data: string | ArrayBuffer): void;
  /** Text arrives as string, audio as ArrayBuffer. */
  onMessage(listener: (data: string | ArrayBuffer) => void): void;
  /** Closed by either side; `reason` says why when the core refused (e.g. a bad start). */
  onClose(listener: (code: number, reason: string) => void): void;
  close(): void;
}

export function openVoiceLink(): Promise<VoiceLink> {
  return window.aima ? openPortLink(window.aima.openVoice) : openSocketLink();
}

function openSocketLink(): Promise<VoiceLink> {
  const url = `${window.location.origin.replace(/^http/, 'ws')}/api/voice`;
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  return new Promise((resolve, reject) => {
    ws.onerror = () => reject(new Error(`Could not open the voice session at ${url}. Is \`aima serve\` still running?`));
    ws.onopen = () => {
      ws.onerror = null;
      resolve({
        send: (data) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(data);
        },
        onMessage: (listener) => ws.addEventListener('message', (e) => listener(e.data as string | ArrayBuffer)),
        onClose: (listener) => ws.addEventListener('close', (e) => listener(e.code, e.reason)),
        close: () => ws.close(1000),
      });
    };
  });
}

/**
 * Electron: the preload asks main for a session and forwards the MessagePort it gets to this world
 * with window.postMessage (the pattern Electron documents for MessagePorts under contextIsolation).
 * Besides the protocol's own messages, the port carries `VoiceRelayClose` both ways: from main
 * when the core's socket closed, to main when the page ends the session.
 */
function openPortLink(request: () => void): Promise<VoiceLink> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      window.removeEventListener('message', onPort);
      reject(new Error('The desktop app did not open a voice session. Restart AIMA.'));
    }, 10_000);
    function onPort(event: MessageEvent) {
      if (event.source !== window || event.data !== VOICE_PORT_MESSAGE || !event.ports[0]) return;
      window.removeEventListener('message', onPort);
      clearTimeout(timer);
      const port = event.ports[0];
      const closeListeners: ((code: number, reason: string) => void)[] = [];
      let closed = false;
      const closeWith = (code: number, reason: string) => {
        if (closed) return;
        closed = true;
        for (const l of closeListeners) l(code, reason);
        port.close();
      };
      const messageListeners: ((data: string | ArrayBuffer) => void)[] = [];
      port.onmessage = (e: MessageEvent) => {
        const data = e.data as VoiceRelayClose | string | ArrayBuffer | ArrayBufferView;
        if (isVoiceRelayClose(data)) return closeWith(data.code ?? 1006, data.reason ?? '');
        const payload = ArrayBuffer.isView(data) ? (data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer) : (data as string | ArrayBuffer);
        for (const l of messageListeners) l(payload);
      };
      port.start();
      resolve({
        send: (data) => {
          if (!closed) port.postMessage(data);
        },
        onMessage: (l) => messageListeners.push(l),
        onClose: (l) => closeListeners.push(l),
        close: () => {
          if (closed) return;
          port.postMessage({ relay: 'close' } satisfies VoiceRelayClose);
          closeWith(1000, '');
        },
      });
    }
    window.addEventListener('message', onPort);
    request();
  });
}
