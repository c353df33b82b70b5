/**
 * The FLAC encoder (src/lib/audio/flac.ts): what it writes decodes bit-exactly with an independent
 * decoder (sox's libFLAC), and its STREAMINFO gives the duration.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFlac, readFlacInfo } from '../../src/lib/audio/flac.js';
import { requirePart } from '../support/system.js';
import { haveSox } from '../support/speech.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'aima-flac-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Decodes with sox (libFLAC, which also checks every CRC and the MD5) to raw 16-bit samples. */
function soxDecode(flac: Uint8Array, name: string): Int16Array {
  const file = path.join(dir, `${name}.flac`);
  writeFileSync(file, flac);
  const raw = execFileSync('sox', ['-V1', file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', '-'], { maxBuffer: 64 * 1024 * 1024 });
  return new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
}

/** A deterministic pseudo-random generator (tests repeat). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const cases: [string, number, () => Int16Array][] = [
  ['speech-like tone with noise, 16 kHz', 16000, () => {
    const r = rng(1);
    return Int16Array.from({ length: 16000 * 2 + 123 }, (_, i) => Math.round(8000 * Math.sin(i / 7) * Math.sin(i / 900) + (r() - 0.5) * 600));
  }],
  ['full-scale white noise (verbatim frames)', 22050, () => {
    const r = rng(2);
    return Int16Array.from({ length: 9000 }, () => Math.floor(r() * 65536) - 32768);
  }],
  ['extremes and steps (large residuals)', 24000, () => Int16Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? 32767 : i % 3 === 1 ? -32768 : 0))],
  ['digital silence (constant frames)', 16000, () => new Int16Array(10000)],
  ['one sample', 8000, () => Int16Array.from([-1234])],
  ['shorter than a block, odd length', 44100, () => Int16Array.from({ length: 777 }, (_, i) => (i * 37) % 2000 - 1000)],
];

describe('encodeFlac', () => {
  for (const [name, rate, make] of cases) {
    it(`round-trips bit-exactly: ${name}`, (ctx) => {
      requirePart(ctx, 'sox', haveSox);
      const pcm = make();
      const flac = encodeFlac(pcm, rate);
      const info = readFlacInfo(flac);
      expect(info).toMatchObject({ sampleRate: rate, channels: 1, bitsPerSample: 16, samples: pcm.length });
      expect(info.seconds).toBeCloseTo(pcm.length / rate, 9);
      const back = soxDecode(flac, name.replace(/\W+/g, '-'));
      expect(back.length).toBe(pcm.length);
      expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(pcm.buffer))).toBe(true);
      const rateOut = execFileSync('sox', ['--i', '-r', path.join(dir, `${name.replace(/\W+/g, '-')}.flac`)]).toString().trim();
      expect(Number(rateOut)).toBe(rate);
    });
  }

  it('compresses speech-like audio well below WAV size', () => {
    const pcm = cases[0]![2]();
    expect(encodeFlac(pcm, 16000).length).toBeLessThan(pcm.byteLength * 0.75);
  });

  it('refuses a sample rate FLAC cannot hold, and bytes that are not FLAC', () => {
    expect(() => encodeFlac(new Int16Array(1), 0)).toThrow(/sample rate/);
    expect(() => readFlacInfo(new Uint8Array(50))).toThrow(/not a FLAC file/);
  });
});
