/**
 * What a browser really sends: Chromium (driven by Playwright) plays a flite WAV through its fake
 * microphone, MediaRecorder records it as WebM/Opus (and Ogg/Opus when this Chromium can), and the
 * bytes go to the real ASR worker process.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTo16kMono } from '../../src/lib/audio/decode.js';
import { demuxWebmOpus } from '../../src/lib/audio/opus.js';
import { rms } from '../../src/lib/audio/resample.js';
import { hasCommand, requirePart } from '../support/system.js';
import { muxOggOpus, PHRASES, fliteWav, haveFlite, haveSox, haveWhisper, sox, startSpeechWorker, transcribe, whisperModel, wordErrors, type SpeechWorker } from '../support/speech.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = hasCommand(CHROMIUM);
const ready = haveChromium && haveFlite && haveSox && haveWhisper;

let tmp: string;
let browser: Browser | undefined;
let server: Server | undefined;
let pageUrl = '';
let worker: SpeechWorker | undefined;
/** The WebM recording, kept for the Ogg test. */
let recordedWebm: Uint8Array | undefined;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-mr-'));
  if (!ready) return;
  // Phrase, then silence, so a 4 s recording holds it once (the fake device loops the file).
  const phrase = fliteWav(PHRASES[0], path.join(tmp, 'phrase.wav'));
  const fake = path.join(tmp, 'fake-mic.wav');
  sox(phrase, '-r', '48000', '-c', '1', '-b', '16', fake, 'pad', '0.3', '4');
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>recorder</title>');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const addr = server.address();
  pageUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${fake}`,
    ],
  });
  worker = await startSpeechWorker('asr', ['--model', whisperModel]);
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  rmSync(tmp, { recursive: true, force: true });
});

/** Records `ms` of the fake microphone in the page; returns the container bytes or null if unsupported. */
async function record(mimeType: string, ms: number): Promise<Uint8Array | null> {
  const page = await browser!.newPage();
  try {
    await page.goto(pageUrl);
    // Browser-side code as source text: this project's Node tsconfig has no DOM types.
    const b64 = (await page.evaluate(`(async () => {
      const mimeType = ${JSON.stringify(mimeType)};
      if (!MediaRecorder.isTypeSupported(mimeType)) return null;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const rec = new MediaRecorder(stream, { mimeType });
      const chunks = [];
      rec.ondataavailable = (e) => chunks.push(e.data);
      const stopped = new Promise((r) => (rec.onstop = r));
      rec.start(250);
      await new Promise((r) => setTimeout(r, ${ms}));
      rec.stop();
      await stopped;
      stream.getTracks().forEach((t) => t.stop());
      const bytes = new Uint8Array(await new Blob(chunks, { type: mimeType }).arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    })()`)) as string | null;
    return b64 === null ? null : new Uint8Array(Buffer.from(b64, 'base64'));
  } finally {
    await page.close();
  }
}

describe('MediaRecorder audio from Chromium to the ASR worker', () => {
  it('transcribes a WebM/Opus recording', async (ctx) => {
    requirePart(ctx, 'chromium', haveChromium);
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'sox', haveSox);
    requirePart(ctx, 'shared-models', haveWhisper);
    const webm = await record('audio/webm;codecs=opus', 4000);
    recordedWebm = webm ?? undefined;
    expect(webm, 'this Chromium cannot record audio/webm;codecs=opus').not.toBeNull();
    expect(Array.from(webm!.subarray(0, 4))).toEqual([0x1a, 0x45, 0xdf, 0xa3]);
    // A wrong fake-capture path records silence without complaint: prove there is sound.
    const decoded = await decodeTo16kMono(webm!);
    expect(decoded.container).toBe('webm');
    expect(decoded.samples.length / 16000).toBeGreaterThan(3);
    expect(rms(decoded.samples)).toBeGreaterThan(0.005);
    const res = await transcribe(worker!.url, webm!, { filename: 'recording.webm', type: 'audio/webm' });
    const body = (await res.json()) as { text: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(wordErrors(PHRASES[0], body.text), body.text).toBeLessThanOrEqual(1);
  });

  it('transcribes Ogg/Opus: recorded by Chromium when it can, else the WebM recording remuxed into Ogg', async (ctx) => {
    requirePart(ctx, 'chromium', haveChromium);
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'sox', haveSox);
    requirePart(ctx, 'shared-models', haveWhisper);
    let ogg = await record('audio/ogg;codecs=opus', 4000);
    if (ogg === null) {
      // This Chromium records WebM only: the same Opus packets in an Ogg container are what
      // Firefox's MediaRecorder sends.
      expect(recordedWebm, 'the WebM test must run first').toBeDefined();
      const track = demuxWebmOpus(recordedWebm!);
      ogg = muxOggOpus(track.opusHead, track.packets);
    }
    const decoded = await decodeTo16kMono(ogg);
    expect(decoded.container).toBe('ogg');
    expect(decoded.samples.length / 16000).toBeGreaterThan(3);
    expect(rms(decoded.samples)).toBeGreaterThan(0.005);
    const res = await transcribe(worker!.url, ogg, { filename: 'recording.ogg', type: 'audio/ogg' });
    const body = (await res.json()) as { text: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(wordErrors(PHRASES[0], body.text), body.text).toBeLessThanOrEqual(1);
  });
});
