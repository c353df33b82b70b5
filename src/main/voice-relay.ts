/**
 * Relays a message port (Electron's MessagePortMain, given to the renderer's Voice page) to the
 * core's `/api/voice` WebSocket. The desktop app always has a core URL, whether it hosts the core
 * or attached to `aima serve`, so one relay serves both and the session code is the same one a
 * browser uses. Text stays text, binary stays binary: the frames are the protocol's
 * (src/shared/contract/voice-socket.ts), checked by the core and the page, not here. The one
 * message of the relay's own, `VoiceRelayClose`, carries a close across both ways.
 */
import WebSocket from 'ws';
import { isVoiceRelayClose, type VoiceRelayClose } from '../shared/contract/voice-socket.js';

/** The subset of MessagePortMain the relay uses (Electron-free, so it is tested with a fake). */
export interface RelayPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  start(): void;
  close(): void;
}

export interface RelayTarget {
  /** The core's HTTP URL, e.g. http://127.0.0.1:4777. */
  url: string;
  token: string;
}

type Outgoing = string | Buffer;

function toOutgoing(data: unknown): Outgoing | null {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

export function relayVoicePort(port: RelayPort, target: RelayTarget): { close(): void } {
  const ws = new WebSocket(`${target.url.replace(/^http/, 'ws')}/api/voice`, { headers: { authorization: `Bearer ${target.token}` } });
  // Whatever the page sends before the socket is open (its `start`) waits here, in order.
  const pending: Outgoing[] = [];
  let closed = false;
  const closePort = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    port.postMessage({ relay: 'close', code, reason } satisfies VoiceRelayClose);
    port.close();
  };

  port.on('message', (e) => {
    const data = e.data;
    if (isVoiceRelayClose(data)) {
      closed = true;
      port.close();
      ws.close(1000);
      return;
    }
    const out = toOutgoing(data);
    if (out === null) return;
    if (ws.readyState === WebSocket.OPEN) ws.send(out, { binary: typeof out !== 'string' });
    else pending.push(out);
  });
  port.on('close', () => {
    closed = true;
    ws.close(1000);
  });
  port.start();

  ws.on('open', () => {
    for (const out of pending.splice(0)) ws.send(out, { binary: typeof out !== 'string' });
  });
  ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
    if (closed) return;
    if (!isBinary) return port.postMessage(String(data));
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    // An ArrayBuffer of exactly this frame (a Buffer may be a view into a larger pool).
    port.postMessage(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  });
  ws.on('close', (code, reason) => closePort(code, reason.toString()));
  ws.on('unexpected-response', (_req, res) => {
    closePort(1008, `The core refused the voice session (HTTP ${res.statusCode}).`);
    ws.terminate();
  });
  ws.on('error', (err) => closePort(1011, `Voice session failed: ${err.message}`));
  return {
    close() {
      closePort(1001, 'The desktop app closed the session.');
      ws.close(1001);
    },
  };
}
