/** The Voice page's streaming resampler and PCM helpers (src/renderer/src/features/voice). */
import { describe, expect, it } from 'vitest';
import { StreamingResampler } from '../../src/renderer/src/features/voice/resampler.js';
import { floatToS16le, rms, s16leToFloat } from '../../src/renderer/src/features/voice/pcm.js';

const tone = (hz: number, rate: number, seconds: number, amp = 0.5) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));

/** Feeds `input` in AudioWorklet-sized blocks and joins the output. */
function streamed(r: StreamingResampler, input: Float32Array, block = 128): Float32Array {
  const parts: Float32Array[] = [];
  for (let i = 0; i < input.length; i += block) parts.push(r.process(input.subarray(i, i + block)));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Frequency from zero crossings, away from the edges. */
function frequency(s: Float32Array, rate: number): number {
  const a = Math.floor(s.length * 0.1);
  const b = Math.floor(s.length * 0.9);
  let crossings = 0;
  for (let i = a + 1; i < b; i++) if (s[i - 1]! < 0 && s[i]! >= 0) crossings++;
  return crossings / ((b - a) / rate);
}

const middle = (s: Float32Array) => s.subarray(Math.floor(s.length * 0.1), Math.floor(s.length * 0.9));

describe('StreamingResampler', () => {
  for (const from of [48_000, 44_100, 22_050, 8_000]) {
    it(`keeps a 440 Hz tone's pitch, level and length from ${from} Hz to 16 kHz, fed in 128-sample blocks`, () => {
      const out = streamed(new StreamingResampler(from), tone(440, from, 2));
      // Output lags the input by the kernel's half width at most.
      expect(Math.abs(out.length - 32_000)).toBeLessThan(120);
      expect(frequency(out, 16_000)).toBeCloseTo(440, -1);
      expect(rms(middle(out))).toBeCloseTo(0.5 / Math.SQRT2, 2);
    });
  }

  it('filters before downsampling: a 12 kHz tone at 48 kHz does not alias into the 16 kHz output', () => {
    const out = streamed(new StreamingResampler(48_000), tone(12_000, 48_000, 1));
    // Without the low-pass it would fold to a 4 kHz tone at full level (0.35 RMS).
    expect(rms(middle(out))).toBeLessThan(0.005);
  });

  it('passes speech-band tones (3.4 kHz) at 48 kHz nearly unchanged', () => {
    const out = streamed(new StreamingResampler(48_000), tone(3400, 48_000, 1));
    expect(rms(middle(out))).toBeGreaterThan(0.34);
  });

  it('gives the same samples whatever the block sizes (state carried across calls)', () => {
    const input = tone(1000, 44_100, 0.5);
    const whole = new StreamingResampler(44_100).process(input);
    const small = streamed(new StreamingResampler(44_100), input, 128);
    const odd = streamed(new StreamingResampler(44_100), input, 37);
    expect(small.length).toBe(whole.length);
    expect(odd.length).toBe(whole.length);
    for (let i = 0; i < whole.length; i++) {
      expect(small[i]).toBeCloseTo(whole[i]!, 6);
      expect(odd[i]).toBeCloseTo(whole[i]!, 6);
    }
  });

  it('is a copy at the same rate', () => {
    const input = tone(440, 16_000, 0.1);
    expect(Array.from(new StreamingResampler(16_000).process(input))).toEqual(Array.from(input));
  });
});

describe('PCM helpers', () => {
  it('round-trips floats through s16le within one step, clipping beyond ±1', () => {
    const f = Float32Array.from([0, 0.5, -0.5, 1, -1, 1.5, -2]);
    const back = s16leToFloat(floatToS16le(f));
    expect(back.length).toBe(f.length);
    const expected = [0, 0.5, -0.5, 1, -1, 1, -1];
    for (let i = 0; i < f.length; i++) expect(Math.abs(back[i]! - expected[i]!)).toBeLessThan(1 / 16_000);
  });

  it('computes RMS (0 for no samples)', () => {
    expect(rms(new Float32Array(0))).toBe(0);
    expect(rms(Float32Array.from([0.5, -0.5]))).toBeCloseTo(0.5);
  });
});
