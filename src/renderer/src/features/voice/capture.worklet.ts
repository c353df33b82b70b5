/**
 * The microphone's AudioWorklet: runs on the audio thread at the device rate, resamples to 16 kHz
 * and posts 20 ms frames of s16le PCM (320 samples) with their RMS to the page. The page decides
 * whether a frame is sent (push-to-talk gates it there); the meter uses every frame.
 * Built as its own file (Vite `?worker&url`) so it loads under the UI's `script-src 'self'`.
 */
import { StreamingResampler } from './resampler.js';
import { CAPTURE_FRAME_SAMPLES, floatToS16le, rms, type CaptureFrame } from './pcm.js';

// The AudioWorkletGlobalScope is not in TypeScript's DOM lib.
declare const sampleRate: number;
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly resampler = new StreamingResampler(sampleRate, 16_000);
  private pending = new Float32Array(CAPTURE_FRAME_SAMPLES);
  private filled = 0;

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    const out = this.resampler.process(channel);
    let i = 0;
    while (i < out.length) {
      const n = Math.min(CAPTURE_FRAME_SAMPLES - this.filled, out.length - i);
      this.pending.set(out.subarray(i, i + n), this.filled);
      this.filled += n;
      i += n;
      if (this.filled === CAPTURE_FRAME_SAMPLES) {
        const frame: CaptureFrame = { pcm: floatToS16le(this.pending), rms: rms(this.pending) };
        this.port.postMessage(frame, [frame.pcm]);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('aima-capture', CaptureProcessor);
