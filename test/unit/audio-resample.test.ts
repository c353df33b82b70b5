/** Channel mixing and resampling (src/lib/audio/resample.ts) measured on pure tones. */
import { describe, expect, it } from 'vitest';
import { resample, rms, toMono } from '../../src/lib/audio/resample.js';

const tone = (hz: number, rate: number, seconds: number, amp = 0.5) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));

/** Frequency estimated from zero crossings, ignoring the filter's edges. */
function frequency(s: Float32Array, rate: number): number {
  const a = Math.floor(s.length * 0.1);
  const b = Math.floor(s.length * 0.9);
  let crossings = 0;
  for (let i = a + 1; i < b; i++) if (s[i - 1] < 0 && s[i] >= 0) crossings++;
  return crossings / ((b - a) / rate);
}

describe('resample', () => {
  for (const from of [22050, 44100, 48000, 8000]) {
    it(`keeps a 440 Hz tone's pitch, level and duration from ${from} Hz to 16 kHz`, () => {
      const out = resample(tone(440, from, 2), from, 16000);
      expect(Math.abs(out.length - 32000)).toBeLessThan(200);
      expect(frequency(out, 16000)).toBeGreaterThan(430);
      expect(frequency(out, 16000)).toBeLessThan(450);
      expect(rms(out.subarray(1600, 30000))).toBeCloseTo(0.5 / Math.SQRT2, 1);
    });
  }

  it('filters out what 16 kHz cannot hold instead of aliasing it (10 kHz tone at 48 kHz)', () => {
    const out = resample(tone(10_000, 48000, 1), 48000, 16000);
    expect(rms(out.subarray(1600, 14400))).toBeLessThan(0.02);
  });

  it('returns the input unchanged when the rates match', () => {
    const t = tone(440, 16000, 0.1);
    expect(resample(t, 16000, 16000)).toBe(t);
  });

  it('handles a 10-minute 48 kHz input in slices without losing samples', () => {
    const long = new Float32Array(48000 * 600);
    const out = resample(long, 48000, 16000);
    expect(Math.abs(out.length - 16000 * 600)).toBeLessThan(100);
  });
});

describe('toMono', () => {
  it('averages channels', () => {
    expect(Array.from(toMono([Float32Array.from([1, 0.5]), Float32Array.from([0, -0.5])]))).toEqual([0.5, 0]);
    const only = Float32Array.from([0.1]);
    expect(toMono([only])).toBe(only);
    expect(toMono([])).toHaveLength(0);
  });
});
