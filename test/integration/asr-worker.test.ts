/**
 * The ASR worker as a real process (out/workers/asr.mjs) with the Whisper tiny.en ONNX export:
 * accuracy on spoken phrases (flite slt and espeak-ng), any WAV rate/channel count, long audio
 * split at pauses, OpenAI response formats, and clear 4xx answers for unusable input.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSherpaAsrFolder } from '../../src/workers/asr/sherpa-asr.js';
import { requirePart } from '../support/system.js';
import {
  PHRASES,
  espeakWav,
  fliteWav,
  haveEspeak,
  haveFlite,
  haveSox,
  haveWhisper,
  runSpeechWorkerToExit,
  sox,
  startSpeechWorker,
  transcribe,
  whisperModel,
  wordErrors,
  type SpeechWorker,
} from '../support/speech.js';

let worker: SpeechWorker | undefined;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-asr-'));
  if (haveWhisper) worker = await startSpeechWorker('asr', ['--model', whisperModel, '--model-name', 'whisper-tiny.en', '--threads', '2']);
});

afterAll(async () => {
  await worker?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function textOf(audio: Uint8Array, type = 'audio/wav'): Promise<string> {
  const res = await transcribe(worker!.url, audio, { type });
  const body = (await res.json()) as { text?: string; error?: { message: string } };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.text!;
}

describe('ASR worker (Whisper tiny.en ONNX export)', () => {
  it('serves /health and /v1/models', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    const health = (await (await fetch(`${worker!.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', engine: 'whisper-onnx', model: 'whisper-tiny.en' });
    const models = (await (await fetch(`${worker!.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['whisper-tiny.en']);
  });

  for (const [voice, make, have, part] of [
    ['flite slt', fliteWav, haveFlite, 'flite'],
    ['espeak-ng', espeakWav, haveEspeak, 'espeak-ng'],
  ] as const) {
    it(`transcribes the five phrases spoken by ${voice} with at most one word error in total`, async (ctx) => {
      requirePart(ctx, 'shared-models', haveWhisper);
      requirePart(ctx, part, have);
      let errors = 0;
      const got: string[] = [];
      for (const [i, phrase] of PHRASES.entries()) {
        const file = make(phrase, path.join(tmp, `${part}-${i}.wav`));
        const text = await textOf(readFileSync(file));
        got.push(text);
        errors += wordErrors(phrase, text);
      }
      expect(errors, got.join(' | ')).toBeLessThanOrEqual(1);
    });
  }

  it('transcribes the same clip as stereo WAV at 16, 22.05, 44.1 and 48 kHz', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'sox', haveSox);
    const src = fliteWav(PHRASES[1], path.join(tmp, 'rates-src.wav'));
    for (const rate of ['16000', '22050', '44100', '48000']) {
      const out = path.join(tmp, `rates-${rate}.wav`);
      sox(src, '-r', rate, '-c', '2', out);
      const wav = readFileSync(out);
      expect(wav.readUInt16LE(22)).toBe(2);
      expect(wav.readUInt32LE(24)).toBe(Number(rate));
      const text = await textOf(wav);
      expect(wordErrors(PHRASES[1], text), `${rate} Hz: ${text}`).toBe(0);
    }
  });

  it('transcribes a 70 s recording completely, in pieces split at pauses, with segment timestamps', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'sox', haveSox);
    const parts: string[] = [];
    const silence = path.join(tmp, 'long-silence.wav');
    sox('-n', '-r', '16000', '-c', '1', '-b', '16', silence, 'trim', '0', '5');
    const spoken = [...PHRASES, ...PHRASES];
    for (const [i, phrase] of spoken.entries()) {
      const raw = fliteWav(phrase, path.join(tmp, `long-raw-${i}.wav`));
      const norm = path.join(tmp, `long-${i}.wav`);
      sox(raw, '-r', '16000', '-c', '1', '-b', '16', norm);
      parts.push(norm, silence);
    }
    const long = path.join(tmp, 'long.wav');
    sox(...parts, long);
    const wav = readFileSync(long);
    const seconds = (wav.length - 44) / 32000;
    expect(seconds).toBeGreaterThan(70);
    const res = await transcribe(worker!.url, wav, { fields: { response_format: 'verbose_json' } });
    const body = (await res.json()) as { text: string; duration: number; segments: { start: number; end: number; text: string }[] };
    expect(res.status).toBe(200);
    expect(body.duration).toBeCloseTo(seconds, 0);
    expect(wordErrors(spoken.join(' '), body.text), body.text).toBeLessThanOrEqual(2);
    // Three or more 30 s windows, in order, inside the recording, none longer than the window.
    expect(body.segments.length).toBeGreaterThanOrEqual(3);
    let last = 0;
    for (const s of body.segments) {
      expect(s.start).toBeGreaterThanOrEqual(last);
      expect(s.end).toBeGreaterThan(s.start);
      expect(s.end - s.start).toBeLessThanOrEqual(30);
      last = s.end;
    }
    expect(last).toBeLessThanOrEqual(seconds + 0.01);
  });

  it('answers json, text and verbose_json', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    requirePart(ctx, 'espeak-ng', haveEspeak);
    const wav = readFileSync(espeakWav(PHRASES[0], path.join(tmp, 'formats.wav')));
    const text = await transcribe(worker!.url, wav, { fields: { response_format: 'text' } });
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(wordErrors(PHRASES[0], await text.text())).toBe(0);
    const verbose = await transcribe(worker!.url, wav, { fields: { response_format: 'verbose_json', language: 'en' } });
    const v = (await verbose.json()) as { task: string; language: string; duration: number; segments: { start: number; end: number; text: string }[] };
    expect(v.task).toBe('transcribe');
    expect(v.language).toBe('en');
    expect(v.segments).toHaveLength(1);
    expect(v.segments[0].end).toBeLessThanOrEqual(v.duration);
    expect(wordErrors(PHRASES[0], v.segments[0].text)).toBe(0);
  });

  it('rejects unusable requests with a 4xx that says why', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    const url = worker!.url;
    const expectError = async (res: Response, status: number, pattern: RegExp) => {
      const body = (await res.json()) as { error: { message: string } };
      expect(res.status, body.error.message).toBe(status);
      expect(body.error.message).toMatch(pattern);
    };
    await expectError(await transcribe(url, new Uint8Array(0)), 400, /empty/);
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
    await expectError(await transcribe(url, garbage, { type: 'application/octet-stream' }), 400, /unrecognised audio format/);
    const headerOnly = Buffer.alloc(44);
    headerOnly.write('RIFF', 0, 'ascii');
    headerOnly.write('WAVEfmt ', 8, 'ascii');
    headerOnly.writeUInt32LE(16, 16);
    headerOnly.writeUInt16LE(1, 20);
    headerOnly.writeUInt16LE(1, 22);
    headerOnly.writeUInt32LE(16000, 24);
    headerOnly.writeUInt16LE(2, 32);
    headerOnly.writeUInt16LE(16, 34);
    headerOnly.write('data', 36, 'ascii');
    await expectError(await transcribe(url, headerOnly), 400, /no samples/);
    const truncatedWebm = Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]);
    await expectError(await transcribe(url, truncatedWebm, { type: 'audio/webm' }), 400, /WebM|Opus/);
    await expectError(await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }), 400, /multipart/);
    const noFile = new FormData();
    noFile.set('model', 'x');
    await expectError(await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: noFile }), 400, /`file`/);
    if (haveSox) {
      const tiny = path.join(tmp, 'tone.wav');
      sox('-n', '-r', '16000', '-c', '1', '-b', '16', tiny, 'synth', '0.5', 'sine', '440');
      await expectError(await transcribe(url, readFileSync(tiny), { fields: { response_format: 'srt' } }), 400, /srt.*json, text or verbose_json/);
      await expectError(await transcribe(url, readFileSync(tiny), { fields: { language: 'de' } }), 400, /en only/);
      const vorbis = path.join(tmp, 'tone.ogg');
      sox(tiny, vorbis);
      await expectError(await transcribe(url, readFileSync(vorbis), { type: 'audio/ogg' }), 400, /Opus/);
    }
  });

  it('answers 413 naming the limit for audio over 10 minutes', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    // 601 s of 16 kHz mono 16-bit silence, built in memory.
    const samples = 601 * 16000;
    const wav = Buffer.alloc(44 + samples * 2);
    wav.write('RIFF', 0, 'ascii');
    wav.writeUInt32LE(36 + samples * 2, 4);
    wav.write('WAVEfmt ', 8, 'ascii');
    wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(1, 20);
    wav.writeUInt16LE(1, 22);
    wav.writeUInt32LE(16000, 24);
    wav.writeUInt32LE(32000, 28);
    wav.writeUInt16LE(2, 32);
    wav.writeUInt16LE(16, 34);
    wav.write('data', 36, 'ascii');
    wav.writeUInt32LE(samples * 2, 40);
    const res = await transcribe(worker!.url, wav);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(res.status).toBe(413);
    expect(body.error.code).toBe('audio_too_long');
    expect(body.error.message).toMatch(/at most 600 s/);
  });
});

describe('ASR worker model errors', () => {
  it('exits with a reason when the model path does not exist', async () => {
    const r = await runSpeechWorkerToExit('asr', ['--model', path.join(tmp, 'nope.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: model path .*nope\.onnx does not exist/);
  });

  it('exits with a reason when an .onnx file is not the Whisper all-in-one export', async (ctx) => {
    requirePart(ctx, 'shared-models', haveWhisper);
    const { sileroModel } = await import('../support/speech.js');
    const r = await runSpeechWorkerToExit('asr', ['--model', sileroModel]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no com\.microsoft BeamSearch node/);
  });

  it('names the missing file of an incomplete sherpa-onnx model folder', async () => {
    const dir = path.join(tmp, 'sherpa-onnx-whisper-tiny.en');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'tiny.en-tokens.txt'), 'a 0\n');
    writeFileSync(path.join(dir, 'tiny.en-encoder.int8.onnx'), 'x');
    const r = await runSpeechWorkerToExit('asr', ['--model', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/whisper model folder .* lacks the decoder/);
  });
});

describe('sherpa-onnx ASR model folders (detection only: no such model exists here)', () => {
  const folder = (name: string, files: string[]) => {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(path.join(dir, f), 'x');
    return dir;
  };

  it('builds configs for SenseVoice, Whisper and Paraformer folders, preferring int8 files', () => {
    const sv = detectSherpaAsrFolder(folder('sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17', ['model.onnx', 'model.int8.onnx', 'tokens.txt']), { threads: 2 });
    expect(sv.kind).toBe('sense-voice');
    expect(sv.config.modelConfig.senseVoice?.model).toMatch(/model\.int8\.onnx$/);
    expect(sv.config.modelConfig.numThreads).toBe(2);
    const wh = detectSherpaAsrFolder(folder('sherpa-onnx-whisper-base.en', ['base.en-encoder.onnx', 'base.en-decoder.onnx', 'base.en-tokens.txt']), { threads: 1 });
    expect(wh.kind).toBe('whisper');
    expect(wh.config.modelConfig.whisper).toMatchObject({ task: 'transcribe' });
    expect(wh.config.modelConfig.tokens).toMatch(/base\.en-tokens\.txt$/);
    const pf = detectSherpaAsrFolder(folder('sherpa-onnx-paraformer-zh-2023-09-14', ['model.int8.onnx', 'tokens.txt']), { threads: 1 });
    expect(pf.kind).toBe('paraformer');
    expect(pf.config.modelConfig.paraformer?.model).toMatch(/model\.int8\.onnx$/);
    const forced = detectSherpaAsrFolder(folder('my-model', ['model.onnx', 'tokens.txt']), { threads: 1, kind: 'sense-voice' });
    expect(forced.kind).toBe('sense-voice');
  });

  it('names what is missing or ambiguous', () => {
    expect(() => detectSherpaAsrFolder(folder('sherpa-onnx-sense-voice-broken', ['tokens.txt']), { threads: 1 })).toThrow(/sense-voice model folder .* lacks model\.onnx/);
    expect(() => detectSherpaAsrFolder(folder('sherpa-onnx-paraformer-notokens', ['model.onnx']), { threads: 1 })).toThrow(/paraformer model folder .* lacks a tokens file/);
    expect(() => detectSherpaAsrFolder(folder('sherpa-onnx-whisper-noenc', ['tiny-decoder.onnx', 'tiny-tokens.txt']), { threads: 1 })).toThrow(/lacks the encoder/);
    expect(() => detectSherpaAsrFolder(folder('mystery', ['model.onnx', 'tokens.txt']), { threads: 1 })).toThrow(/cannot tell which sherpa-onnx model/);
    expect(() => detectSherpaAsrFolder(path.join(tmp, 'absent'), { threads: 1 })).toThrow(/does not exist/);
  });

  it('the worker reports a folder sherpa-onnx cannot load instead of crashing silently', async () => {
    const dir = folder('sherpa-onnx-sense-voice-corrupt', ['model.onnx', 'tokens.txt']);
    const r = await runSpeechWorkerToExit('asr', ['--model', dir]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toMatch(/listening on/);
    expect(r.stderr).toMatch(/sherpa-onnx could not load the sense-voice model|model\.onnx/);
  });
});
