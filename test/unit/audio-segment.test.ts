/** Splitting long audio at pauses (src/lib/audio/segment.ts) on synthetic recordings. */
import { describe, expect, it } from 'vitest';
import { splitAtSilences } from '../../src/lib/audio/segment.js';

const RATE = 16000;
const MAX = 30 * RATE;

/** Low noise everywhere, with 0.3-amplitude "speech" (a tone) in the given [start, end) seconds. */
function recording(seconds: number, bursts: [number, number][]): Float32Array {
  let seed = 1;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 0.002;
  const s = Float32Array.from({ length: seconds * RATE }, noise);
  for (const [a, b] of bursts) for (let i = a * RATE; i < b * RATE; i++) s[i] += 0.3 * Math.sin((2 * Math.PI * 300 * i) / RATE);
  return s;
}

describe('splitAtSilences', () => {
  it('cuts a 70 s recording into <= 30 s pieces at pauses, covering every burst', () => {
    const bursts: [number, number][] = [];
    for (let t = 1; t + 2 <= 70; t += 3.5) bursts.push([t, t + 2]);
    const pieces = splitAtSilences(recording(70, bursts), { maxSamples: MAX, sampleRate: RATE });
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    for (const p of pieces) {
      expect(p.end - p.start).toBeLessThanOrEqual(MAX);
      expect(p.end).toBeGreaterThan(p.start);
    }
    for (let i = 1; i < pieces.length; i++) expect(pieces[i].start).toBeGreaterThanOrEqual(pieces[i - 1].end);
    // No burst is cut: each lies wholly inside one piece.
    for (const [a, b] of bursts) {
      expect(pieces.some((p) => p.start <= a * RATE && p.end >= b * RATE), `burst ${a}-${b} s`).toBe(true);
    }
  });

  it('keeps short audio whole, trimmed to the sound with 0.3 s padding', () => {
    const pieces = splitAtSilences(recording(10, [[4, 6]]), { maxSamples: MAX, sampleRate: RATE });
    expect(pieces).toHaveLength(1);
    expect(pieces[0].start / RATE).toBeCloseTo(3.7, 1);
    expect(pieces[0].end / RATE).toBeCloseTo(6.3, 1);
  });

  it('drops silence entirely', () => {
    expect(splitAtSilences(new Float32Array(RATE * 40), { maxSamples: MAX, sampleRate: RATE })).toEqual([]);
    expect(splitAtSilences(recording(40, []), { maxSamples: MAX, sampleRate: RATE })).toEqual([]);
  });

  it('still cuts speech without any pause into pieces no longer than the window', () => {
    const pieces = splitAtSilences(recording(65, [[0, 65]]), { maxSamples: MAX, sampleRate: RATE });
    expect(pieces.length).toBe(3);
    expect(pieces.reduce((n, p) => n + (p.end - p.start), 0)).toBe(65 * RATE);
    for (const p of pieces) expect(p.end - p.start).toBeLessThanOrEqual(MAX);
  });
});
