/**
 * The TTS worker as a real process (out/workers/tts.mjs): flite.wasm and espeak-ng voices, WAV of
 * the expected length, sentence-by-sentence streaming, and a TTS -> ASR round trip through the
 * real ASR worker. sherpa-onnx voice folders: detection and errors only (no such voice exists here).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSherpaTtsFolder } from '../../src/workers/tts/sherpa-tts.js';
import { readWav } from '../../src/lib/audio/wav.js';
import { requirePart } from '../support/system.js';
import {
  PHRASES,
  haveEspeak,
  haveFlite,
  haveWhisper,
  pcmOfWav,
  runSpeechWorkerToExit,
  startSpeechWorker,
  transcribe,
  whisperModel,
  wordErrors,
  type SpeechWorker,
} from '../support/speech.js';

let tts: SpeechWorker;
let asr: SpeechWorker | undefined;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-tts-'));
  tts = await startSpeechWorker('tts', []);
  if (haveWhisper) asr = await startSpeechWorker('asr', ['--model', whisperModel]);
});

afterAll(async () => {
  await tts?.stop();
  await asr?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function speak(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${tts.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function speakWav(input: string, voice: string, extra: Record<string, unknown> = {}): Promise<{ sampleRate: number; samples: Int16Array; seconds: number }> {
  const res = await speak({ model: 'tts-1', input, voice, ...extra });
  expect(res.status).toBe(200);
  const { sampleRate, samples } = pcmOfWav(new Uint8Array(await res.arrayBuffer()));
  return { sampleRate, samples, seconds: samples.length / sampleRate };
}

describe('TTS worker', () => {
  it('lists its voices and models and reports health', async () => {
    const health = (await (await fetch(`${tts.url}/health`)).json()) as { status: string; engines: string[] };
    expect(health.status).toBe('ok');
    expect(health.engines).toContain('flite');
    const { voices, default: def } = (await (await fetch(`${tts.url}/v1/audio/voices`)).json()) as {
      default: string;
      voices: { id: string; engine: string; sample_rate: number }[];
    };
    expect(def).toBe('slt');
    expect(voices.find((v) => v.id === 'slt')).toMatchObject({ engine: 'flite', sample_rate: 16000 });
    if (haveEspeak) expect(voices.some((v) => v.engine === 'espeak-ng')).toBe(true);
    const models = (await (await fetch(`${tts.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0].id).toBe('aima-tts');
  });

  it('speaks a WAV as long as the flite CLI says the same text takes', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    const text = 'What is the weather like today? Set a timer for ten minutes.';
    const got = await speakWav(text, 'slt');
    expect(got.sampleRate).toBe(16000);
    const cliFile = path.join(tmp, 'cli.wav');
    execFileSync('flite', ['-voice', 'slt', '-t', text, '-o', cliFile]);
    const cli = readWav(readFileSync(cliFile));
    const cliSeconds = cli.channels[0].length / cli.sampleRate;
    // Two sentences synthesised separately vs. one run: allow the extra pause between them.
    expect(got.seconds).toBeGreaterThan(cliSeconds * 0.85);
    expect(got.seconds).toBeLessThan(cliSeconds * 1.3);
    const words = text.split(/\s+/).length;
    expect(words / got.seconds).toBeGreaterThan(1.5);
    expect(words / got.seconds).toBeLessThan(5);
    // Not silence: a real signal.
    const peak = got.samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak).toBeGreaterThan(3000);
  });

  it('speaks faster with speed 2 and speaks with espeak-ng voices', async (ctx) => {
    const normal = await speakWav(PHRASES[2], 'slt');
    const fast = await speakWav(PHRASES[2], 'slt', { speed: 2 });
    expect(fast.seconds / normal.seconds).toBeGreaterThan(0.35);
    expect(fast.seconds / normal.seconds).toBeLessThan(0.7);
    requirePart(ctx, 'espeak-ng', haveEspeak);
    const es = await speakWav(PHRASES[2], 'en-us');
    expect(es.sampleRate).toBe(22050);
    expect(es.seconds).toBeGreaterThan(1);
    expect(es.seconds).toBeLessThan(4);
  });

  it('streams: the first sentence arrives before the whole text is synthesised', async () => {
    const input =
      'The kitchen lights are now on and set to a warm white colour at sixty percent brightness. ' +
      'Tomorrow will be cloudy in the morning with some sunshine later and a light breeze from the west. ' +
      'Your timer for ten minutes has been started and I will tell you when the time is up.';
    const t0 = performance.now();
    const chunks: { at: number; bytes: number }[] = [];
    const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const req = request(`${tts.url}/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.on('data', (d: Buffer) => chunks.push({ at: performance.now() - t0, bytes: d.length }));
        res.on('end', () => resolve(res.headers));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ input, voice: 'slt', response_format: 'wav' }));
    });
    expect(headers['content-type']).toBe('audio/wav');
    expect(headers['content-length']).toBeUndefined();
    const total = chunks.reduce((n, c) => n + c.bytes, 0);
    const end = chunks.at(-1)!.at;
    const first = chunks[0];
    // The first write is the header plus sentence one: well before the end, and only part of it.
    expect(first.at).toBeLessThan(end * 0.7);
    const byFirst = chunks.filter((c) => c.at <= first.at + 5).reduce((n, c) => n + c.bytes, 0);
    expect(byFirst).toBeLessThan(total * 0.6);
    expect(byFirst).toBeGreaterThan(44);
  });

  it('keeps answering /health while a long sentence is being synthesised', async () => {
    const long = 'This single sentence goes on and on about the weather and the kitchen lights and the timer and the music ' +
      'and the mobile phone of my mother without ever stopping for breath so that flite needs a noticeable while to speak it';
    const started = performance.now();
    const speech = speak({ input: long, voice: 'slt' }).then(async (r) => {
      await r.arrayBuffer();
      return performance.now() - started;
    });
    await new Promise((r) => setTimeout(r, 30));
    const t0 = performance.now();
    const health = await fetch(`${tts.url}/health`);
    const healthMs = performance.now() - t0;
    const speechMs = await speech;
    expect(health.status).toBe(200);
    // The health answer does not wait for the synthesis (which runs in flite's worker thread).
    expect(healthMs).toBeLessThan(speechMs / 2);
  });

  it('streams a WAV header with unknown length, or raw pcm', async () => {
    const wav = new Uint8Array(await (await speak({ input: 'Hello.', voice: 'slt' })).arrayBuffer());
    const view = Buffer.from(wav);
    expect(view.toString('ascii', 0, 4)).toBe('RIFF');
    expect(view.readUInt32LE(4)).toBe(0xffffffff);
    expect(view.readUInt32LE(40)).toBe(0xffffffff);
    const pcm = await speak({ input: 'Hello.', voice: 'slt', response_format: 'pcm' });
    expect(pcm.headers.get('x-sample-rate')).toBe('16000');
    const raw = Buffer.from(await pcm.arrayBuffer());
    expect(raw.toString('ascii', 0, 4)).not.toBe('RIFF');
    expect(raw.length).toBe(wav.length - 44);
  });

  it('rejects bad requests with a 400 that says why', async () => {
    const cases: [Record<string, unknown> | string, RegExp][] = [
      [{ input: '' }, /input/],
      [{ input: 'hi', voice: 'nobody' }, /Unknown voice "nobody". Voices: .*slt/],
      [{ input: 'hi', response_format: 'mp3' }, /mp3.*wav or pcm/],
      [{ input: 'hi', speed: 10 }, /speed/],
      [{ input: 'x'.repeat(5000) }, /limit is 4096/],
      ['{not json', /not valid JSON/],
    ];
    for (const [body, pattern] of cases) {
      const res = await fetch(`${tts.url}/v1/audio/speech`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const json = (await res.json()) as { error: { message: string } };
      expect(res.status, json.error.message).toBe(400);
      expect(json.error.message).toMatch(pattern);
    }
  });

  // en-gb is espeak-ng's default English voice (gmw/en).
  for (const voice of ['slt', 'en-gb']) {
    it(`round trip TTS (${voice}) -> ASR recovers the text`, async (ctx) => {
      requirePart(ctx, 'shared-models', haveWhisper);
      if (voice === 'en-gb') requirePart(ctx, 'espeak-ng', haveEspeak);
      let errors = 0;
      const heard: string[] = [];
      for (const phrase of PHRASES) {
        const res = await speak({ input: phrase, voice });
        const wav = new Uint8Array(await res.arrayBuffer());
        const asrRes = await transcribe(asr!.url, wav);
        const { text } = (await asrRes.json()) as { text: string };
        heard.push(text);
        errors += wordErrors(phrase, text);
      }
      expect(errors, heard.join(' | ')).toBeLessThanOrEqual(2);
    });
  }
});

describe('sherpa-onnx TTS voice folders (detection only: no such voice exists here)', () => {
  const folder = (name: string, files: string[]) => {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { recursive: true });
    for (const f of files) {
      if (f.endsWith('/')) mkdirSync(path.join(dir, f), { recursive: true });
      else writeFileSync(path.join(dir, f), 'x');
    }
    return dir;
  };

  it('builds configs for complete Piper/VITS, Kokoro and Matcha folders', () => {
    const vits = detectSherpaTtsFolder(folder('vits-piper-en_US-amy-low', ['en_US-amy-low.onnx', 'tokens.txt', 'espeak-ng-data/']), { threads: 1 });
    expect(vits.kind).toBe('vits');
    expect(vits.config.model.vits?.model).toMatch(/en_US-amy-low\.onnx$/);
    expect(vits.config.model.vits?.dataDir).toMatch(/espeak-ng-data$/);
    const kokoro = detectSherpaTtsFolder(folder('kokoro-en-v0_19', ['model.onnx', 'voices.bin', 'tokens.txt', 'espeak-ng-data/']), { threads: 1 });
    expect(kokoro.kind).toBe('kokoro');
    expect(kokoro.config.model.kokoro?.voices).toMatch(/voices\.bin$/);
    const matcha = detectSherpaTtsFolder(folder('matcha-icefall-en_US-ljspeech', ['model-steps-3.onnx', 'vocos-22khz-univ.onnx', 'tokens.txt', 'espeak-ng-data/']), { threads: 1 });
    expect(matcha.kind).toBe('matcha');
    expect(matcha.config.model.matcha?.acousticModel).toMatch(/model-steps-3\.onnx$/);
    expect(matcha.config.model.matcha?.vocoder).toMatch(/vocos-22khz-univ\.onnx$/);
  });

  it('names what is missing', () => {
    expect(() => detectSherpaTtsFolder(folder('kokoro-broken', ['model.onnx', 'tokens.txt', 'espeak-ng-data/']), { threads: 1 })).toThrow(/kokoro voice folder .* lacks voices\.bin/);
    expect(() => detectSherpaTtsFolder(folder('piper-broken', ['voice.onnx', 'espeak-ng-data/']), { threads: 1 })).toThrow(/vits voice folder .* lacks tokens\.txt/);
    expect(() => detectSherpaTtsFolder(folder('piper-nodata', ['voice.onnx', 'tokens.txt']), { threads: 1 })).toThrow(/lacks espeak-ng-data/);
    expect(() => detectSherpaTtsFolder(folder('matcha-novocoder', ['model-steps-3.onnx', 'tokens.txt']), { threads: 1 })).toThrow(/matcha voice folder .* lacks a vocoder/);
    expect(() => detectSherpaTtsFolder(folder('empty-voice', []), { threads: 1 })).toThrow(/holds no \.onnx model/);
    expect(() => detectSherpaTtsFolder(path.join(tmp, 'missing'), { threads: 1 })).toThrow(/does not exist/);
  });

  it('the worker exits with the reason when given an incomplete voice folder', async () => {
    const dir = folder('kokoro-worker', ['model.onnx', 'tokens.txt', 'espeak-ng-data/']);
    const r = await runSpeechWorkerToExit('tts', ['--voice-folder', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: kokoro voice folder .* lacks voices\.bin/);
  });
});
