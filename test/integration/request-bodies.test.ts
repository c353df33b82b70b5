/**
 * Bodies that are empty, null, oversized or sent with the wrong method, on `aima serve`'s /v1 and
 * /api and on the workers themselves: each is answered at once with the status that names it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { startSpeechWorker, type SpeechWorker } from '../support/speech.js';

let serve: ServeHandle;
let tts: SpeechWorker;
beforeAll(async () => {
  [serve, tts] = await Promise.all([startServe({ AIMA_HOME: tempHome() }), startSpeechWorker('tts', [])]);
});
afterAll(async () => {
  await serve?.stop();
  await tts?.stop();
});

interface RawAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request with exactly these headers and body; rejects when no answer comes within `timeoutMs`. */
function raw(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: data, headers: res.headers }));
    });
    req.setTimeout(opts.timeoutMs ?? 3000, () => {
      req.destroy();
      reject(new Error(`no answer to ${opts.method ?? 'POST'} ${path} within ${opts.timeoutMs ?? 3000} ms`));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const empty = (type: string) => ({ headers: { 'content-type': type, 'content-length': '0' } });
const bearer = () => ({ authorization: `Bearer ${serve.token}`, 'content-type': 'application/json' });

describe('a POST with Content-Length: 0', () => {
  it.each([
    ['/v1/chat/completions', 'application/json'],
    ['/v1/embeddings', 'application/json'],
    ['/v1/audio/speech', 'application/json'],
    ['/v1/audio/transcriptions', 'multipart/form-data; boundary=xyz'],
  ])('gateway %s answers 400 naming the empty body at once', async (path, type) => {
    const res = await raw(serve.url, path, empty(type));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatchObject({ type: 'invalid_request_error', code: 'empty_body', message: expect.stringMatching(/body is empty/) });
  });

  it('a worker (TTS) answers 400 naming the empty body at once', async () => {
    const res = await raw(tts.url, '/v1/audio/speech', empty('application/json'));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'empty_body' });
  });
});

describe('/api/call bodies and methods', () => {
  it('a JSON null or non-object body is refused (400), an empty body still means no parameters', async () => {
    for (const body of ['null', '[]', '42', '"x"']) {
      const res = await raw(serve.url, '/api/call/settings.get', { headers: bearer(), body });
      expect(res.status, body).toBe(400);
      expect(JSON.parse(res.body).error).toMatchObject({ code: 'bad-request', message: expect.stringMatching(/JSON object/) });
    }
    const none = await raw(serve.url, '/api/call/settings.get', { headers: { ...bearer(), 'content-length': '0' } });
    expect(none.status).toBe(200);
    const object = await raw(serve.url, '/api/call/settings.get', { headers: bearer(), body: '{}' });
    expect(object.status).toBe(200);
  });

  it('GET /api/call/* is 405 with Allow: POST', async () => {
    const res = await raw(serve.url, '/api/call/settings.get', { method: 'GET', headers: bearer() });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'method-not-allowed', fix: expect.stringContaining('POST') });
  });

  it('an oversized /api body is 413 naming the limit', async () => {
    const res = await raw(serve.url, '/api/call/settings.update', { headers: bearer(), body: Buffer.alloc(2 * 1024 * 1024, 0x20) });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'too-large', message: expect.stringMatching(/limit of \d+ bytes/) });
  });
});
