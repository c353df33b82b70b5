/**
 * The Node client of the core's HTTP+WebSocket adapter: the CLI uses it, and so does the desktop
 * app when another process already hosts the core for its data directory.
 */
import WebSocket from 'ws';
import { createHttpTransport, type HttpTransport, type SocketLike } from '../../../shared/http-transport.js';

export interface ClientOptions {
  url: string;
  token: string;
  onConnectionChange?: (connected: boolean) => void;
}

export function createHttpClient(opts: ClientOptions): HttpTransport {
  return createHttpTransport({
    baseUrl: opts.url,
    headers: { authorization: `Bearer ${opts.token}` },
    fetch: globalThis.fetch.bind(globalThis),
    openSocket: (url) => new WebSocket(url, { headers: { authorization: `Bearer ${opts.token}` } }) as unknown as SocketLike,
    onConnectionChange: opts.onConnectionChange,
  });
}

/** Wraps a transport as the CoreApi object shape (same as the in-process core's). */
export { transportToApi } from '../../../shared/transport-api.js';
