/**
 * The core's HTTP server: the HTTP+WebSocket adapter of the API contract under /api, the login
 * URL, the web UI, and a hook for further routes (the OpenAI-compatible gateway mounts /v1 here).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { existsSync } from 'node:fs';
import sirv from 'sirv';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CoreApi } from '../../shared/contract/index.js';
import { AimaError, httpStatusOf, toAimaError } from '../../shared/errors.js';
import { HttpError, readBody, sendJson as writeJson } from '../../lib/http.js';
import { dispatchCall } from '../api/dispatch.js';
import type { UncontractedCalls } from '../feature.js';
import type { CoreEvents } from '../events.js';
import { authorizeApi, hasValidApiKey, isAllowedHost, isAllowedOrigin, loginCookie, setServerNames, type AuthPolicy } from './security.js';
import { remoteNames, urlHost } from './tls/server-names.js';
import { tokenMatches } from './token.js';

/**
 * A mounted route (the gateway): called synchronously for every request whose Host passed the
 * check, before anything else, with the raw path and query string (no URL object: this is the
 * gateway's hot path). Returns true when it took the request; it then owns CORS and auth for it.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, path: string, query: string) => boolean;

/**
 * A mounted WebSocket endpoint: called for upgrades under /api/ other than /api/events, after the
 * Host, Origin and token checks; and for upgrades under /v1/ after the Host check only (such a
 * route owns CORS and auth, as the gateway's routes do). Returns true when it took the socket.
 */
export type UpgradeRoute = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => boolean;

export interface ServerOptions {
  api: CoreApi;
  events: CoreEvents;
  auth: AuthPolicy;
  host: string;
  port: number;
  /** Built web UI (out/renderer); when missing, / explains how to build it. */
  uiDir?: string;
  /** The features' routes (the gateway's /v1), in order; the server does not know whose they are. */
  routes?: readonly Route[];
  /** WebSocket endpoints besides /api/events (the features' upgrades: the voice session's /api/voice). */
  upgrades?: readonly UpgradeRoute[];
  /** Routes under /api/ besides /api/call (the features' apiRoutes: voice recordings), after the token check. */
  apiRoutes?: readonly Route[];
  /** Calls outside the contract, with their own schemas (test features only; see ../feature.ts). */
  uncontracted?: UncontractedCalls;
  /** Largest JSON body /api accepts. */
  maxBodyBytes?: number;
  /**
   * Bound beyond loopback (only allowed once API keys exist): requests naming another Host are
   * then accepted when they carry a valid API key.
   */
  remoteAccess?: boolean;
  /**
   * With remote access: the names and addresses of the host the server answers to (the Host
   * check accepts them; the page's origin may be any of them), and the URLs it reports.
   */
  names?: readonly string[];
  /**
   * Serve HTTPS with this certificate and key as well as plain HTTP, on the same port: the first
   * byte of a connection tells a TLS handshake from an HTTP request.
   */
  tls?: { cert: string; key: string };
  /** The install CA's certificate, offered at /aima-ca.pem (public: clients need it before they trust anything). */
  caCert?: string;
}

export interface RunningServer {
  /** Where clients on the same host reach the server (loopback for a wildcard bind). */
  url: string;
  port: number;
  loginUrl: string;
  /** The address it is bound to. */
  host: string;
  /** True when it also answers HTTPS on the same port. */
  secure: boolean;
  /** URLs other machines use (https when secure), one per name; empty on loopback. */
  remoteUrls: string[];
  /**
   * Stops listening at once (the port is free for a new listener), ends the WebSockets and idle
   * connections, and lets requests in flight finish for up to `graceMs` (default 0) before
   * cutting them.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

/** Where the install CA's certificate is offered for download. */
export const CA_CERT_PATH = '/aima-ca.pem';

/** Content-Security-Policy of the UI, the same inside Electron and in a browser. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob: data:; connect-src 'self' ws: wss: http://127.0.0.1:* ws://127.0.0.1:*; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  writeJson(res, status, body, { 'cache-control': 'no-store' });
}

function sendApiError(res: ServerResponse, err: AimaError): void {
  sendJson(res, httpStatusOf[err.code], { error: err.toBody() });
}

/**
 * Reads the parameters of an /api call: a JSON object, or nothing at all for a call without
 * parameters. Anything else (null, an array, a number) is refused here rather than read as `{}`.
 */
async function readCallParams(req: IncomingMessage, limit: number): Promise<unknown> {
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if (err instanceof HttpError && err.status === 413) throw new AimaError('too-large', `Request body is over the limit of ${limit} bytes.`, 'Send a smaller request.');
    throw err;
  }
  if (body.length === 0) return {};
  let params: unknown;
  try {
    params = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AimaError('bad-request', 'Request body is not valid JSON.', 'Send a JSON object with Content-Type: application/json.');
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new AimaError('bad-request', `Request body must be a JSON object of the call's parameters (got ${params === null ? 'null' : Array.isArray(params) ? 'an array' : typeof params}).`, 'Send {} for a call without parameters.');
  }
  return params;
}

/** A request target as a Route gets it: the path as sent (not normalized) and the query without its '?'. */
function splitTarget(target: string | undefined): [path: string, query: string] {
  const raw = target ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? [raw, ''] : [raw.slice(0, q), raw.slice(q + 1)];
}

/**
 * The host clients on the same machine as the server put in its URL. A wildcard bind (0.0.0.0,
 * ::) is no address to connect to, and as a Host header it fails the DNS-rebinding check: they get
 * loopback instead.
 */
export function clientHost(bindHost: string): string {
  if (bindHost === '0.0.0.0') return '127.0.0.1';
  if (bindHost === '::') return '[::1]';
  return bindHost.includes(':') ? `[${bindHost}]` : bindHost;
}

/**
 * Bytes of events queued for one /api/events client beyond what its socket took. A reading client
 * stays near 0; past this one is closed (1008; ws ends it after its close timeout if it never
 * reads the close frame either), so the backlog stops growing.
 */
const EVENTS_BACKLOG_LIMIT = 1024 * 1024;

export async function startHttpServer(opts: ServerOptions): Promise<RunningServer> {
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const routes = opts.routes ?? [];
  let port = opts.port;
  const serveUi = opts.uiDir && existsSync(opts.uiDir) ? sirv(opts.uiDir, { single: true, dev: false, etag: true }) : null;

  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();

  /** Everything but the mounted routes: API, login, UI. Host was checked by the caller. */
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    // The gateway (a route, already given its requests) answers browsers by its own CORS
    // allow-list; everything here is same-origin only.
    if (!isAllowedOrigin(req.headers.origin, port)) {
      return sendApiError(res, new AimaError('forbidden', `Cross-origin request from ${req.headers.origin} refused.`, 'Open AIMA from its own address.'));
    }

    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true, app: 'aima' });
    if (url.pathname === CA_CERT_PATH && opts.caCert) {
      res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-disposition': 'attachment; filename="aima-ca.pem"', 'cache-control': 'no-store' });
      return res.end(opts.caCert);
    }

    if (url.pathname === '/login') {
      const secureRequest = (req.socket as TLSSocket).encrypted === true;
      if (req.method === 'POST') {
        // The login screen's form: an API key, in the body so it stays out of URLs and history.
        const form = new URLSearchParams((await readBody(req, 4096).catch(() => Buffer.alloc(0))).toString('utf8'));
        const key = form.get('key')?.trim() ?? '';
        if (!key || !opts.auth.keys.verify(key)) {
          res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
          return res.end('Wrong or revoked API key. Create one on the machine that runs AIMA (Settings → Remote access, or `aima key create NAME`), then log in again.\n');
        }
        res.writeHead(303, { location: '/', 'set-cookie': loginCookie(key, secureRequest), 'cache-control': 'no-store' });
        return res.end();
      }
      if (!tokenMatches(opts.auth.token, url.searchParams.get('token'))) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end('Wrong or missing token. Use the login URL that `aima serve` printed, or run `aima status` to see it again.\n');
      }
      res.writeHead(302, { location: '/', 'set-cookie': loginCookie(opts.auth.token, secureRequest), 'cache-control': 'no-store' });
      return res.end();
    }

    if (url.pathname.startsWith('/api/')) {
      if (!authorizeApi(req, opts.auth)) {
        return sendApiError(res, new AimaError('unauthorized', 'Missing or wrong API token.', 'Open the login URL printed by `aima serve` (or shown by `aima status`).'));
      }
      const m = /^\/api\/call\/([A-Za-z0-9_.-]+)$/.exec(url.pathname);
      if (!m) {
        const [path, query] = splitTarget(req.url);
        for (const route of opts.apiRoutes ?? []) if (route(req, res, path, query)) return;
      }
      if (!m) return sendApiError(res, new AimaError('not-found', `No API endpoint ${url.pathname}.`, 'Calls are POST /api/call/<name>.'));
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return sendApiError(res, new AimaError('method-not-allowed', `${req.method} is not allowed on ${url.pathname}.`, 'Use POST with a JSON body.'));
      }
      try {
        const params = await readCallParams(req, maxBody);
        const result = await dispatchCall(opts.api, m[1]!, params, opts.uncontracted);
        return sendJson(res, 200, { result });
      } catch (err) {
        return sendApiError(res, toAimaError(err));
      }
    }

    if (serveUi && (req.method === 'GET' || req.method === 'HEAD')) {
      res.setHeader('content-security-policy', UI_CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      return serveUi(req, res, () => sendApiError(res, new AimaError('not-found', `Nothing at ${url.pathname}.`)));
    }
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('The AIMA core is running, but the web UI is not built. Run `npm run build`.\n');
    }
    sendApiError(res, new AimaError('not-found', `Nothing at ${url.pathname}.`));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    // DNS rebinding and cross-site protection come before anything else, for every path.
    if (!isAllowedHost(req.headers.host, port) && !(opts.remoteAccess && hasValidApiKey(req, opts.auth))) {
      return sendApiError(res, new AimaError('forbidden', `Host "${req.headers.host ?? ''}" is not allowed.`, `Use http://127.0.0.1:${port}/.`));
    }
    const [path, query] = splitTarget(req.url);
    for (const route of routes) if (route(req, res, path, query)) return;
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendApiError(res, toAimaError(err));
      else res.end();
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!isAllowedHost(req.headers.host, port) && !(opts.remoteAccess && hasValidApiKey(req, opts.auth))) return refuse(403, 'Forbidden');
    if (url.pathname.startsWith('/v1/')) {
      for (const upgrade of opts.upgrades ?? []) if (upgrade(req, socket, head, url)) return;
      return refuse(404, 'Not Found');
    }
    if (!isAllowedOrigin(req.headers.origin, port)) return refuse(403, 'Forbidden');
    if (url.pathname !== '/api/events') {
      if (!url.pathname.startsWith('/api/')) return refuse(404, 'Not Found');
      if (!authorizeApi(req, opts.auth)) return refuse(401, 'Unauthorized');
      for (const upgrade of opts.upgrades ?? []) if (upgrade(req, socket, head, url)) return;
      return refuse(404, 'Not Found');
    }
    if (!authorizeApi(req, opts.auth)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const off = opts.events.onAny((name, payload) => {
        if (ws.readyState !== ws.OPEN) return;
        // A client that stops reading would make every later event wait in memory here.
        if (ws.bufferedAmount > EVENTS_BACKLOG_LIMIT) {
          ws.close(1008, `Event backlog over ${EVENTS_BACKLOG_LIMIT / (1024 * 1024)} MiB: the client is not reading. Reconnect.`);
          return;
        }
        ws.send(JSON.stringify({ event: name, payload }));
      });
      ws.on('close', () => {
        off();
        sockets.delete(ws);
      });
      ws.on('error', () => ws.terminate());
      ws.send(JSON.stringify({ event: 'hello', payload: {} }));
    });
  };

  const plain = http.createServer(onRequest);
  plain.on('upgrade', onUpgrade);
  const secure = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : null;
  secure?.on('upgrade', onUpgrade);
  // Errors on a connection that never became a request (a client refusing the certificate) are
  // the client's business: without a listener Node would log them as unhandled.
  secure?.on('tlsClientError', () => undefined);
  const listener: net.Server = secure ? net.createServer((socket) => dispatchByFirstByte(socket, plain, secure)) : plain;

  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(opts.port, opts.host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  port = (listener.address() as AddressInfo).port;
  if (opts.remoteAccess && opts.names) setServerNames(port, opts.names);
  const url = `http://${clientHost(opts.host)}:${port}`;
  const scheme = secure ? 'https' : 'http';
  const remoteUrls = opts.remoteAccess ? remoteNames(opts.names ?? []).map((n) => `${scheme}://${urlHost(n)}:${port}/`) : [];
  return {
    url,
    port,
    host: opts.host,
    secure: secure !== null,
    remoteUrls,
    loginUrl: `${url}/login?token=${opts.auth.token}`,
    async close({ graceMs = 0 } = {}) {
      setServerNames(port, null);
      const closed = new Promise<void>((r) => listener.close(() => r()));
      if (listener !== plain) plain.close();
      secure?.close();
      for (const ws of sockets) ws.terminate();
      wss.close();
      plain.closeIdleConnections();
      secure?.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      if (graceMs > 0) await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      plain.closeAllConnections();
      secure?.closeAllConnections();
      await closed;
    },
  };
}

const FIRST_BYTE_TIMEOUT_MS = 30_000;

/**
 * Hands a new connection to the HTTPS server when it opens with a TLS handshake record (0x16),
 * else to the plain HTTP one. Both then see an ordinary connection, upgrades included.
 */
function dispatchByFirstByte(socket: net.Socket, plain: http.Server, secure: https.Server): void {
  socket.once('error', () => socket.destroy());
  // A connection that never says anything is not kept open forever (the servers' own timeouts start only once they have it).
  const silent = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
  socket.once('close', () => clearTimeout(silent));
  const wait = () =>
    socket.once('readable', () => {
      const first: Buffer | null = socket.read(1);
      if (first === null) {
        // Nothing readable yet (or the end): wait for the next chunk unless the socket is done.
        if (!socket.destroyed && socket.readable) wait();
        return;
      }
      clearTimeout(silent);
      socket.unshift(first);
      (first[0] === 0x16 ? secure : plain).emit('connection', socket);
    });
  wait();
}
