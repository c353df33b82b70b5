/**
 * The Silero VAD wrapper (src/core/voice/vad.ts) and the per-window silence count beside it
 * (speech-frames.ts) on real speech: flite phrases with known
 * silences between them, fed in frames that are not multiples of Silero's window.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoiceActivityDetector, type SpeechSegment } from '../../src/core/voice/vad.js';
import { readWav } from '../../src/lib/audio/wav.js';
import { resample } from '../../src/lib/audio/resample.js';
import { requirePart } from '../support/system.js';
import { PHRASES, fliteWav, haveFlite, haveSilero, sileroModel } from '../support/speech.js';

const RATE = 16000;
let tmp: string;
let audio: Float32Array;
/** Where each phrase sits in `audio`, in samples. */
const phrases: { start: number; end: number }[] = [];

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-vad-'));
  if (!haveFlite) return;
  const gaps = [1.0, 1.5, 1.0];
  const parts: Float32Array[] = [];
  let pos = 0;
  for (const [i, phrase] of [PHRASES[0], PHRASES[3]].entries()) {
    const w = readWav(readFileSync(fliteWav(phrase, path.join(tmp, `p${i}.wav`))));
    const s = resample(w.channels[0], w.sampleRate, RATE);
    const gap = new Float32Array(gaps[i] * RATE);
    parts.push(gap, s);
    pos += gap.length;
    // flite pads its output with a little silence: locate the sound itself.
    let a = 0;
    while (a < s.length && Math.abs(s[a]) < 0.01) a++;
    let b = s.length;
    while (b > a && Math.abs(s[b - 1]) < 0.01) b--;
    phrases.push({ start: pos + a, end: pos + b });
    pos += s.length;
  }
  parts.push(new Float32Array(gaps[2] * RATE));
  audio = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    audio.set(p, o);
    o += p.length;
  }
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(vad: VoiceActivityDetector, input: Float32Array, frame = 1600): { returned: SpeechSegment[]; emitted: SpeechSegment[] } {
  const emitted: SpeechSegment[] = [];
  vad.on('segment', (s) => emitted.push(s));
  const returned: SpeechSegment[] = [];
  for (let i = 0; i < input.length; i += frame) returned.push(...vad.feed(input.subarray(i, Math.min(input.length, i + frame))));
  returned.push(...vad.flush());
  return { returned, emitted };
}

describe('VoiceActivityDetector (Silero via sherpa-onnx)', () => {
  it('finds each phrase, with 0.3 s of lead-in audio before the detected start', (ctx) => {
    requirePart(ctx, 'shared-models', haveSilero);
    requirePart(ctx, 'flite', haveFlite);
    const vad = new VoiceActivityDetector({ modelPath: sileroModel });
    const t0 = performance.now();
    const { returned, emitted } = run(vad, audio);
    const ms = performance.now() - t0;
    expect(returned).toHaveLength(2);
    expect(emitted).toEqual(returned);
    for (const [i, seg] of returned.entries()) {
      const p = phrases[i];
      // Onset detected within 0.3 s of the real one (Silero is late on soft onsets, never early by much).
      expect(Math.abs(seg.speechStartSample - p.start) / RATE).toBeLessThan(0.3);
      expect(Math.abs(seg.speechEndSample - p.end) / RATE).toBeLessThan(0.6);
      expect(seg.speechStartSample - seg.startSample).toBe(0.3 * RATE);
      // With the padding, the segment covers the whole phrase.
      expect(seg.startSample).toBeLessThanOrEqual(p.start);
      expect(seg.endSample).toBeGreaterThanOrEqual(seg.speechEndSample);
      // The samples are exactly the input's [startSample, endSample).
      expect(seg.samples.length).toBe(seg.endSample - seg.startSample);
      expect(Array.from(seg.samples.subarray(0, 4000))).toEqual(Array.from(audio.subarray(seg.startSample, seg.startSample + 4000)));
    }
    expect(ms).toBeLessThan(2000);
  });

  it('honours its settings: no padding, and a long min-silence merges the phrases', (ctx) => {
    requirePart(ctx, 'shared-models', haveSilero);
    requirePart(ctx, 'flite', haveFlite);
    const unpadded = run(new VoiceActivityDetector({ modelPath: sileroModel, startPaddingSeconds: 0, endPaddingSeconds: 0 }), audio, 512).returned;
    expect(unpadded).toHaveLength(2);
    for (const s of unpadded) {
      expect(s.startSample).toBe(s.speechStartSample);
      expect(s.endSample).toBe(s.speechEndSample);
    }
    const merged = run(new VoiceActivityDetector({ modelPath: sileroModel, minSilenceSeconds: 2.0 }), audio, 3000).returned;
    expect(merged).toHaveLength(1);
    expect(merged[0].speechEndSample).toBeGreaterThan(phrases[1].start);
    // Both phrases are shorter than 3 s: a 3 s minimum speech length drops them.
    expect(run(new VoiceActivityDetector({ modelPath: sileroModel, minSpeechSeconds: 3 }), audio).returned).toEqual([]);
  });

  it('finds nothing in silence and reports speaking state while inside speech', (ctx) => {
    requirePart(ctx, 'shared-models', haveSilero);
    requirePart(ctx, 'flite', haveFlite);
    expect(run(new VoiceActivityDetector({ modelPath: sileroModel }), new Float32Array(RATE * 3)).returned).toEqual([]);
    const vad = new VoiceActivityDetector({ modelPath: sileroModel });
    vad.feed(audio.subarray(0, phrases[0].start + RATE));
    expect(vad.speaking).toBe(true);
    expect(vad.position).toBe(phrases[0].start + RATE);
  });

  it('says which file is missing', () => {
    expect(() => new VoiceActivityDetector({ modelPath: path.join(tmp, 'nope.onnx') })).toThrow(/Silero VAD model not found at .*nope\.onnx/);
  });
});

describe('the end of a segment', () => {
  it('is reported after about the minimum silence asked for, not a window later', (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'shared-models', haveSilero);
    for (const silenceMs of [200, 300, 500, 800]) {
      const vad = new VoiceActivityDetector({ modelPath: sileroModel, minSilenceSeconds: silenceMs / 1000, endPaddingSeconds: 0 });
      const after: number[] = [];
      for (let i = 0; i < audio.length; i += 320) {
        const piece = audio.subarray(i, Math.min(audio.length, i + 320));
        for (const seg of vad.feed(piece)) after.push(((i + piece.length - seg.speechEndSample) / RATE) * 1000);
      }
      expect(after, `min silence ${silenceMs} ms`).toHaveLength(2);
      // Silero decides per 32 ms window and the frames are 20 ms: within 24 ms of the silence asked for.
      for (const ms of after) {
        expect(ms, `min silence ${silenceMs} ms: reported after ${ms} ms of silence`).toBeGreaterThanOrEqual(silenceMs);
        expect(ms, `min silence ${silenceMs} ms: reported after ${ms} ms of silence`).toBeLessThanOrEqual(silenceMs + 24);
      }
    }
  });
});

describe('SpeechFrameReader (the per-window silence count of speculative turns)', () => {
  it('counts silence from where the segmenting detector says speech ended, at every frame size', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'shared-models', haveSilero);
    const { SpeechFrameReader } = await import('../../src/core/voice/speech-frames.js');
    const WINDOW = 512;
    for (const frame of [320, 480, 1600]) {
      const vad = new VoiceActivityDetector({ modelPath: sileroModel, minSilenceSeconds: 0.54 });
      const reader = new SpeechFrameReader({ modelPath: sileroModel });
      // At the moment each segment is reported, and after the trailing silence: the reader's
      // silence (over the whole windows both have read) starts at the segment's speech end.
      const misses: number[] = [];
      let lastEnd = -1;
      const wholeWindows = () => vad.position - (vad.position % WINDOW);
      for (let i = 0; i < audio.length; i += frame) {
        const piece = audio.subarray(i, Math.min(audio.length, i + frame));
        reader.feed(piece);
        for (const seg of vad.feed(piece)) {
          lastEnd = seg.speechEndSample;
          misses.push(reader.silenceMs - ((wholeWindows() - lastEnd) / RATE) * 1000);
        }
      }
      expect(misses, `frame ${frame}`).toHaveLength(2);
      misses.push(reader.silenceMs - ((wholeWindows() - lastEnd) / RATE) * 1000);
      for (const d of misses) expect(Math.abs(d), `frame ${frame}: the reader's silence minus the segment's, ms`).toBeLessThan(1);
    }
  });
});
