/**
 * WAV (RIFF/WAVE) reading and writing. Reads PCM 8/16/24/32-bit, IEEE float 32/64 and
 * WAVE_FORMAT_EXTENSIBLE; accepts streamed files whose sizes say 0 or 0xFFFFFFFF (the data runs to
 * the end). Writes 16-bit PCM, including a header for a stream whose length is not known yet.
 */

/** Decoded audio: one Float32Array per channel, samples in [-1, 1]. */
export interface PcmAudio {
  sampleRate: number;
  channels: Float32Array[];
}

/** Thrown for input that is not audio we can read; the message says what is wrong. */
export class AudioFormatError extends Error {}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

/** True when the bytes start like a RIFF/WAVE file. */
export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE';
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

/** Parses a WAV file into float channels. */
export function readWav(bytes: Uint8Array): PcmAudio {
  if (!isWav(bytes)) throw new AudioFormatError('not a RIFF/WAVE file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number; blockAlign: number } | undefined;
  while (pos + 8 <= bytes.length) {
    const id = ascii(bytes, pos, 4);
    let size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new AudioFormatError('WAV fmt chunk is too short');
      let format = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const rate = view.getUint32(body + 4, true);
      const blockAlign = view.getUint16(body + 12, true);
      const bits = view.getUint16(body + 14, true);
      if (format === FORMAT_EXTENSIBLE && size >= 40) format = view.getUint16(body + 24, true);
      fmt = { format, channels, rate, bits, blockAlign };
    } else if (id === 'data') {
      if (!fmt) throw new AudioFormatError('WAV data chunk comes before its fmt chunk');
      // Streamed WAVs (ours, sox/ffmpeg pipes) leave the size at 0 or 0xFFFFFFFF.
      if (size === 0 || size === 0xffffffff || body + size > bytes.length) size = bytes.length - body;
      return decodePcm(bytes.subarray(body, body + size), fmt);
    }
    pos = body + size + (size & 1);
  }
  throw new AudioFormatError('WAV file has no data chunk');
}

function decodePcm(
  data: Uint8Array,
  fmt: { format: number; channels: number; rate: number; bits: number; blockAlign: number },
): PcmAudio {
  const { format, channels: nch, rate, bits } = fmt;
  if (nch < 1 || nch > 32) throw new AudioFormatError(`WAV declares ${nch} channels`);
  if (rate < 1000 || rate > 768_000) throw new AudioFormatError(`WAV declares an implausible sample rate of ${rate} Hz`);
  const bytesPer = bits / 8;
  const supported =
    (format === FORMAT_PCM && [8, 16, 24, 32].includes(bits)) || (format === FORMAT_FLOAT && (bits === 32 || bits === 64));
  if (!supported) throw new AudioFormatError(`unsupported WAV encoding (format tag ${format}, ${bits} bits per sample)`);
  const frameBytes = bytesPer * nch;
  const frames = Math.floor(data.length / frameBytes);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const channels = Array.from({ length: nch }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const o = i * frameBytes + c * bytesPer;
      let v: number;
      if (format === FORMAT_FLOAT) v = bits === 32 ? view.getFloat32(o, true) : view.getFloat64(o, true);
      else if (bits === 16) v = view.getInt16(o, true) / 32768;
      else if (bits === 8) v = (data[o] - 128) / 128;
      else if (bits === 24) v = ((data[o] | (data[o + 1] << 8) | (data[o + 2] << 16)) << 8 >> 8) / 8388608;
      else v = view.getInt32(o, true) / 2147483648;
      channels[c][i] = v;
    }
  }
  return { sampleRate: rate, channels };
}

/**
 * A 44-byte header for 16-bit PCM. Without `dataBytes` the sizes are 0xFFFFFFFF, the convention
 * for a stream whose length is unknown when the header is sent (ffmpeg, sox and browsers read it).
 */
export function wavHeader(sampleRate: number, channels: number, dataBytes?: number): Buffer {
  const h = Buffer.alloc(44);
  const streaming = dataBytes === undefined;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(streaming ? 0xffffffff : 36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(FORMAT_PCM, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(streaming ? 0xffffffff : dataBytes, 40);
  return h;
}

/** 16-bit samples to floats in [-1, 1) (the scale readWav uses). */
export function pcm16ToFloat(pcm: Int16Array): Float32Array {
  const f = new Float32Array(pcm.length);
  for (let i = 0; i < f.length; i++) f[i] = pcm[i]! / 32768;
  return f;
}

/** Float samples to 16-bit little-endian PCM (clipped). */
export function floatToPcm16(samples: Float32Array): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out.writeInt16LE(Math.round(s < 0 ? s * 32768 : s * 32767), i * 2);
  }
  return out;
}

/** A complete mono 16-bit WAV file. */
export function writeWav(samples: Float32Array, sampleRate: number): Buffer {
  const pcm = floatToPcm16(samples);
  return Buffer.concat([wavHeader(sampleRate, 1, pcm.length), pcm]);
}
