/**
 * Speech through the gateway with the official openai client: transcriptions from the embedded
 * Whisper worker and speech from the embedded TTS worker, both running as real services.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { runAima, startServe, tempHome, type ServeHandle } from '../support/cli.js';
import { requirePart } from '../support/system.js';
import { fliteWav, haveFlite, haveWhisper, normaliseWords, whisperModel, wordErrors } from '../support/speech.js';

let serve: ServeHandle | undefined;
let client: OpenAI;
let work: string;
let home: string;

beforeAll(async () => {
  if (!haveWhisper || !haveFlite) return;
  home = tempHome();
  work = tempHome('aima-gw-audio-');
  serve = await startServe({ AIMA_HOME: home });
  client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'local' });
  const aima = (...args: string[]) => runAima(args, { AIMA_HOME: home }, 180_000);
  for (const args of [
    ['model', 'import', whisperModel, '--name', 'whisper-tiny'],
    ['service', 'create', 'ears', '--model', 'whisper-tiny', '--engine', 'aima-asr'],
    ['service', 'create', 'voice', '--engine', 'aima-tts'],
    ['service', 'start', 'ears', '--wait', '--timeout', '150'],
    ['service', 'start', 'voice', '--wait', '--timeout', '150'],
  ]) {
    const r = await aima(...args);
    if (r.code !== 0) throw new Error(`aima ${args.join(' ')}: ${r.stderr}`);
  }
}, 240_000);
afterAll(async () => {
  await serve?.stop();
});

describe('audio through the gateway', () => {
  it('transcribes a spoken WAV (multipart upload routed by its model field)', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    const wav = fliteWav('turn on the kitchen lights please', path.join(work, 'q.wav'));
    const r = await client.audio.transcriptions.create({ model: 'whisper-tiny', file: createReadStream(wav) });
    expect(wordErrors('turn on the kitchen lights please', r.text)).toBeLessThanOrEqual(1);
  });

  it('speaks (WAV streamed back), and the speech transcribes back to the text', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    const text = 'Set a timer for ten minutes.';
    const res = await client.audio.speech.create({ model: 'voice', voice: 'slt', input: text, response_format: 'wav' });
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    // Plausible duration for five words of flite speech: between 1 and 4 s of 16-bit mono.
    const rate = wav.readUInt32LE(24);
    const seconds = (wav.length - 44) / (rate * 2);
    expect(seconds).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(4);
    const back = await client.audio.transcriptions.create({ model: 'ears', file: await toFile(wav, 'speech.wav', { type: 'audio/wav' }) });
    expect(wordErrors(normaliseWords(text).join(' '), back.text)).toBeLessThanOrEqual(1);
  });

  it('a transcription whose client aborts is stopped on the worker (the gateway closes its upstream request)', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    const services = JSON.parse((await runAima(['service', 'list', '--json'], { AIMA_HOME: home })).stdout) as { name: string; port: number | null }[];
    const worker = `http://127.0.0.1:${services.find((s) => s.name === 'ears')!.port}`;
    const health = async () => (await (await fetch(`${worker}/health`)).json()) as { busy: boolean; aborted: { cancelled: number } };
    const before = (await health()).aborted.cancelled;
    const long = fliteWav(
      'The quick brown fox jumps over the lazy dog while the farmer walks slowly to the market to sell his apples and pears, and the children play in the park near the river until the evening comes.',
      path.join(work, 'long.wav'),
    );
    const form = new FormData();
    form.set('model', 'whisper-tiny');
    form.set('file', new Blob([readFileSync(long)], { type: 'audio/wav' }), 'long.wav');
    const ac = new AbortController();
    const sent = fetch(`${serve!.url}/v1/audio/transcriptions`, { method: 'POST', body: form, signal: ac.signal }).catch(() => 'aborted');
    while (!(await health()).busy) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    expect(await sent).toBe('aborted');
    const deadline = Date.now() + 10_000;
    while ((await health()).aborted.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect((await health()).aborted.cancelled).toBe(before + 1);
    const wav = fliteWav('set a timer for ten minutes', path.join(work, 'after.wav'));
    const r = await client.audio.transcriptions.create({ model: 'whisper-tiny', file: createReadStream(wav) });
    expect(wordErrors('set a timer for ten minutes', r.text)).toBeLessThanOrEqual(1);
  });

  it('lists the TTS voices (GET /v1/audio/voices?model=), and says what is wrong without a TTS model', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    const res = await fetch(`${serve!.url}/v1/audio/voices?model=voice`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { default: string; voices: { id: string; engine: string }[] };
    expect(body.voices.map((v) => v.id)).toContain('slt');
    expect(body.voices.map((v) => v.id)).toContain(body.default);
    const none = await fetch(`${serve!.url}/v1/audio/voices`);
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/\?model=/);
    const wrong = await fetch(`${serve!.url}/v1/audio/voices?model=ears`);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('wrong_model_kind');
  });
});
