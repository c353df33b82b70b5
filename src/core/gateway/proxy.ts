/**
 * Forwards one request upstream and streams the answer back with backpressure (pipe, never
 * buffering whole responses). A client that goes away destroys the upstream request at once, so
 * the worker sees the disconnect and stops generating. A light tap on the response measures time
 * to first byte and counts generated tokens without copying the stream.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Readable, Writable } from 'node:stream';

/** An upstream's base URL, parsed once (request options from a URL object cost on every request). */
export interface UpstreamBase {
  origin: string;
  https: boolean;
  hostname: string;
  port: number;
  /** The base URL's path without a trailing slash ("" or "/prefix"). */
  pathPrefix: string;
}

const bases = new Map<string, UpstreamBase>();

export function upstreamBase(baseUrl: string): UpstreamBase {
  let b = bases.get(baseUrl);
  if (!b) {
    const u = new URL(baseUrl);
    const https = u.protocol === 'https:';
    b = { origin: u.origin, https, hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : https ? 443 : 80, pathPrefix: u.pathname.replace(/\/$/, '') };
    if (bases.size > 1000) bases.clear(); // remotes and ports come and go; never grow without bound
    bases.set(baseUrl, b);
  }
  return b;
}

export interface ForwardRequest {
  base: UpstreamBase;
  /** Path (and query) after the base, e.g. /v1/chat/completions. */
  path: string;
  method: string;
  headers: Record<string, string>;
  /** A buffered body, or a stream (an upload) sent with `contentLength` when known, else chunked. */
  body: Buffer | Readable | null;
  contentLength?: number | null;
  /** Who serves it, for errors: e.g. 'replica "chat-2" of "stories"'. */
  upstreamName?: string;
  /**
   * When the upstream cannot be reached (nothing was sent to the client yet), resolve with
   * `unreachable` and write nothing, so the caller can try another replica.
   */
  retryable?: boolean;
  /**
   * A translated answer (the Responses and Anthropic APIs over chat completions): given the
   * upstream's status and content type, the Writable the upstream body is piped into, which
   * writes the client's response itself. Without it the answer is piped through as it is.
   */
  reply?: (status: number, contentType: string) => ReplySink;
  /** The body of the gateway's own 502 when the upstream cannot be reached (default: OpenAI's error shape). */
  unreachableBody?: (message: string) => unknown;
  /** For an https upstream: the only CA (PEM) its certificate may chain to; default the system's CAs. */
  ca?: string;
}

/** Where a translated answer goes; it knows the upstream's own token count once it has read the usage. */
export interface ReplySink extends Writable {
  readonly completionTokens: number | null;
}

export interface ForwardOutcome {
  status: number;
  /** ms from forward() to the first response body byte; null when none came. */
  firstByteMs: number | null;
  /** Completion tokens: from `usage` in a JSON answer, or counted SSE chunks in a stream. */
  completionTokens: number | null;
  stream: boolean;
  /** ms from the first to the last body byte (generation time, for tokens/s). */
  bodyMs: number;
  clientAborted: boolean;
  /** Set (with nothing written to the client) when a retryable request could not reach the upstream. */
  unreachable?: string;
  /** The upstream went away mid-answer (a stream then ends with an error event). */
  upstreamLost?: boolean;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const agentHttp = new http.Agent({ keepAlive: true, maxSockets: 256 });
const agentHttps = new https.Agent({ keepAlive: true, maxSockets: 256 });
/** One keep-alive agent per trusted CA (the install CA, in practice one). */
const agentsByCa = new Map<string, https.Agent>();
function httpsAgent(ca: string | undefined): https.Agent {
  if (ca === undefined) return agentHttps;
  let agent = agentsByCa.get(ca);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, maxSockets: 256, ca });
    agentsByCa.set(ca, agent);
  }
  return agent;
}
const USAGE_SCAN_LIMIT = 1024 * 1024;
const SSE_DATA = Buffer.from('data: ');
const SSE_DONE = Buffer.from('data: [DONE]');

export function forward(req: IncomingMessage, res: ServerResponse, fwd: ForwardRequest): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    let firstByteAt: number | null = null;
    let lastByteAt = started;
    let sseChunks = 0;
    let sawDone = false;
    let jsonBody: Buffer[] | null = null;
    let jsonSize = 0;
    let stream = false;
    let settled = false;
    let status = 502;
    let sink: ReplySink | undefined;
    let unreachable: string | undefined;
    let upstreamLost = false;
    let responded = false;

    const { base } = fwd;
    const upstream = (base.https ? https : http).request({
      hostname: base.hostname,
      port: base.port,
      path: base.pathPrefix + fwd.path,
      method: fwd.method,
      headers: Buffer.isBuffer(fwd.body) ? { ...fwd.headers, 'content-length': String(fwd.body.length) } : fwd.contentLength != null ? { ...fwd.headers, 'content-length': String(fwd.contentLength) } : fwd.headers,
      agent: base.https ? httpsAgent(fwd.ca) : agentHttp,
    });

    const finish = (clientAborted: boolean) => {
      if (settled) return;
      settled = true;
      let completionTokens: number | null = sink?.completionTokens ?? (stream ? sseChunks - (sawDone ? 1 : 0) : null);
      if (!stream && jsonBody) {
        try {
          const usage = JSON.parse(Buffer.concat(jsonBody).toString('utf8'))?.usage;
          if (typeof usage?.completion_tokens === 'number') completionTokens = usage.completion_tokens;
        } catch {
          /* not JSON: no token count */
        }
      }
      resolve({
        status: fwd.reply && res.headersSent ? res.statusCode : status,
        firstByteMs: firstByteAt === null ? null : firstByteAt - started,
        completionTokens,
        stream,
        bodyMs: firstByteAt === null ? 0 : lastByteAt - firstByteAt,
        clientAborted,
        unreachable,
        upstreamLost,
      });
    };

    // The client left: tear down the upstream request so generation stops now, not at the end.
    res.on('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        finish(true);
      }
    });

    upstream.on('response', (up) => {
      responded = true;
      status = up.statusCode ?? 502;
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
      const type = String(up.headers['content-type'] ?? '');
      stream = type.startsWith('text/event-stream');
      sink = fwd.reply?.(status, type);
      // A translated answer's sink reads the usage itself: the body is scanned only when piped through.
      if (!sink && type.includes('json')) jsonBody = [];
      if (!sink) {
        res.writeHead(status, headers);
        if (stream) res.flushHeaders();
      }
      up.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (firstByteAt === null) firstByteAt = now;
        lastByteAt = now;
        if (stream) {
          // One SSE event per generated token for llama-style servers (the final [DONE] is
          // subtracted at the end). Buffer.indexOf is native: no strings are made per event.
          for (let i = chunk.indexOf(SSE_DATA); i !== -1; i = chunk.indexOf(SSE_DATA, i + SSE_DATA.length)) sseChunks++;
          if (chunk.includes(SSE_DONE)) sawDone = true;
        } else if (jsonBody && jsonSize < USAGE_SCAN_LIMIT) {
          jsonBody.push(chunk);
          jsonSize += chunk.length;
        }
      });
      if (sink) {
        const translated = sink;
        up.pipe(translated);
        // The translated answer ends once the sink has written its last event.
        translated.on('finish', () => queueMicrotask(() => finish(false)));
        // A broken upstream stream ends the sink, which tells the client in the API's terms.
        up.on('error', () => {
          upstreamLost = true;
          if (!translated.writableEnded) translated.end();
        });
        translated.on('error', () => {
          res.destroy();
          finish(false);
        });
        return;
      }
      up.pipe(res);
      // After pipe's own 'end' listener has ended the response; the usage parse in finish() then
      // runs after the last bytes are on their way (microtasks run after the write tick).
      up.on('end', () => queueMicrotask(() => finish(false)));
      // The upstream went away before the end (its process died, its connection reset): a stream
      // ends with an SSE error event in OpenAI's shape, so the client learns why; any other answer
      // can only be cut off.
      const lost = () => {
        if (up.complete || settled) return;
        upstreamLost = true;
        up.unpipe(res);
        if (stream && !res.writableEnded && !res.destroyed) {
          const error = { message: `The ${fwd.upstreamName ?? `server at ${base.origin}`} stopped in the middle of this answer (its connection was lost). Send the request again: it goes to a server that is running.`, type: 'server_error', param: null, code: 'upstream_lost' };
          res.end(`data: ${JSON.stringify({ error })}\n\n`);
        } else {
          res.destroy();
        }
        finish(false);
      };
      up.on('error', lost);
      up.on('close', lost);
    });

    upstream.on('error', (err) => {
      if (fwd.retryable && !res.headersSent && !res.destroyed && !responded) {
        unreachable = err.message;
        finish(false);
        return;
      }
      if (res.headersSent) {
        res.destroy();
      } else if (!res.destroyed) {
        status = 502;
        const message = `The model's server at ${base.origin} did not answer (${err.message}).`;
        const body = JSON.stringify(fwd.unreachableBody ? fwd.unreachableBody(message) : { error: { message, type: 'server_error', param: null, code: 'upstream_unreachable' } });
        res.writeHead(502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }
      finish(false);
    });

    if (fwd.body && !Buffer.isBuffer(fwd.body)) {
      // A body that fails (the client left mid-upload, a spool read error) ends the upstream request.
      fwd.body.once('error', () => upstream.destroy());
      fwd.body.pipe(upstream);
    } else {
      upstream.end(fwd.body ?? undefined);
    }
  });
}
