/**
 * The Node client of the core's HTTP+WebSocket adapter: the CLI uses it, and so does the desktop
 * app when another process already hosts the core for its data directory.
 */
import { request } from 'node:http';
import type WebSocket from 'ws';
import { createHttpTransport, type FetchLike, type HttpTransport, type SocketLike } from '../../shared/http-transport.js';

export interface ClientOptions {
  url: string;
  token: string;
  onConnectionChange?: (connected: boolean) => void;
}

export function createHttpClient(opts: ClientOptions): HttpTransport {
  const headers = { authorization: `Bearer ${opts.token}` };
  return createHttpTransport({
    baseUrl: opts.url,
    headers,
    fetch: httpFetch,
    openSocket: (url) => openLazySocket(url, headers),
    onConnectionChange: opts.onConnectionChange,
  });
}

/**
 * A call over node:http, answered with the part of a fetch Response the transport reads. Node's
 * global fetch (undici) would cost a short-lived CLI process more start-up time and memory than
 * everything else a call needs.
 */
const httpFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const body = Buffer.from(init.body, 'utf8');
    const req = request(url, { method: init.method, headers: { ...init.headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ ok: status >= 200 && status < 300, status, statusText: res.statusMessage ?? '', json: async () => JSON.parse(text) as unknown });
      });
    });
    req.on('error', reject);
    req.end(body);
  });

/**
 * The events socket, with `ws` imported when it is first opened: a client that only makes calls
 * (most CLI commands) never loads it. Handlers set on the returned object receive the real
 * socket's events; closed before `ws` has loaded, no socket is made.
 */
function openLazySocket(url: string, headers: Record<string, string>): SocketLike {
  let ws: WebSocket | null = null;
  let closed = false;
  const socket: SocketLike = {
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
    close() {
      closed = true;
      ws?.close();
    },
  };
  import('ws').then(
    ({ default: WebSocketClass }) => {
      if (closed) return;
      ws = new WebSocketClass(url, { headers });
      ws.onopen = (ev) => socket.onopen?.(ev);
      ws.onmessage = (ev) => socket.onmessage?.(ev);
      ws.onerror = (ev) => socket.onerror?.(ev);
      ws.onclose = (ev) => socket.onclose?.(ev);
    },
    (err: unknown) => {
      socket.onerror?.(err);
      socket.onclose?.(err);
    },
  );
  return socket;
}

/** Wraps a transport as the CoreApi object shape (same as the in-process core's). */
export { transportToApi } from '../../shared/transport-api.js';
