/**
 * JSON requests to a hub's API, as both adapters make them: through the environment's proxy
 * (proxy.ts), with a timeout, and every failure said in words that name the hub, its endpoint
 * variable and the fix (an untrusted certificate, an unreachable host, a proxy that wants a login,
 * an HTTP status).
 */
import { AimaError } from '../../shared/errors.js';
import { describeProxy, fetchVia, proxyFor, type ProxyConfigError, type ProxyRoute } from './proxy.js';
import { PROXY_LOGIN_FIX, untrustedCertificate, UNTRUSTED_CERTIFICATE_FIX } from './transfer-error.js';

export interface HubHttpOptions {
  endpoint: string;
  /** The variable that points at a mirror: HF_ENDPOINT, MODELSCOPE_ENDPOINT. */
  endpointVariable: string;
  timeoutMs?: number;
  /** Turns an HTTP error status into the error the user sees (hub-specific wording and fixes). */
  statusError(status: number, what: string, repo: string | undefined, body: string): AimaError;
}

export interface HubRequest {
  url: string;
  /** What was being done, for "Could not <what>: …". */
  what: string;
  repo?: string;
  method?: 'GET' | 'PUT';
  headers?: Record<string, string>;
  json?: unknown;
}

export async function hubRequest(o: HubHttpOptions, r: HubRequest): Promise<Response> {
  let res: Response;
  let route: ProxyRoute | null;
  try {
    route = proxyFor(r.url);
  } catch (err) {
    throw new AimaError('bad-request', `Could not ${r.what}: ${(err as Error).message}`, (err as ProxyConfigError).fix);
  }
  try {
    res = await fetchVia(route, r.url, {
      method: r.method ?? 'GET',
      headers: { accept: 'application/json', ...(r.json !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers },
      ...(r.json !== undefined ? { body: JSON.stringify(r.json) } : {}),
      signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const cert = untrustedCertificate(err);
    if (cert) throw new AimaError('unavailable', `Could not ${r.what}: the TLS certificate of ${o.endpoint} is not trusted (${cert.message}).`, UNTRUSTED_CERTIFICATE_FIX);
    const why = causes(err);
    // undici reports a proxy's 407 to a CONNECT as an error, not a response.
    if (route && /\b407\b/.test(why)) throw proxyLoginError(route, r.what);
    if (route) throw new AimaError('unavailable', `Could not ${r.what}: ${o.endpoint} is unreachable through ${describeProxy(route)} (${why}).`, `Check that the proxy runs and ${route.variable} is right, or list ${new URL(r.url).hostname} in NO_PROXY.`);
    throw new AimaError('unavailable', `Could not ${r.what}: ${o.endpoint} is unreachable (${why}).`, `Check the network, or set ${o.endpointVariable} to a reachable mirror.`);
  }
  if (res.ok) return res;
  if (res.status === 407 && route) throw proxyLoginError(route, r.what);
  const body = await res.text().catch(() => '');
  throw o.statusError(res.status, r.what, r.repo, body);
}

/** The response's JSON, or an error saying the endpoint did not answer with JSON (a captive portal, a wrong mirror address). */
export async function hubJson(o: HubHttpOptions, res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new AimaError('unavailable', `Could not ${what}: ${o.endpoint} did not answer with JSON (${text.slice(0, 80).replace(/\s+/g, ' ')}…).`, `Check that ${o.endpointVariable} points at the hub's address.`);
  }
}

const proxyLoginError = (route: ProxyRoute, what: string) => new AimaError('unauthorized', `Could not ${what}: ${describeProxy(route)} asked for a login (HTTP 407).`, PROXY_LOGIN_FIX);

/** "fetch failed (connect ECONNREFUSED …)": fetch's own message says little, its causes say what failed. */
function causes(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.join(': ');
}
