/**
 * Channel mixing and sample-rate conversion. Resampling uses sherpa-onnx's resampler (Kaldi's
 * windowed-sinc `LinearResample`, which low-pass filters before decimating, so 48 kHz speech does
 * not alias into the 0-8 kHz band the ASR models look at).
 */
import sherpa from 'sherpa-onnx-node';

/** Averages channels into one. */
export function toMono(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return channels[0];
  const n = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] += ch[i];
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] *= k;
  return out;
}

/** Converts `samples` from `fromRate` to `toRate` Hz (returns the input when they match). */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate || samples.length === 0) return samples;
  const r = new sherpa.LinearResampler(fromRate, toRate);
  // Feed in slices so the addon never holds two copies of a 10-minute recording at once.
  const step = fromRate * 10;
  const parts: Float32Array[] = [];
  for (let i = 0; i < samples.length; i += step) {
    const chunk = samples.subarray(i, Math.min(samples.length, i + step));
    parts.push(i + step >= samples.length ? r.flush(chunk) : r.resample(chunk));
  }
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Root-mean-square level of a signal (0 for an empty one). */
export function rms(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < samples.length; i++) s += samples[i] * samples[i];
  return Math.sqrt(s / samples.length);
}

/**
 * Sample-rate conversion of a stream that arrives in pieces (20 ms network frames): one resampler
 * keeps its filter state across pieces, so the joins carry no edge artefacts and the output length
 * tracks the input's exactly over time. `flush` ends the stream (the filter's tail comes out).
 */
export class StreamResampler {
  private readonly r: InstanceType<typeof sherpa.LinearResampler> | null;
  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    this.r = fromRate === toRate ? null : new sherpa.LinearResampler(fromRate, toRate);
  }
  push(samples: Float32Array): Float32Array {
    return this.r ? this.r.resample(samples) : samples;
  }
  flush(): Float32Array {
    return this.r ? this.r.flush(new Float32Array(0)) : new Float32Array(0);
  }
}
