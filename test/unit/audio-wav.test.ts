/** WAV reading/writing (src/lib/audio/wav.ts) on hand-built files of every encoding. */
import { describe, expect, it } from 'vitest';
import { AudioFormatError, floatToPcm16, readWav, wavHeader, writeWav } from '../../src/lib/audio/wav.js';

/** Builds a WAV with the given format tag, bits, channels and raw data bytes. */
function build(opts: { tag: number; bits: number; channels: number; rate: number; data: Buffer; extensible?: boolean; extraChunk?: boolean }): Buffer {
  const fmtLen = opts.extensible ? 40 : 16;
  const fmt = Buffer.alloc(8 + fmtLen);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(fmtLen, 4);
  fmt.writeUInt16LE(opts.extensible ? 0xfffe : opts.tag, 8);
  fmt.writeUInt16LE(opts.channels, 10);
  fmt.writeUInt32LE(opts.rate, 12);
  fmt.writeUInt32LE((opts.rate * opts.channels * opts.bits) / 8, 16);
  fmt.writeUInt16LE((opts.channels * opts.bits) / 8, 20);
  fmt.writeUInt16LE(opts.bits, 22);
  if (opts.extensible) {
    fmt.writeUInt16LE(22, 24);
    fmt.writeUInt16LE(opts.tag, 32); // first two bytes of the SubFormat GUID
  }
  const list = opts.extraChunk ? Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.from([0])]) : Buffer.alloc(0);
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0, 'ascii');
  dataHead.writeUInt32LE(opts.data.length, 4);
  const body = Buffer.concat([Buffer.from('WAVE'), fmt, list, dataHead, opts.data]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}

describe('readWav', () => {
  it('round-trips 16-bit mono written by writeWav', () => {
    const s = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10) * 0.5);
    const w = readWav(writeWav(s, 22050));
    expect(w.sampleRate).toBe(22050);
    expect(w.channels).toHaveLength(1);
    for (let i = 0; i < s.length; i++) expect(Math.abs(w.channels[0][i] - s[i])).toBeLessThan(1 / 16000);
  });

  it('reads stereo 16-bit as two channels, skipping unknown chunks', () => {
    const data = Buffer.alloc(8);
    data.writeInt16LE(16384, 0); // L  0.5
    data.writeInt16LE(-16384, 2); // R -0.5
    data.writeInt16LE(32767, 4);
    data.writeInt16LE(0, 6);
    const w = readWav(build({ tag: 1, bits: 16, channels: 2, rate: 48000, data, extraChunk: true }));
    expect(w.channels.map((c) => Array.from(c))).toEqual([[0.5, 32767 / 32768], [-0.5, 0]]);
  });

  it('reads 8-bit, 24-bit, 32-bit int, float32, float64 and WAVE_FORMAT_EXTENSIBLE', () => {
    expect(Array.from(readWav(build({ tag: 1, bits: 8, channels: 1, rate: 8000, data: Buffer.from([128, 192, 64]) })).channels[0])).toEqual([0, 0.5, -0.5]);
    const d24 = Buffer.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
    expect(Array.from(readWav(build({ tag: 1, bits: 24, channels: 1, rate: 16000, data: d24 })).channels[0])).toEqual([0.5, -0.5]);
    const d32 = Buffer.alloc(4);
    d32.writeInt32LE(-1073741824);
    expect(Array.from(readWav(build({ tag: 1, bits: 32, channels: 1, rate: 16000, data: d32 })).channels[0])).toEqual([-0.5]);
    const f32 = Buffer.alloc(8);
    f32.writeFloatLE(0.25, 0);
    f32.writeFloatLE(-0.75, 4);
    expect(Array.from(readWav(build({ tag: 3, bits: 32, channels: 1, rate: 44100, data: f32 })).channels[0])).toEqual([0.25, -0.75]);
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(0.125, 0);
    expect(Array.from(readWav(build({ tag: 3, bits: 64, channels: 1, rate: 44100, data: f64 })).channels[0])).toEqual([0.125]);
    expect(Array.from(readWav(build({ tag: 3, bits: 32, channels: 2, rate: 44100, data: f32, extensible: true })).channels.map((c) => c[0]))).toEqual([0.25, -0.75]);
  });

  it('reads streamed WAVs whose sizes say "unknown"', () => {
    const pcm = floatToPcm16(Float32Array.from([0.5, -0.5, 0.25]));
    const w = readWav(Buffer.concat([wavHeader(16000, 1), pcm]));
    expect(w.channels[0]).toHaveLength(3);
    expect(w.channels[0][1]).toBe(-0.5);
  });

  it('rejects what it cannot read, saying why', () => {
    expect(() => readWav(Buffer.from('hello world, not audio'))).toThrow(AudioFormatError);
    expect(() => readWav(build({ tag: 2, bits: 4, channels: 1, rate: 8000, data: Buffer.alloc(10) }))).toThrow(/unsupported WAV encoding \(format tag 2, 4 bits/);
    const noData = build({ tag: 1, bits: 16, channels: 1, rate: 16000, data: Buffer.alloc(0) }).subarray(0, 36);
    expect(() => readWav(noData)).toThrow(/no data chunk/);
    expect(() => readWav(build({ tag: 1, bits: 16, channels: 1, rate: 10, data: Buffer.alloc(4) }))).toThrow(/implausible sample rate/);
  });
});

describe('wavHeader', () => {
  it('writes sizes for a known length and 0xFFFFFFFF for a stream', () => {
    const known = wavHeader(16000, 1, 3200);
    expect(known.readUInt32LE(4)).toBe(36 + 3200);
    expect(known.readUInt32LE(40)).toBe(3200);
    expect(known.readUInt32LE(28)).toBe(32000);
    const streaming = wavHeader(22050, 1);
    expect(streaming.readUInt32LE(4)).toBe(0xffffffff);
    expect(streaming.readUInt32LE(40)).toBe(0xffffffff);
    expect(floatToPcm16(Float32Array.from([2, -2])).readInt16LE(0)).toBe(32767);
    expect(floatToPcm16(Float32Array.from([2, -2])).readInt16LE(2)).toBe(-32768);
  });
});
