/**
 * The HTTP+WebSocket client side of the API contract, written once for both the browser (the web
 * UI) and Node (CLI, desktop app attached to another core): calls are POST /api/call/<name>,
 * events arrive on the /api/events WebSocket, which reconnects by itself.
 */
import { calls, events as eventSchemas, isEventName, type ApiTransport, type CallName, type CallParams, type CallResult, type EventName, type EventPayload } from './contract/index.js';
import { AimaError, parseErrorBody } from './errors.js';

/** The part of a WebSocket (browser or `ws`) this client needs. */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

/** The part of fetch() this client uses: the browser's fetch fits, and so does a small Node one. */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; credentials: 'same-origin' },
) => Promise<{ ok: boolean; status: number; statusText: string; json(): Promise<unknown> }>;

export interface HttpTransportOptions {
  baseUrl: string;
  headers?: Record<string, string>;
  fetch: FetchLike;
  openSocket: (url: string) => SocketLike;
  /** Called when the events socket opens or drops (the UI shows a banner). */
  onConnectionChange?: (connected: boolean) => void;
}

export interface HttpTransport extends ApiTransport {
  /**
   * Resolves once the events socket is open, so a caller that subscribes and then reads a
   * snapshot (a log tail, a list) misses no event that happens in between.
   */
  eventsReady(): Promise<void>;
  close(): void;
}

export function createHttpTransport(opts: HttpTransportOptions): HttpTransport {
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  let socket: SocketLike | null = null;
  let closed = false;
  let retryMs = 250;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let open = false;
  let waiters: (() => void)[] = [];

  const connect = () => {
    if (closed || socket) return;
    const wsUrl = opts.baseUrl.replace(/^http/, 'ws') + '/api/events';
    const s = opts.openSocket(wsUrl);
    socket = s;
    s.onopen = () => {
      retryMs = 250;
      open = true;
      for (const w of waiters) w();
      waiters = [];
      opts.onConnectionChange?.(true);
    };
    s.onmessage = (ev) => {
      let msg: { event?: string; payload?: unknown };
      try {
        msg = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (!msg.event || !isEventName(msg.event)) return;
      const parsed = eventSchemas[msg.event].safeParse(msg.payload);
      if (!parsed.success) return;
      for (const l of listeners.get(msg.event) ?? []) l(parsed.data);
    };
    s.onerror = () => {};
    s.onclose = () => {
      socket = null;
      open = false;
      opts.onConnectionChange?.(false);
      if (closed || listeners.size === 0) return;
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };

  return {
    async invoke<K extends CallName>(name: K, params: CallParams<K>): Promise<CallResult<K>> {
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await opts.fetch(`${opts.baseUrl}/api/call/${name}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...opts.headers },
          body: JSON.stringify(params ?? {}),
          credentials: 'same-origin',
        });
      } catch (err) {
        throw new AimaError('unavailable', `Cannot reach the AIMA core at ${opts.baseUrl} (${(err as Error).message}).`, 'Start it with `aima serve`.');
      }
      const body = (await res.json().catch(() => null)) as { result?: unknown; error?: unknown } | null;
      if (!res.ok || !body || !('result' in body)) {
        const error = parseErrorBody(body?.error);
        if (error) throw AimaError.fromBody(error);
        throw new AimaError('internal', `The core answered ${res.status} ${res.statusText} to ${name}.`);
      }
      const result = calls[name].result.safeParse(body.result);
      if (!result.success) throw new AimaError('internal', `The core's answer to ${name} does not match this client's contract.`, 'Update the client or the core so their versions match.');
      return result.data as CallResult<K>;
    },
    on<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void): () => void {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener as (p: unknown) => void);
      connect();
      return () => {
        set!.delete(listener as (p: unknown) => void);
        if (set!.size === 0) listeners.delete(name);
      };
    },
    eventsReady() {
      if (open) return Promise.resolve();
      connect();
      // Never hang a command on the events socket: after 3 s go on without it.
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3000);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    close() {
      closed = true;
      for (const w of waiters) w();
      waiters = [];
      clearTimeout(retryTimer);
      socket?.close();
      socket = null;
    },
  };
}
