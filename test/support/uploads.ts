/**
 * Large audio uploads for gateway tests: a multipart body streamed from one reusable buffer (the
 * test process holds no copy of it), with the file part before or after `model`, and a fake
 * OpenAI-compatible ASR server that hashes what arrives and answers with the hash.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

const CHUNK = Buffer.alloc(1024 * 1024);
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = (i * 7 + (i >> 11)) & 0xff;

export interface UploadAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** The parts of an upload, the file `fileBytes` long; the hash of the file part's bytes. */
export function uploadParts(model: string, fileBytes: number, order: 'file-first' | 'model-first', boundary = 'aima-test-boundary') {
  const modelPart = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${model}\r\n`);
  const fileHead = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n`);
  const fileTail = Buffer.from('\r\n');
  const close = Buffer.from(`--${boundary}--\r\n`);
  const hash = createHash('sha256');
  for (let left = fileBytes; left > 0; left -= CHUNK.length) hash.update(left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left));
  const before = order === 'model-first' ? [modelPart, fileHead] : [fileHead];
  const after = order === 'model-first' ? [fileTail, close] : [fileTail, modelPart, close];
  const length = [...before, ...after].reduce((n, b) => n + b.length, 0) + fileBytes;
  return { before, after, length, type: `multipart/form-data; boundary=${boundary}`, fileSha256: hash.digest('hex') };
}

export interface UploadPacing {
  /** Once the file part is written, the rest waits for this (a client stalled near the end). */
  hold?: Promise<void>;
  /** Called when the server has taken the whole file part (the socket accepted its last byte). */
  onFileSent?: () => void;
  /** Aborting it destroys the request (a client that leaves mid-upload). */
  signal?: AbortSignal;
}

/** POSTs an upload to `url` (a /v1/audio/transcriptions URL), writing with backpressure. */
export function sendUpload(url: string, model: string, fileBytes: number, order: 'file-first' | 'model-first', pacing: UploadPacing = {}): Promise<UploadAnswer> {
  const parts = uploadParts(model, fileBytes, order);
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', signal: pacing.signal, headers: { 'content-type': parts.type, 'content-length': String(parts.length) } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: data, headers: res.headers }));
    });
    req.on('error', reject);
    void (async () => {
      const write = async (b: Buffer) => {
        if (!req.write(b)) await new Promise((r) => req.once('drain', r));
      };
      for (const b of parts.before) await write(b);
      for (let left = fileBytes; left > 0 && !req.destroyed; left -= CHUNK.length) await write(left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left));
      pacing.onFileSent?.();
      await pacing.hold;
      for (const b of parts.after) await write(b);
      req.end();
    })().catch(reject);
  });
}

export interface FakeAsr {
  url: string;
  close(): Promise<void>;
}

/**
 * A fake ASR server: reads the whole upload, finds the file part between its headers and the next
 * boundary, and answers `{ text: <sha256 of the file part> }` after `delayMs`.
 */
export async function startFakeAsr(delayMs = 0): Promise<FakeAsr> {
  const server = http.createServer((req, res) => {
    const hash = createHash('sha256');
    const boundary = /boundary=(\S+)/.exec(String(req.headers['content-type']))?.[1] ?? '';
    const fileStart = Buffer.from('filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n');
    const fileEnd = Buffer.from(`\r\n--${boundary}`);
    let pending: Buffer = Buffer.alloc(0);
    let state: 'before' | 'in' | 'after' = 'before';
    req.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (state === 'before') {
        const at = pending.indexOf(fileStart);
        if (at === -1) return;
        state = 'in';
        pending = pending.subarray(at + fileStart.length);
      }
      if (state === 'in') {
        const end = pending.indexOf(fileEnd);
        if (end !== -1) {
          hash.update(pending.subarray(0, end));
          state = 'after';
          pending = Buffer.alloc(0);
        } else {
          const keep = Math.min(pending.length, fileEnd.length);
          hash.update(pending.subarray(0, pending.length - keep));
          pending = Buffer.from(pending.subarray(pending.length - keep));
        }
      } else pending = Buffer.alloc(0);
    });
    req.on('end', () => {
      setTimeout(() => {
        const text = JSON.stringify({ text: hash.digest('hex') });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** VmRSS of a process in bytes. */
export function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** Samples a process's RSS every `everyMs` until stopped; resolves with the highest seen. */
export function sampleRss(pid: number, everyMs = 20): { stop(): number } {
  let max = rssOf(pid);
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssOf(pid));
    } catch {
      /* the process ended */
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}
