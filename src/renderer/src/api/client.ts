/**
 * The renderer's one API client. Inside Electron it speaks IPC through the preload bridge; in a
 * browser (served by `aima serve`) it speaks HTTP + WebSocket with the login cookie. Pages only see
 * the ApiTransport interface.
 */
import { calls, type ApiTransport, type CallName, type CallParams, type CallResult, type EventName, type EventPayload } from '../../../shared/contract/index.js';
import { createHttpTransport, type SocketLike } from '../../../shared/http-transport.js';
import { AimaError } from '../../../shared/errors.js';
import type { AimaBridge } from '../../../preload/api.js';
import { useConnection } from '../stores/connection.js';

function ipcTransport(bridge: AimaBridge): ApiTransport {
  bridge.ready();
  return {
    async invoke<K extends CallName>(name: K, params: CallParams<K>): Promise<CallResult<K>> {
      const reply = await bridge.invoke(name, params);
      if (!reply.ok) throw AimaError.fromBody(reply.error);
      return calls[name].result.parse(reply.result) as CallResult<K>;
    },
    on<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void) {
      return bridge.on(name, listener as (p: unknown) => void);
    },
  };
}

function browserTransport(): ApiTransport {
  return createHttpTransport({
    baseUrl: window.location.origin,
    fetch: window.fetch.bind(window),
    openSocket: (url) => new WebSocket(url) as unknown as SocketLike,
    onConnectionChange: (connected) => useConnection.getState().setLive(connected),
  });
}

const transport: ApiTransport = window.aima ? ipcTransport(window.aima) : browserTransport();

/** Calls the core; an `unauthorized` answer flips the app to its login screen. */
export async function invoke<K extends CallName>(name: K, params: CallParams<K>): Promise<CallResult<K>> {
  try {
    return await transport.invoke(name, params);
  } catch (err) {
    if (err instanceof AimaError && err.code === 'unauthorized') useConnection.getState().setUnauthorized();
    throw err;
  }
}

export function on<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void {
  return transport.on(name, listener);
}

export const runningInElectron = Boolean(window.aima);

/** Desktop-only helpers (file dialog, dropped-file paths); undefined in a browser. */
export const desktop: Pick<AimaBridge, 'pickModelPath' | 'pathForFile' | 'gatewayAccess'> | undefined = window.aima;

let gatewayAccess: Promise<{ url: string; token: string }> | null = null;

/**
 * fetch() against the OpenAI-compatible gateway: same origin with the login cookie in a browser;
 * in the desktop app the gateway URL and a credential that opens /v1 only come from the preload.
 */
export async function gatewayFetch(path: string, init: RequestInit = {}): Promise<Response> {
  if (!desktop) return fetch(path, { ...init, credentials: 'same-origin' });
  gatewayAccess ??= desktop.gatewayAccess();
  const { url, token } = await gatewayAccess;
  return fetch(url + path, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
}
