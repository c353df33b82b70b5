/**
 * A client that leaves while the TTS worker is synthesising (a voice barge-in) must not end the
 * worker. (The voice benchmark saw the TTS service restart after cancelled turns; this test does
 * not reproduce that yet — the cause is still open — but pins down the disconnect paths.)
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
});
