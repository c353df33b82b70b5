import { describe, expect, it } from 'vitest';
import { MultipartFieldScanner, multipartBoundary, readMultipartField } from '../../src/core/gateway/multipart-field.js';

/** A multipart body as clients send it: undici's own FormData encoding, with binary file bytes. */
async function encode(fields: [string, string | Blob, string?][]): Promise<{ body: Buffer; type: string }> {
  const form = new FormData();
  for (const [k, v, filename] of fields) {
    if (typeof v === 'string') form.append(k, v);
    else form.append(k, v, filename);
  }
  const req = new Request('http://x/', { method: 'POST', body: form });
  return { body: Buffer.from(await req.arrayBuffer()), type: req.headers.get('content-type')! };
}

describe('readMultipartField (the gateway reads an upload\'s model without parsing the form)', () => {
  // File bytes that contain CRLFs, dashes and a fake "name=\"model\"" header: only real part
  // boundaries may count.
  const tricky = new Blob([Buffer.concat([Buffer.from('\r\n--not-a-boundary\r\nContent-Disposition: form-data; name="model"\r\n\r\nfake\r\n'), Buffer.alloc(70_000, 0x2d)])]);

  it('finds the field after a large binary file part, and before it', async () => {
    const after = await encode([['file', tricky, 'a.wav'], ['model', 'whisper-tiny'], ['response_format', 'json']]);
    expect(readMultipartField(after.body, after.type, 'model')).toBe('whisper-tiny');
    const before = await encode([['model', 'whisper-tiny'], ['file', tricky, 'a.wav']]);
    expect(readMultipartField(before.body, before.type, 'model')).toBe('whisper-tiny');
  });

  it('keeps UTF-8 values and answers null for a form without the field', async () => {
    const f = await encode([['model', 'モデル/asr'], ['file', tricky, 'a.wav']]);
    expect(readMultipartField(f.body, f.type, 'model')).toBe('モデル/asr');
    const none = await encode([['file', tricky, 'a.wav'], ['language', 'en']]);
    expect(readMultipartField(none.body, none.type, 'model')).toBeNull();
  });

  it('gives up (undefined) on what it does not follow, so the caller parses fully', async () => {
    const f = await encode([['model', 'm']]);
    expect(readMultipartField(f.body, 'multipart/form-data', 'model')).toBeUndefined(); // no boundary
    expect(readMultipartField(f.body.subarray(0, f.body.length / 2), f.type, 'model')).toBeUndefined(); // cut short
    expect(readMultipartField(Buffer.from('not multipart at all'), f.type, 'model')).toBeUndefined();
    const file = await encode([['model', new Blob(['x']), 'm.txt']]);
    expect(readMultipartField(file.body, file.type, 'model')).toBeUndefined(); // a file named "model"
  });

  it('reads quoted and bare boundaries', () => {
    expect(multipartBoundary('multipart/form-data; boundary="a b;c"')).toBe('a b;c');
    expect(multipartBoundary('multipart/form-data; charset=utf-8; boundary=----x123')).toBe('----x123');
    expect(multipartBoundary('multipart/form-data')).toBeNull();
    const body = Buffer.from('--a b;c\r\nContent-Disposition: form-data; name="model"\r\n\r\nm1\r\n--a b;c--\r\n');
    expect(readMultipartField(body, 'multipart/form-data; boundary="a b;c"', 'model')).toBe('m1');
  });

  it('finds the field when the body arrives in chunks of any size, delimiters split across them', async () => {
    const f = await encode([['file', tricky, 'a.wav'], ['model', 'whisper-tiny'], ['file2', tricky, 'b.wav']]);
    for (const size of [1, 7, 64, 4096, 65_536]) {
      const scanner = new MultipartFieldScanner(multipartBoundary(f.type)!, 'model');
      let r = null;
      for (let at = 0; at < f.body.length && !r; at += size) r = scanner.push(f.body.subarray(at, at + size));
      expect(r, `chunks of ${size}`).toEqual({ kind: 'value', value: 'whisper-tiny' });
    }
  });

  it('refuses an over-long field and a form that ends before it is closed', async () => {
    const long = await encode([['model', 'm'.repeat(5000)]]);
    expect(new MultipartFieldScanner(multipartBoundary(long.type)!, 'model').push(long.body)).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/longer than 4096 bytes/) });
    const cut = await encode([['file', tricky, 'a.wav'], ['model', 'm']]);
    const scanner = new MultipartFieldScanner(multipartBoundary(cut.type)!, 'model');
    expect(scanner.push(cut.body.subarray(0, 50_000))).toBeNull();
    expect(scanner.end()).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/ended before/) });
  });
});
