/**
 * Large audio uploads through `aima serve`'s gateway: concurrent uploads that name their model
 * after the file are spooled to disk, not held in the core's memory, arrive upstream intact, and
 * leave no spool file behind; the total bytes of uploads in flight are capped with a 429 that
 * names the limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { rssOf, sampleRss, sendUpload, startFakeAsr, uploadParts, type FakeAsr } from '../support/uploads.js';

const MIB = 1024 * 1024;
let serve: ServeHandle;
let home: string;
let fast: FakeAsr;
let slow: FakeAsr;

beforeAll(async () => {
  home = tempHome();
  [fast, slow] = await Promise.all([startFakeAsr(0), startFakeAsr(2000)]);
  serve = await startServe({ AIMA_HOME: home, AIMA_UPLOAD_BUDGET_MB: '100' });
  for (const [name, remote] of [['fast', fast], ['slow', slow]] as const) {
    const r = await runAima(['remote', 'add', name, '--url', `${remote.url}/v1`, '--model', `asr-${name}`, '--kind', 'asr'], { AIMA_HOME: home });
    if (r.code !== 0) throw new Error(`aima remote add ${name}: ${r.stderr}`);
  }
}, 60_000);
afterAll(async () => {
  await serve?.stop();
  await fast?.close();
  await slow?.close();
});

const transcriptions = () => `${serve.url}/v1/audio/transcriptions`;
const spooled = () => {
  const dir = path.join(home, 'tmp');
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => !String(f).endsWith('/')) : [];
};

describe('large uploads through the gateway', () => {
  it('three concurrent 30 MB uploads with the file before the model arrive intact, without the core holding them in memory', async () => {
    const bytes = 30 * MIB;
    const sha = uploadParts('asr-fast', bytes, 'file-first').fileSha256;
    // Warm-up: the first upload's allocations (sockets, JIT) are not what is measured.
    const warm = await sendUpload(transcriptions(), 'asr-fast', MIB, 'file-first');
    expect(warm.status, warm.body).toBe(200);
    const idle = rssOf(serve.child.pid!);
    const sampler = sampleRss(serve.child.pid!);
    const answers = await Promise.all([0, 1, 2].map(() => sendUpload(transcriptions(), 'asr-fast', bytes, 'file-first')));
    const peak = sampler.stop();
    for (const a of answers) {
      expect(a.status, a.body).toBe(200);
      expect(JSON.parse(a.body).text).toBe(sha);
    }
    // Held in memory, the three bodies alone are 90 MB (the buffering gateway grew by ~170 MB); streamed,
    // growth is sockets and chunks in flight, which a loaded machine stretches to ~50 MB.
    expect(peak - idle, `idle ${Math.round(idle / MIB)} MB, peak ${Math.round(peak / MIB)} MB`).toBeLessThan(80 * MIB);
    expect(spooled()).toEqual([]);
  }, 120_000);

  it('the model part first streams the file straight through', async () => {
    const bytes = 20 * MIB;
    const a = await sendUpload(transcriptions(), 'asr-fast', bytes, 'model-first');
    expect(a.status, a.body).toBe(200);
    expect(JSON.parse(a.body).text).toBe(uploadParts('asr-fast', bytes, 'model-first').fileSha256);
  }, 60_000);

  it('uploads beyond the bytes-in-flight budget are refused with 429, a message naming the limit and Retry-After', async () => {
    const held = [0, 1, 2].map(() => sendUpload(transcriptions(), 'asr-slow', 30 * MIB, 'model-first'));
    await new Promise((r) => setTimeout(r, 500));
    const over = await sendUpload(transcriptions(), 'asr-fast', 30 * MIB, 'file-first');
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(over.body).error).toMatchObject({ type: 'rate_limit_error', code: 'upload_budget_exceeded', message: expect.stringMatching(/AIMA_UPLOAD_BUDGET_MB/) });
    for (const a of await Promise.all(held)) expect(a.status, a.body).toBe(200);
    // Once they are done the budget is free again.
    const after = await sendUpload(transcriptions(), 'asr-fast', 30 * MIB, 'file-first');
    expect(after.status, after.body).toBe(200);
    expect(spooled()).toEqual([]);
  }, 120_000);

  it('a client that leaves mid-upload leaves no spool file, and the gateway keeps serving', async () => {
    const controller = new AbortController();
    const never = new Promise<void>(() => {});
    const upload = sendUpload(transcriptions(), 'asr-fast', 20 * MIB, 'file-first', { hold: never, signal: controller.signal }).catch((err: Error) => err);
    let seen = 0;
    for (let i = 0; i < 100 && seen === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      seen = spooled().length;
    }
    expect(seen, 'the upload was being spooled').toBe(1);
    controller.abort();
    expect(await upload).toBeInstanceOf(Error);
    let left = spooled();
    for (let i = 0; i < 50 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 20));
      left = spooled();
    }
    expect(left).toEqual([]);
    const ok = await sendUpload(transcriptions(), 'asr-fast', MIB, 'file-first');
    expect(ok.status, ok.body).toBe(200);
  }, 60_000);
});
