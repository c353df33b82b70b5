/**
 * The ASR worker under many concurrent large uploads: it reads only a few forms at a time (the
 * rest wait unread on their sockets), so its memory does not grow with the number of uploads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePart } from '../support/system.js';
import { haveWhisper, startSpeechWorker, whisperModel, type SpeechWorker } from '../support/speech.js';
import { sendUpload } from '../support/uploads.js';

const MIB = 1024 * 1024;
let asr: SpeechWorker | undefined;

beforeAll(async () => {
  if (haveWhisper) asr = await startSpeechWorker('asr', ['--model', whisperModel]);
}, 60_000);
afterAll(async () => {
  await asr?.stop();
});

describe('ASR worker uploads', () => {
  it('eight concurrent 30 MB uploads are each answered, with the worker reading only two at once', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    const url = `${asr!.url}/v1/audio/transcriptions`;
    const warm = await sendUpload(url, 'whisper', MIB, 'file-first');
    expect(warm.status).toBe(400); // not audio: the bytes are a test pattern
    // Every client sends its file, then stalls before the end of the form. A client whose upload
    // the worker is not reading cannot get 30 MB past the loopback socket buffers (a few MB).
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let sent = 0;
    const pending = Array.from({ length: 8 }, () => sendUpload(url, 'whisper', 30 * MIB, 'file-first', { hold, onFileSent: () => sent++ }));
    await new Promise((r) => setTimeout(r, 4000));
    const taken = sent;
    release();
    for (const a of await Promise.all(pending)) expect(JSON.parse(a.body).error.code, a.body).toBe('invalid_audio');
    expect(taken, 'uploads the worker read at once').toBeLessThanOrEqual(2);
  }, 120_000);
});
