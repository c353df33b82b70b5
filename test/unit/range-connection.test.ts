/**
 * RangeConnection: the download transfer's own HTTP/1.1 range reader, against real local servers
 * (node:http, and raw sockets for what node:http would never send).
 */
import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { RangeConnection } from '../../src/core/downloads/range-connection.js';
import { UnsupportedFramingError } from '../../src/core/downloads/response-head.js';
import { repoRoot } from '../support/system.js';

const data = randomBytes(3 * 1024 * 1024 + 17);
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

/** A range server over `data`; `hook` may answer instead. Counts connections. */
async function rangeServer(hook?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean) {
  const stats = { connections: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    stats.requests++;
    if (hook?.(req, res)) return;
    const m = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '')!;
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), data.length - 1);
    res.writeHead(206, { 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${data.length}` });
    res.end(data.subarray(start, end + 1));
  });
  server.on('connection', () => stats.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  closers.push(() => server.closeAllConnections());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`, stats, dropIdle: () => server.closeAllConnections() };
}

/** A server that writes `reply` as raw bytes for every request. */
async function rawServer(reply: (socket: net.Socket) => void) {
  const server = net.createServer((socket) => socket.once('data', () => reply(socket)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
}

/** Collects what the sink gets; `async` makes it a slow asynchronous sink (both buffers in use). */
function collector(async = false) {
  const parts: Buffer[] = [];
  const sink = (bytes: Buffer) => {
    const copy = Buffer.from(bytes);
    if (!async) return void parts.push(copy);
    return new Promise<void>((r) => setTimeout(() => (parts.push(copy), r()), 2));
  };
  return { sink, bytes: () => Buffer.concat(parts), parts };
}

const conn = (o: Partial<ConstructorParameters<typeof RangeConnection>[0]> = {}) => {
  const c = new RangeConnection({ signal: new AbortController().signal, ...o });
  closers.push(() => c.close());
  return c;
};

describe('RangeConnection', () => {
  it('reads ranges into the sink, exactly, over one kept-alive connection', async () => {
    const { url, stats } = await rangeServer();
    const c = conn({ bufferBytes: 64 * 1024 });
    for (const [s, e] of [
      [0, 1_000_000],
      [1_000_001, data.length - 1],
      [5, 5],
    ] as const) {
      const out = collector();
      await c.get(url, s, e, false, out.sink);
      expect(out.bytes().equals(data.subarray(s, e + 1))).toBe(true);
      // A buffer at a time, never more than the buffer holds.
      expect(Math.max(...out.parts.map((p) => p.length))).toBeLessThanOrEqual(64 * 1024);
    }
    expect(stats).toEqual({ connections: 1, requests: 3 });
  });

  it('with a slow asynchronous sink, reads on into the second buffer and pauses when both are busy; bytes stay in order', async () => {
    const { url } = await rangeServer();
    const out = collector(true);
    await conn({ bufferBytes: 16 * 1024 }).get(url, 7, data.length - 1, false, out.sink);
    expect(out.bytes().equals(data.subarray(7))).toBe(true);
  });

  it('goes again on a fresh connection when the server closed the kept-alive one meanwhile', async () => {
    const { url, stats, dropIdle } = await rangeServer();
    const c = conn();
    await c.get(url, 0, 99, false, collector().sink);
    dropIdle();
    await new Promise((r) => setTimeout(r, 50));
    const out = collector();
    await c.get(url, 100, 199, false, out.sink);
    expect(out.bytes().equals(data.subarray(100, 200))).toBe(true);
    expect(stats.connections).toBe(2);
  });

  it('a body cut short hands over what arrived, then fails retryably', async () => {
    const url = await rawServer((s) => {
      s.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\nContent-Range: bytes 0-999/5000\r\n\r\n`);
      s.end(data.subarray(0, 300));
    });
    const out = collector();
    await expect(conn().get(url, 0, 999, false, out.sink)).rejects.toMatchObject({ name: 'TransferError', retryable: true, message: 'connection closed after 300 of 1000 bytes' });
    expect(out.bytes().equals(data.subarray(0, 300))).toBe(true);
  });

  it('reads a head that arrives a byte at a time, and skips an interim 103 answer', async () => {
    const url = await rawServer(async (s) => {
      const text = `HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 206 Partial Content\r\nContent-Length: 4\r\nContent-Range: bytes 10-13/99\r\n\r\n`;
      for (const ch of text) {
        s.write(ch);
        await new Promise((r) => setTimeout(r, 1));
      }
      s.end(data.subarray(10, 14));
    });
    const out = collector();
    await conn().get(url, 10, 13, false, out.sink);
    expect(out.bytes().equals(data.subarray(10, 14))).toBe(true);
  });

  it('judges answers: 5xx retryable, 200 to a range final, a wrong Content-Range retryable, chunked left to node:http, a short body retried', async () => {
    const answers: Record<string, (res: http.ServerResponse) => void> = {
      '/503': (res) => res.writeHead(503).end('busy'),
      '/200': (res) => res.writeHead(200, { 'content-length': '3' }).end('abc'),
      '/cr': (res) => res.writeHead(206, { 'content-length': '3', 'content-range': 'bytes 5-7/9' }).end('abc'),
      '/chunked': (res) => {
        res.writeHead(206, { 'content-range': 'bytes 0-2/9' });
        res.write('a');
        res.end('bc');
      },
      '/short': (res) => res.writeHead(206, { 'content-length': '2', 'content-range': 'bytes 0-1/9' }).end('ab'),
      '/redirect': (res) => res.writeHead(302, { location: '/short' }).end(),
    };
    const { url } = await rangeServer((req, res) => (answers[req.url!]?.(res), true));
    const base = url.replace(/\/f$/, '');
    const c = conn();
    const get = (p: string) => c.get(base + p, 0, 2, false, collector().sink);
    await expect(get('/503')).rejects.toMatchObject({ retryable: true, status: 503, message: expect.stringMatching(/answered HTTP 503/) });
    await expect(get('/200')).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/ignored the Range request/) });
    await expect(get('/cr')).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/unexpected Content-Range "bytes 5-7\/9" for bytes=0-2/) });
    await expect(get('/chunked')).rejects.toBeInstanceOf(UnsupportedFramingError);
    // Followed to /short: 2 of the 3 bytes asked for arrive (and go to the sink), then a retryable error.
    const out = collector();
    await expect(c.get(base + '/redirect', 0, 2, false, out.sink)).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/sent 2 of the 3 bytes asked for/) });
    expect(out.bytes().toString()).toBe('ab');
  });

  it('a sink failure (a full disk) is what the caller gets, unretried; an abort rejects with its reason', async () => {
    const { url } = await rangeServer();
    const full = Object.assign(new Error('no space left on device'), { name: 'DiskFullError' });
    await expect(conn({ bufferBytes: 16 * 1024 }).get(url, 0, 200_000, false, () => Promise.reject(full))).rejects.toBe(full);
    const stall = await rawServer((s) => s.write('HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nContent-Range: bytes 0-9/10\r\n\r\n'));
    const ac = new AbortController();
    const pending = conn({ signal: ac.signal }).get(stall, 0, 9, false, collector().sink);
    setTimeout(() => ac.abort(new Error('paused by the user')), 50);
    await expect(pending).rejects.toThrow('paused by the user');
    await expect(conn({ timeoutMs: 100 }).get(stall, 0, 9, false, collector().sink)).rejects.toMatchObject({ retryable: true, message: expect.stringMatching(/stalled/) });
  });

  it('refuses a header with a line break (it would split the request) and names the fix', () => {
    expect(() => conn({ headers: { authorization: 'Bearer x\r\nHost: evil' } })).toThrow(/the request header "authorization" contains a line break; fix the token/);
  });

  it('over TLS, a certificate Node does not trust fails at once, unretried, naming NODE_EXTRA_CA_CERTS', async () => {
    const tlsDir = path.join(repoRoot, 'test', 'fixtures', 'tls');
    const server = https.createServer({ key: readFileSync(path.join(tlsDir, 'localhost-key.pem')), cert: readFileSync(path.join(tlsDir, 'localhost-cert.pem')) }, (_req, res) => res.end('x'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
    await expect(conn().get(url, 0, 0, false, collector().sink)).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/TLS certificate is not trusted \(self-signed certificate\).*NODE_EXTRA_CA_CERTS=/) });
  });
});
