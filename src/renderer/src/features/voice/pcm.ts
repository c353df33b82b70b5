/** PCM helpers shared by the capture worklet, the playback queue and the tests. Pure. */

/** 20 ms at 16 kHz: the frame the worklet posts and the page sends. */
export const CAPTURE_FRAME_SAMPLES = 320;

/** What the capture worklet posts for each frame. */
export interface CaptureFrame {
  pcm: ArrayBuffer;
  rms: number;
}

/** Float samples in [-1, 1] as 16-bit little-endian PCM (the `s16le` the core takes). */
export function floatToS16le(samples: Float32Array): ArrayBuffer {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    out[i] = Math.round(s * 32767);
  }
  return out.buffer;
}

/** 16-bit little-endian PCM (the core's `audio` payload) as floats in [-1, 1]. */
export function s16leToFloat(data: ArrayBuffer): Float32Array<ArrayBuffer> {
  const pcm = new Int16Array(data, 0, data.byteLength >> 1);
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

/** Root mean square of the samples (0 for none). */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  return Math.sqrt(sum / samples.length);
}
