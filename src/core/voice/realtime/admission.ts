/**
 * Whether a `/v1/realtime` upgrade is let in, decided before the WebSocket handshake (a pure
 * function: table-tested). A refusal is an HTTP status with an OpenAI-shaped error body, so a
 * client sees why before any audio is sent.
 */

export interface AdmissionFacts {
  /** The Origin is absent, the core's own, or on the gateway's CORS list. */
  originAllowed: boolean;
  origin: string | undefined;
  /** The request may use /v1 (API key, install token, or a loopback peer while no key exists). */
  authorized: boolean;
  /** The `model` query parameter. */
  model: string | null;
  sessions: number;
  maxSessions: number;
  /** Why the voice chain for `model` cannot be put together (no ASR or TTS set up), or null. */
  chainProblem: string | null;
}

export type Admission = { ok: true } | { ok: false; status: number; type: string; code: string; message: string };

export function admitRealtime(f: AdmissionFacts): Admission {
  if (!f.originAllowed) {
    return { ok: false, status: 403, type: 'invalid_request_error', code: 'cors_origin_denied', message: `Origin ${f.origin} is not allowed to use /v1/realtime. Add it to the corsOrigins setting (Settings page, or \`aima settings set corsOrigins\`).` };
  }
  if (!f.authorized) {
    return {
      ok: false,
      status: 401,
      type: 'authentication_error',
      code: 'invalid_api_key',
      message: 'Missing or invalid API key. Send "Authorization: Bearer <key>" (browsers: the "openai-insecure-api-key.<key>" subprotocol) with a key from `aima key create`.',
    };
  }
  if (!f.model) {
    return { ok: false, status: 400, type: 'invalid_request_error', code: 'missing_model', message: 'Name the voice chain in the query: /v1/realtime?model=default (the configured chain) or ?model=<an LLM model name>.' };
  }
  if (f.sessions >= f.maxSessions) {
    return {
      ok: false,
      status: 429,
      type: 'rate_limit_error',
      code: 'too_many_sessions',
      message: `${f.sessions} Realtime session(s) are open, the most the realtimeMaxSessions setting allows (${f.maxSessions}). Close one, or raise the setting.`,
    };
  }
  if (f.chainProblem) return { ok: false, status: 400, type: 'invalid_request_error', code: 'voice_chain_incomplete', message: f.chainProblem };
  return { ok: true };
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** The refusal as raw HTTP on the socket being upgraded. */
export function refusalResponse(a: Extract<Admission, { ok: false }>): string {
  const body = JSON.stringify({ error: { message: a.message, type: a.type, code: a.code, param: null } });
  return `HTTP/1.1 ${a.status} ${REASONS[a.status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** The subprotocol the server answers with: `realtime` when offered, else the first that carries no key. */
export function chooseSubprotocol(offered: ReadonlySet<string>): string | false {
  if (offered.has('realtime')) return 'realtime';
  for (const p of offered) if (!p.startsWith('openai-insecure-api-key.')) return p;
  return false;
}

/** A client that asked for the beta interface (`OpenAI-Beta: realtime=v1`, or its browser subprotocol). */
export function wantsBeta(header: string | string[] | undefined, subprotocols: string | undefined): boolean {
  const h = Array.isArray(header) ? header.join(',') : (header ?? '');
  return /realtime=v1/.test(h) || (subprotocols ?? '').split(',').some((p) => p.trim() === 'openai-beta.realtime-v1');
}
