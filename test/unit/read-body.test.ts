import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HttpError, readBody } from '../../src/workers/common/http.js';

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
});
