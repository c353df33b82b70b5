/**
 * The TTS worker must survive what a voice conversation does to it: clients that leave while it
 * synthesises (barge-in), and hundreds of sentences in a row. (The voice benchmark saw the TTS
 * service restart; the cause was Node's WASI finaliser aborting the process when a GC ran inside
 * the next flite instance's WASI call — SIGABRT after 1 to ~100 requests. See engines.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSpeechWorker, haveFlite, type SpeechWorker } from '../support/speech.js';
import { requirePart } from '../support/system.js';

let tts: SpeechWorker | undefined;
beforeAll(async () => {
  tts = await startSpeechWorker('tts', []);
}, 60_000);
afterAll(async () => {
  await tts?.stop();
});

describe('TTS worker and disconnecting clients', () => {
  it('survives clients that leave mid-synthesis, and keeps answering', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    const input = Array.from({ length: 12 }, (_, i) => `This is sentence number ${i + 1}, long enough to take a while to say.`).join(' ');
    for (const waitMs of [5, 60, 250]) {
      const ac = new AbortController();
      const res = fetch(`${tts!.url}/v1/audio/speech`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'aima-tts', input, voice: 'slt', response_format: 'pcm' }),
        signal: ac.signal,
      }).then(async (r) => {
        await r.body?.getReader().read();
      });
      await new Promise((r) => setTimeout(r, waitMs));
      ac.abort();
      await res.catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(tts!.child.exitCode).toBeNull();
    const ok = await fetch(`${tts!.url}/health`);
    expect(ok.status).toBe(200);
  });

  it('synthesises 120 two-sentence requests in a row without the process aborting', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    for (let i = 0; i < 120; i++) {
      const res = await fetch(`${tts!.url}/v1/audio/speech`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'aima-tts', input: `This is sentence number ${i}, long enough to take a while to say. And here is another one.`, voice: 'slt', response_format: 'pcm' }),
      }).catch((err: Error) => err);
      if (res instanceof Error) throw new Error(`request ${i} failed (worker exit code ${tts!.child.exitCode}, signal ${tts!.child.signalCode}): ${res.message}`);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect(tts!.child.exitCode).toBeNull();
  }, 180_000);
});
