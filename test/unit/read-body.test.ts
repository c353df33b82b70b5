import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HttpError, readBody, readFormData, readJson } from '../../src/lib/http.js';

/** A request stream with the given headers; the test writes its body and decides when it ends. */
function request(headers: Record<string, string>): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers }) as unknown as PassThrough & IncomingMessage;
}

describe('readBody', () => {
  it('resolves at the Content-Length\'s last byte, before the stream ends', async () => {
    const req = request({ 'content-length': '11' });
    const body = readBody(req, 1024);
    req.write('hello ');
    req.write('world');
    // No end(): a delimited body is complete when its declared length has arrived.
    await expect(body).resolves.toEqual(Buffer.from('hello world'));
  });
  it('waits for the end when there is no Content-Length (chunked)', async () => {
    const req = request({});
    const body = readBody(req, 1024);
    req.write('part one, ');
    let settled = false;
    void body.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    req.end('part two');
    await expect(body).resolves.toEqual(Buffer.from('part one, part two'));
  });
  it('refuses a body over the limit, declared or streamed', async () => {
    await expect(readBody(request({ 'content-length': '2048' }), 1024)).rejects.toMatchObject({ status: 413 });
    const req = request({});
    const body = readBody(req, 8);
    req.end('more than eight bytes');
    await expect(body).rejects.toBeInstanceOf(HttpError);
  });
  it('resolves at once for Content-Length: 0, before and after the stream ends', async () => {
    const early = request({ 'content-length': '0' });
    await expect(readBody(early, 1024)).resolves.toEqual(Buffer.alloc(0));
    const ended = request({ 'content-length': '0' });
    ended.end();
    await new Promise((r) => setImmediate(r));
    await expect(readBody(ended, 1024)).resolves.toEqual(Buffer.alloc(0));
  }, 2000);
  it('an empty JSON or form body is a 400 that names the missing body', async () => {
    const json = request({ 'content-length': '0', 'content-type': 'application/json' });
    await expect(readJson(json, 1024)).rejects.toMatchObject({ status: 400, code: 'empty_body', message: expect.stringMatching(/body is empty/) });
    const form = request({ 'content-length': '0', 'content-type': 'multipart/form-data; boundary=x' });
    await expect(readFormData(form, 1024)).rejects.toMatchObject({ status: 400, code: 'empty_body' });
  }, 2000);
});
