/**
 * HTTP helpers shared by the embedded OpenAI-compatible workers (LLM, ASR, TTS): bounded body
 * reading, JSON replies and OpenAI's error shape. Plain node:http keeps the workers small and lets
 * streaming responses apply backpressure directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** OpenAI's error types, as its clients switch on them. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error';

/** An error that becomes an HTTP response in OpenAI's shape. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAIErrorType = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Writes a JSON body with the right headers. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Writes an error in OpenAI's `{ error: { message, type, param, code } }` shape. */
export function sendError(res: ServerResponse, err: unknown): void {
  const e =
    err instanceof HttpError
      ? err
      : new HttpError(500, err instanceof Error ? err.message : String(err), 'server_error', 'internal_error');
  if (res.headersSent) {
    // Mid-stream: the status line is gone; end the stream so the client sees it stop.
    res.end();
    return;
  }
  sendJson(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } }, e.headers);
}

/**
 * Reads a request body up to `limitBytes`; beyond it rejects with 413 without buffering the rest.
 * A declared empty body (Content-Length: 0) resolves at once: no 'data' event will ever come.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) {
      req.resume();
      reject(new HttpError(413, `Request body of ${declared} bytes is over the limit of ${limitBytes} bytes.`, 'invalid_request_error', 'body_too_large'));
      return;
    }
    if (req.headers['content-length'] !== undefined && declared === 0) {
      req.resume();
      resolve(Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limitBytes) {
        settled = true;
        req.resume();
        reject(new HttpError(413, `Request body is over the limit of ${limitBytes} bytes.`, 'invalid_request_error', 'body_too_large'));
        return;
      }
      chunks.push(chunk);
      // With a Content-Length the parser delimits the body: its last byte is its end, and waiting
      // for 'end' (two ticks later) only delays a proxied request (the gateway's hot path).
      if (size === declared) {
        settled = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (settled) return;
      settled = true;
      reject(err);
    });
  });
}

/** The 400 for a POST without a body, naming what to send. */
export function emptyBodyError(expected: string): HttpError {
  return new HttpError(400, `Request body is empty; send ${expected}.`, 'invalid_request_error', 'empty_body');
}

/** Reads and parses a JSON object body; malformed JSON is a 400 that says so. */
export async function readJson(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const body = await readBody(req, limitBytes);
  if (body.length === 0) throw emptyBodyError('a JSON object with Content-Type: application/json');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(
      400,
      `Request body is not valid JSON (${(err as Error).message}). Send a JSON object with Content-Type: application/json.`,
      'invalid_request_error',
      'invalid_json',
    );
  }
}

/** Starts a Server-Sent Events response. */
export function startSse(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
}

/**
 * Writes one SSE `data:` event; resolves once the socket has room again, so a slow client slows
 * the producer instead of growing a buffer.
 */
export function writeSse(res: ServerResponse, data: unknown): Promise<void> {
  const ok = res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  if (ok) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Reads a `multipart/form-data` (or urlencoded) body up to `limitBytes` and parses it with the
 * platform's own parser (undici's `Response.formData()`). Anything else is a 400 that says what
 * to send.
 */
export async function readFormData(req: IncomingMessage, limitBytes: number): Promise<FormData> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data|^application\/x-www-form-urlencoded/i.test(type)) {
    throw new HttpError(
      400,
      `Expected a multipart/form-data body (got ${type ? `"${type}"` : 'no Content-Type'}).`,
      'invalid_request_error',
      'invalid_content_type',
    );
  }
  const body = await readBody(req, limitBytes);
  if (body.length === 0) throw emptyBodyError('a multipart/form-data body with the fields this endpoint takes');
  try {
    return await new Response(body, { headers: { 'content-type': type } }).formData();
  } catch (err) {
    throw new HttpError(400, `Malformed form data: ${(err as Error).message}`, 'invalid_request_error', 'invalid_form_data');
  }
}

/**
 * Starts `server` on `host:port` (port 0 picks a free one) and prints the line supervisors wait
 * for, `listening on http://HOST:PORT`, with the port actually bound.
 */
export function listenAndAnnounce(server: import('node:http').Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      const actual = typeof addr === 'object' && addr ? addr.port : port;
      process.stdout.write(`listening on http://${host.includes(':') ? `[${host}]` : host}:${actual}\n`);
      resolve(actual);
    });
  });
}

/**
 * Writes one SSE `data:` event without waiting for the socket to drain; returns false when the
 * socket's buffer is over its high-water mark. For producers that cannot pause (a token callback):
 * awaiting {@link writeSse} per event there would pile up 'drain' listeners instead.
 */
export function writeSseNow(res: ServerResponse, data: unknown): boolean {
  if (res.writableEnded || res.destroyed) return false;
  return res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/**
 * Coalesces SSE events from a fast producer: the first event after a quiet spell is written at
 * once, later ones within `intervalMs` go out together in one write. A token stream from a model
 * slower than one token per `intervalMs` is thus written token by token with no added latency,
 * while a very fast one (hundreds of tokens/s) costs one socket write per interval instead of one
 * per token. Call {@link flush} before writing a final event, {@link close} when abandoning.
 */
export class SseCoalescer {
  private pending = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastWrite = -Infinity;

  constructor(
    private readonly res: ServerResponse,
    private readonly intervalMs = 4,
  ) {}

  push(data: unknown): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.pending += `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
    if (this.timer) return;
    const since = performance.now() - this.lastWrite;
    if (since >= this.intervalMs) this.flush();
    else this.timer = setTimeout(() => this.flush(), this.intervalMs - since);
  }

  /** Writes everything pending now. */
  flush(): void {
    this.close();
    if (this.pending && !this.res.writableEnded && !this.res.destroyed) this.res.write(this.pending);
    this.pending = '';
    this.lastWrite = performance.now();
  }

  /** Drops the timer (pending events are kept until the next flush). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
