/**
 * Audio uploads through the gateway without holding them in memory. Routing needs the form's
 * `model` field, and a client picks the part order (curl -F and the OpenAI SDK may send the file
 * first), so the body is scanned as it streams in: the bytes before `model` are kept in memory up
 * to a small size, then spooled to an owner-only temp file that is always deleted. Once `model` is
 * known the request is paused; the upstream body is what was kept followed by the rest of the
 * request, streamed with backpressure. A budget caps the bytes of all uploads in flight.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, type ReadStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HttpError } from '../../lib/http.js';
import { MultipartFieldScanner, multipartBoundary } from './multipart-field.js';

const MIB = 1024 * 1024;
const SPOOL_PREFIX = 'upload-';

/** The bytes of uploads in flight across the gateway, against a limit. */
export class UploadBudget {
  private used = 0;

  /** The limit may change while uploads are in flight; they keep their reservations. */
  constructor(public limitBytes: number) {}

  get inFlight(): number {
    return this.used;
  }

  /** Reserves `bytes`; returns the release function, or null when they do not fit. */
  tryReserve(bytes: number): (() => void) | null {
    if (this.used + bytes > this.limitBytes) return null;
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }

  /** The 429 for an upload that does not fit, naming the limit and what to do. */
  refusal(bytes: number): HttpError {
    const mb = (n: number) => `${Math.ceil(n / MIB)} MB`;
    const why =
      bytes > this.limitBytes
        ? `This ${mb(bytes)} upload is larger than the gateway's limit of ${mb(this.limitBytes)} for uploads in flight (AIMA_UPLOAD_BUDGET_MB). Send a smaller file, or raise AIMA_UPLOAD_BUDGET_MB.`
        : `The gateway is already receiving ${mb(this.used)} of uploads; this ${mb(bytes)} one would go over its limit of ${mb(this.limitBytes)} for uploads in flight (AIMA_UPLOAD_BUDGET_MB). Retry in a few seconds, or raise AIMA_UPLOAD_BUDGET_MB.`;
    return new HttpError(429, why, 'rate_limit_error', 'upload_budget_exceeded', null, { 'retry-after': '5' });
  }
}

export interface ReceivedUpload {
  model: string;
  /** The whole request body, from the start: what was kept, then the rest of the request. */
  body: Readable;
  /** Deletes the spool file (if any) and ends the body stream; safe to call more than once. */
  discard(): Promise<void>;
}

export interface UploadOptions {
  contentType: string;
  maxBytes: number;
  /** Where spool files go (created owner-only when first needed). */
  spoolDir: string;
  /** Bytes kept in memory before spooling to disk. */
  memoryBytes?: number;
}

/** Streams a multipart upload until its `model` field is known; see the file comment. */
export function receiveUpload(req: IncomingMessage, opts: UploadOptions): Promise<ReceivedUpload> {
  const boundary = multipartBoundary(opts.contentType);
  if (!boundary) return Promise.reject(new HttpError(400, 'The multipart Content-Type has no boundary parameter.', 'invalid_request_error', 'invalid_multipart'));
  const memoryBytes = opts.memoryBytes ?? MIB;
  const scanner = new MultipartFieldScanner(boundary, 'model');

  return new Promise((resolve, reject) => {
    let held: Buffer[] = [];
    let heldBytes = 0;
    let size = 0;
    let spool: { path: string; file: WriteStream } | null = null;
    let settled = false;

    const removeSpool = () => {
      if (!spool) return Promise.resolve();
      const s = spool;
      spool = null;
      s.file.destroy();
      return rm(s.path, { force: true });
    };
    const detach = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    const fail = (err: HttpError) => {
      if (settled) return;
      settled = true;
      detach();
      req.resume(); // discard the rest, so the error can be answered
      held = [];
      void removeSpool().then(() => reject(err), () => reject(err));
    };
    const succeed = async (model: string) => {
      settled = true;
      detach();
      req.pause();
      const kept = held;
      held = [];
      let spooled: ReadStream | null = null;
      if (spool) {
        await new Promise<void>((r, j) => spool!.file.end((err?: Error | null) => (err ? j(err) : r())));
        spooled = createReadStream(spool.path, { highWaterMark: 256 * 1024 });
        await once(spooled, 'open');
        // Open files stay readable once unlinked (POSIX): nothing is left on disk whatever happens
        // next. Windows refuses; discard() removes it there.
        await rm(spool.path, { force: true }).then(
          () => (spool = null),
          () => undefined,
        );
      }
      async function* bodyOf(): AsyncGenerator<Buffer> {
        if (spooled) yield* spooled;
        else yield* kept;
        if (!req.readableEnded) yield* req;
      }
      const body = Readable.from(bodyOf(), { objectMode: false });
      resolve({
        model,
        body,
        discard: async () => {
          body.destroy();
          spooled?.destroy();
          await removeSpool();
        },
      });
    };
    const settle = (r: ReturnType<MultipartFieldScanner['end']>) => {
      if (r.kind === 'value' && r.value !== '') {
        succeed(r.value).catch((err: Error) => {
          void removeSpool();
          reject(new HttpError(500, `Could not spool the upload to ${opts.spoolDir}: ${err.message}`, 'server_error', 'spool_failed'));
        });
      } else if (r.kind === 'invalid') {
        fail(new HttpError(400, `The multipart body could not be read: ${r.reason}.`, 'invalid_request_error', 'invalid_multipart'));
      } else {
        fail(new HttpError(400, 'The form has no "model" field. Name one of GET /v1/models.', 'invalid_request_error', 'missing_model', 'model'));
      }
    };
    const startSpool = () => {
      mkdirSync(opts.spoolDir, { recursive: true, mode: 0o700 });
      const file = path.join(opts.spoolDir, `${SPOOL_PREFIX}${randomUUID()}`);
      spool = { path: file, file: createWriteStream(file, { flags: 'wx', mode: 0o600 }) };
      spool.file.on('error', (err) => fail(new HttpError(500, `Could not spool the upload to ${opts.spoolDir}: ${err.message}`, 'server_error', 'spool_failed')));
      for (const b of held) spool.file.write(b);
      held = [];
    };
    const onData = (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > opts.maxBytes) return fail(new HttpError(413, `Request body is over the limit of ${opts.maxBytes} bytes.`, 'invalid_request_error', 'body_too_large'));
      const r = scanner.push(chunk);
      if (spool) {
        // Disk slower than the client: pause the request rather than buffer.
        if (!spool.file.write(chunk) && !r) {
          req.pause();
          spool.file.once('drain', () => !settled && req.resume());
        }
      } else {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes > memoryBytes && !r) startSpool();
      }
      if (r) settle(r);
    };
    const onEnd = () => settle(scanner.end());
    const onAbort = () => fail(new HttpError(499, 'The client went away during the upload.', 'invalid_request_error', 'client_closed'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/** Removes spool files a previous run left behind (a crash mid-upload). */
export function clearSpool(spoolDir: string): void {
  if (!existsSync(spoolDir)) return;
  for (const name of readdirSync(spoolDir)) if (name.startsWith(SPOOL_PREFIX)) rmSync(path.join(spoolDir, name), { force: true });
}
