/**
 * Local API protection. Binding to loopback is not enough on its own: a web page the user visits
 * can make the browser send requests to 127.0.0.1 (cross-site requests) or point its own DNS name
 * at 127.0.0.1 (DNS rebinding). So every request's Host must name this server by a loopback name,
 * an Origin, when present, must be this server itself, and /api needs the per-install token.
 */
import type { IncomingMessage } from 'node:http';
import { tokenMatches } from './token.js';

export const COOKIE_NAME = 'aima_token';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for loopback bind addresses. */
export function isLoopbackHost(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * True when a request's peer address is a loopback address (127.0.0.0/8, ::1, or 127.x as
 * an IPv4-mapped IPv6 address on a dual-stack socket). Unlike Host, the client cannot choose it.
 */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d+\.\d+\.\d+$/.test(v4);
}

/**
 * Names a server listening beyond loopback answers to, by port (its host names and addresses, the
 * names its certificate covers). A DNS-rebinding page cannot present one of them over HTTPS (the
 * certificate would not match its own name), and over plain HTTP every path beyond the static UI
 * needs a credential that the browser keeps per name.
 */
const namesByPort = new Map<number, readonly string[]>();

/** Registers (or, with null, forgets) the names the server on `port` answers to besides loopback. */
export function setServerNames(port: number, names: readonly string[] | null): void {
  if (names) namesByPort.set(port, names.map((n) => (n.includes(':') && !n.startsWith('[') ? `[${n}]` : n).toLowerCase()));
  else namesByPort.delete(port);
  allowedHost = { header: '', port: -1 };
}

/** The last Host header allowed without extra hosts, and for which port (checked twice per request). */
let allowedHost = { header: '', port: -1 };

/** Host header check against DNS rebinding: a loopback name with this server's port. */
export function isAllowedHost(hostHeader: string | undefined, port: number, extraHosts: readonly string[] = []): boolean {
  if (!hostHeader) return false;
  if (hostHeader === allowedHost.header && port === allowedHost.port) return true;
  const ok = checkHost(hostHeader, port, extraHosts);
  if (ok && extraHosts.length === 0) allowedHost = { header: hostHeader, port };
  return ok;
}

function checkHost(hostHeader: string, port: number, extraHosts: readonly string[]): boolean {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.toLowerCase());
  if (!m) return false;
  const name = m[1]!;
  const hostPort = m[2] ? Number(m[2]) : 80;
  if (hostPort !== port) return false;
  return LOOPBACK_NAMES.has(name) || /^127\.\d+\.\d+\.\d+$/.test(name) || extraHosts.includes(name) || (namesByPort.get(port)?.includes(name) ?? false);
}

/** Origin check against cross-site requests: absent (non-browser clients) or this very server. */
export function isAllowedOrigin(origin: string | undefined, port: number, extraOrigins: readonly string[] = []): boolean {
  if (origin === undefined) return true;
  if (extraOrigins.includes(origin)) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol === 'http:') return isAllowedHost(url.host, port);
  // Over HTTPS the origin names the port explicitly unless it is 443.
  if (url.protocol === 'https:') return isAllowedHost(url.port ? url.host : `${url.host}:443`, port);
  return false;
}

/** Pulls the token from `Authorization: Bearer …`, `x-api-key` or the login cookie. */
export function tokenFromRequest(req: IncomingMessage): string | null {
  return bearer(req) ?? cookieToken(req);
}

/** The login cookie's value: the install token, or an API key a browser on another machine logged in with. */
function cookieToken(req: IncomingMessage): string | null {
  const cookie = req.headers.cookie;
  if (cookie) {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === COOKIE_NAME) return decodeURIComponent(v.join('='));
    }
  }
  return null;
}

export function isAuthorized(req: IncomingMessage, token: string): boolean {
  return tokenMatches(token, tokenFromRequest(req));
}

/** The cookie set by /login: HttpOnly so page scripts never see it, Strict so other sites never send it. */
export function loginCookie(token: string, secure = false): string {
  return `${COOKIE_NAME}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000${secure ? '; Secure' : ''}`;
}

/** What a request may present: the install token (bearer or cookie) or an API key. */
export interface AuthPolicy {
  token: string;
  keys: { active(): number; verify(key: string): boolean };
  /** The desktop page's credential: a bearer that opens /v1 and nothing else (never /api). */
  pageToken?: string;
}

/**
 * The key a client presents: `Authorization: Bearer <key>` (OpenAI's clients), else
 * `x-api-key: <key>` (Anthropic's), else, on a WebSocket upgrade, the subprotocol
 * `openai-insecure-api-key.<key>` (browsers cannot set headers there: OpenAI's Realtime clients
 * send the key so). Each is accepted wherever a key is.
 */
function bearer(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const key = req.headers['x-api-key'];
  if (typeof key === 'string' && key) return key.trim();
  const protocols = req.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const p of protocols.split(',')) {
      const t = p.trim();
      if (t.startsWith('openai-insecure-api-key.') && t.length > 24) return t.slice(24);
    }
  }
  return null;
}

/** A valid API key in `Authorization: Bearer` or `x-api-key`. */
export function hasValidApiKey(req: IncomingMessage, policy: AuthPolicy): boolean {
  const b = bearer(req);
  return b !== null && policy.keys.verify(b);
}

/** /api: the install token or an API key. */
export function authorizeApi(req: IncomingMessage, policy: AuthPolicy): boolean {
  if (isAuthorized(req, policy.token) || hasValidApiKey(req, policy)) return true;
  // A browser on another machine that logged in with an API key (POST /login): revoking the key logs it out.
  const c = cookieToken(req);
  return c !== null && policy.keys.verify(c);
}

/**
 * /v1 and /metrics: the install token or an API key (or, on /v1, the page token); with no API keys configured, local
 * clients (editors, scripts on the same host) need nothing — as with LM Studio or Ollama. "Local"
 * is the peer address, not the Host header (which any client sets as it likes); the Host check
 * then keeps out web pages that reach loopback through the browser (DNS rebinding).
 */
export function authorizeGateway(req: IncomingMessage, policy: AuthPolicy, port: number): boolean {
  if (authorizeApi(req, policy)) return true;
  if (policy.pageToken && req.url?.startsWith('/v1/') && tokenMatches(policy.pageToken, bearer(req))) return true;
  return policy.keys.active() === 0 && isLoopbackPeer(req.socket.remoteAddress) && isAllowedHost(req.headers.host, port);
}
