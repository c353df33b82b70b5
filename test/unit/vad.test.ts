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
  it('is reported after the minimum silence asked for in whole windows, not a window later, and ends where speech did at every minimum', (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'shared-models', haveSilero);
    // Where each segment ends, per minimum silence: the same sample at every one.
    const ends: number[][] = [];
    for (const silenceMs of [168, 200, 300, 500, 540, 800]) {
      const vad = new VoiceActivityDetector({ modelPath: sileroModel, minSilenceSeconds: silenceMs / 1000, endPaddingSeconds: 0 });
      const after: number[] = [];
      const segEnds: number[] = [];
      for (let i = 0; i < audio.length; i += 320) {
        const piece = audio.subarray(i, Math.min(audio.length, i + 320));
        for (const seg of vad.feed(piece)) {
          after.push(((i + piece.length - seg.speechEndSample) / RATE) * 1000);
          segEnds.push(seg.speechEndSample);
        }
      }
      expect(after, `min silence ${silenceMs} ms`).toHaveLength(2);
      ends.push(segEnds);
      // Silero decides per 32 ms window and the frames are 20 ms: the silence asked for, rounded up
      // to whole windows, then up to the next frame.
      const due = Math.ceil(silenceMs / 32) * 32;
      for (const ms of after) {
        expect(ms, `min silence ${silenceMs} ms: reported after ${ms} ms of silence`).toBeGreaterThanOrEqual(due);
        expect(ms, `min silence ${silenceMs} ms: reported after ${ms} ms of silence`).toBeLessThan(due + 20);
      }
    }
    for (const e of ends) expect(e).toEqual(ends[0]);
  });
});

describe('SpeechFrameReader (the silence count of speculative turns)', () => {
  it('counts silence from where the segmenting detector says speech ended, at every frame size, up to the last frame', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'shared-models', haveSilero);
    const { SpeechFrameReader } = await import('../../src/core/voice/speech-frames.js');
    for (const frame of [320, 480, 1600]) {
      const vad = new VoiceActivityDetector({ modelPath: sileroModel, minSilenceSeconds: 0.54 });
      const reader = new SpeechFrameReader({ modelPath: sileroModel });
      // At the moment each segment is reported, and after the trailing silence: the reader's
      // silence starts at the segment's speech end and runs to the last sample fed (the samples
      // after the last whole Silero window are silence here, so they count).
      const misses: number[] = [];
      let lastEnd = -1;
      for (let i = 0; i < audio.length; i += frame) {
        const piece = audio.subarray(i, Math.min(audio.length, i + frame));
        reader.feed(piece);
        for (const seg of vad.feed(piece)) {
          lastEnd = seg.speechEndSample;
          misses.push(reader.silenceMs - ((vad.position - lastEnd) / RATE) * 1000);
        }
      }
      expect(misses, `frame ${frame}`).toHaveLength(2);
      misses.push(reader.silenceMs - ((vad.position - lastEnd) / RATE) * 1000);
      for (const d of misses) expect(Math.abs(d), `frame ${frame}: the reader's silence minus the segment's, ms`).toBeLessThan(1);
    }
  });

  it('counts the samples after the last whole window only while they are quiet: speech coming back never adds silence', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'shared-models', haveSilero);
    const { SpeechFrameReader } = await import('../../src/core/voice/speech-frames.js');
    const WINDOW = 512;
    const rmsOf = (x: Float32Array) => Math.sqrt(x.reduce((n, v) => n + v * v, 0) / Math.max(1, x.length));
    // Digital silence between the phrases, and the same under a steady noise floor (about −50 dBFS).
    let seed = 7;
    const noise = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2 * 0.0055;
    const noisy = audio.map((v) => v + noise());
    const inGap = (s: number) => phrases.every((p) => s < p.start - 0.2 * RATE || s > p.end + 0.2 * RATE);
    for (const [name, input] of [['digital silence', audio], ['a noise floor', noisy]] as const) {
      // `frames` gets 20 ms frames; `windows` the same audio in whole Silero windows only: its
      // count is the whole-window one the frames' count may run past.
      const frames = new SpeechFrameReader({ modelPath: sileroModel });
      const windows = new SpeechFrameReader({ modelPath: sileroModel });
      let fed = 0;
      let loud = 0;
      let gapTails = 0;
      let gapTailsCounted = 0;
      for (let i = 0; i < input.length; i += 320) {
        const piece = input.subarray(i, Math.min(input.length, i + 320));
        frames.feed(piece);
        const whole = fed + piece.length - ((fed + piece.length) % WINDOW);
        if (whole > fed - (fed % WINDOW)) windows.feed(input.subarray(fed - (fed % WINDOW), whole));
        fed += piece.length;
        const tail = input.subarray(whole, fed);
        if (tail.length === 0 || frames.speaking || !Number.isFinite(windows.silenceMs)) continue;
        const extra = frames.silenceMs - windows.silenceMs;
        if (rmsOf(audio.subarray(whole, fed)) > 0.01) {
          loud++;
          expect(extra, `${name}, at sample ${fed}: the onset of speech in the tail counted as silence`).toBe(0);
        } else if (inGap(whole) && inGap(fed)) {
          gapTails++;
          if (extra > 0) {
            gapTailsCounted++;
            expect(extra, `${name}, at sample ${fed}`).toBeCloseTo((tail.length / RATE) * 1000, 6);
          }
        }
      }
      expect(loud, `${name}: frames whose tail held the next phrase's onset`).toBeGreaterThan(0);
      expect(gapTails, name).toBeGreaterThan(50);
      expect(gapTailsCounted / gapTails, `${name}: share of the quiet tails counted`).toBeGreaterThan(0.9);
    }
  });

  it('reaches an early mark after the segmenting detector asked for one window less has reported the piece', async (ctx) => {
    requirePart(ctx, 'flite', haveFlite);
    requirePart(ctx, 'shared-models', haveSilero);
    const { SpeechFrameReader } = await import('../../src/core/voice/speech-frames.js');
    for (const markMs of [150, 200, 300]) {
      const vad = new VoiceActivityDetector({ modelPath: sileroModel, minSilenceSeconds: (markMs - 32) / 1000 });
      const reader = new SpeechFrameReader({ modelPath: sileroModel });
      let pieces = 0;
      const marks: { silenceMs: number; pieceThere: boolean }[] = [];
      let marked = false;
      for (let i = 0; i < audio.length; i += 320) {
        const piece = audio.subarray(i, Math.min(audio.length, i + 320));
        reader.feed(piece);
        pieces += vad.feed(piece).length;
        if (reader.speaking) marked = false;
        else if (!marked && reader.silenceMs >= markMs && Number.isFinite(reader.silenceMs)) {
          marked = true;
          marks.push({ silenceMs: reader.silenceMs, pieceThere: pieces === marks.length + 1 });
        }
      }
      expect(marks, `mark ${markMs} ms`).toHaveLength(2);
      for (const m of marks) {
        expect(m.pieceThere, `mark ${markMs} ms: the piece was reported by then`).toBe(true);
        // Within a frame (20 ms) of the mark, not a Silero window (32 ms) late.
        expect(m.silenceMs, `mark ${markMs} ms`).toBeLessThan(markMs + 20);
      }
    }
  });
});
