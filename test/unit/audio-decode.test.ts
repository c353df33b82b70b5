/** Container sniffing and decoding errors (src/lib/audio/decode.ts). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AudioFormatError, decodeAudio, decodeTo16kMono, sniffContainer } from '../../src/lib/audio/decode.js';
import { writeWav } from '../../src/lib/audio/wav.js';
import { requirePart } from '../support/system.js';
import { haveSox } from '../support/speech.js';

describe('decodeAudio', () => {
  it('recognises containers by their first bytes', () => {
    expect(sniffContainer(writeWav(new Float32Array(10), 16000))).toBe('wav');
    expect(sniffContainer(Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3, 0]))).toBe('webm');
    expect(sniffContainer(Buffer.from('OggS\0\x02'))).toBe('ogg');
    expect(sniffContainer(Buffer.from('ID3\x04'))).toBeUndefined();
  });

  it('converts a 44.1 kHz stereo WAV to 16 kHz mono', async () => {
    const n = 44100;
    const stereo = Buffer.alloc(44 + n * 4);
    const mono = writeWav(new Float32Array(n), 44100);
    mono.copy(stereo, 0, 0, 44);
    stereo.writeUInt32LE(36 + n * 4, 4);
    stereo.writeUInt16LE(2, 22);
    stereo.writeUInt32LE(44100 * 4, 28);
    stereo.writeUInt16LE(4, 32);
    stereo.writeUInt32LE(n * 4, 40);
    for (let i = 0; i < n; i++) {
      stereo.writeInt16LE(8192, 44 + i * 4);
      stereo.writeInt16LE(8192, 46 + i * 4);
    }
    const d = await decodeTo16kMono(stereo);
    expect(d).toMatchObject({ container: 'wav', sourceRate: 44100, sourceChannels: 2 });
    expect(Math.abs(d.samples.length - 16000)).toBeLessThan(50);
    expect(d.samples[8000]).toBeCloseTo(0.25, 2);
  });

  it('says why it cannot decode', async () => {
    await expect(decodeAudio(new Uint8Array(0))).rejects.toThrow(/empty/);
    await expect(decodeAudio(Buffer.from('ID3\x04 an mp3'))).rejects.toThrow(AudioFormatError);
    await expect(decodeAudio(Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3, 0x80]))).rejects.toThrow(/WebM/);
  });

  it('rejects Ogg Vorbis with a message naming Opus', async (ctx) => {
    requirePart(ctx, 'sox', haveSox);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'aima-dec-'));
    try {
      const ogg = path.join(tmp, 't.ogg');
      execFileSync('sox', ['-n', '-r', '16000', '-c', '1', ogg, 'synth', '0.5', 'sine', '440']);
      await expect(decodeAudio(readFileSync(ogg))).rejects.toThrow(/Opus/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
