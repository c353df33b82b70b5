/**
 * One entry point for the audio an ASR client may upload: WAV at any rate and channel count, and
 * what browsers' MediaRecorder produces (WebM or Ogg with Opus). Everything comes out as 16 kHz
 * mono float, the input every ASR model here takes.
 */
import { decodeOggOpus, decodeWebmOpus, isOgg, isWebm } from './opus.js';
import { resample, toMono } from './resample.js';
import { AudioFormatError, isWav, readWav, type PcmAudio } from './wav.js';

export type AudioContainer = 'wav' | 'webm' | 'ogg';

/** Recognises the container from its first bytes (content types from clients are unreliable). */
export function sniffContainer(bytes: Uint8Array): AudioContainer | undefined {
  if (isWav(bytes)) return 'wav';
  if (isWebm(bytes)) return 'webm';
  if (isOgg(bytes)) return 'ogg';
  return undefined;
}

/** Decodes WAV, WebM/Opus or Ogg/Opus at the file's own rate and channel count. */
export async function decodeAudio(bytes: Uint8Array): Promise<PcmAudio & { container: AudioContainer }> {
  if (bytes.length === 0) throw new AudioFormatError('the audio file is empty (0 bytes)');
  const container = sniffContainer(bytes);
  switch (container) {
    case 'wav':
      return { ...readWav(bytes), container };
    case 'webm':
      return { ...(await decodeWebmOpus(bytes)), container };
    case 'ogg':
      return { ...(await decodeOggOpus(bytes)), container };
    case undefined:
      throw new AudioFormatError(
        'unrecognised audio format: send WAV (any sample rate and channel count), WebM/Opus or Ogg/Opus',
      );
  }
}

export interface Decoded16k {
  samples: Float32Array;
  container: AudioContainer;
  sourceRate: number;
  sourceChannels: number;
}

/** Decodes and converts to 16 kHz mono. */
export async function decodeTo16kMono(bytes: Uint8Array): Promise<Decoded16k> {
  const a = await decodeAudio(bytes);
  return {
    samples: resample(toMono(a.channels), a.sampleRate, 16_000),
    container: a.container,
    sourceRate: a.sampleRate,
    sourceChannels: a.channels.length,
  };
}

export { AudioFormatError };
