/**
 * Energy-based splitting of long recordings into pieces an ASR model can take (Whisper: 30 s),
 * cutting in the longest, latest pause inside each window so words are not cut in half. Pieces
 * that hold no sound above the noise floor are dropped: Whisper invents text for pure silence.
 */

export interface AudioPiece {
  /** First sample (inclusive). */
  start: number;
  /** Last sample (exclusive). */
  end: number;
}

export interface SplitOptions {
  /** Longest piece in samples. */
  maxSamples: number;
  /** Sample rate (for frame and padding sizes). */
  sampleRate: number;
  /** Silence kept around the sound in each piece, seconds (default 0.3). */
  padSeconds?: number;
}

const FRAME_SECONDS = 0.02;

/** Per-frame level in dBFS. */
export function frameLevels(samples: Float32Array, frame: number): Float32Array {
  const n = Math.ceil(samples.length / frame);
  const out = new Float32Array(n);
  for (let f = 0; f < n; f++) {
    let s = 0;
    const a = f * frame;
    const b = Math.min(samples.length, a + frame);
    for (let i = a; i < b; i++) s += samples[i] * samples[i];
    out[f] = 10 * Math.log10(s / Math.max(1, b - a) + 1e-10);
  }
  return out;
}

/**
 * The level under which a frame counts as silence: 12 dB over the recording's noise floor (its
 * 10th-percentile frame) but at least 20 dB under its loud parts (95th percentile), so a
 * recording that is speech from end to end is not taken for all noise; never under -60 dBFS
 * (digital silence would otherwise make any hiss "speech").
 */
export function silenceThreshold(levels: Float32Array): number {
  if (levels.length === 0) return -60;
  const sorted = Float32Array.from(levels).sort();
  const floor = sorted[Math.floor(sorted.length * 0.1)];
  const loud = sorted[Math.floor((sorted.length - 1) * 0.95)];
  return Math.max(-60, Math.min(floor + 12, loud - 20));
}

/** Splits `samples` into pieces of at most `maxSamples`, at pauses, dropping silent pieces. */
export function splitAtSilences(samples: Float32Array, opts: SplitOptions): AudioPiece[] {
  const frame = Math.round(opts.sampleRate * FRAME_SECONDS);
  const levels = frameLevels(samples, frame);
  const threshold = silenceThreshold(levels);
  const silent = Array.from(levels, (l) => l < threshold);
  const maxFrames = Math.floor(opts.maxSamples / frame);
  const totalFrames = levels.length;
  const cuts: number[] = [0];
  let pos = 0;
  while (totalFrames - pos > maxFrames) {
    const end = pos + maxFrames;
    // Silent runs inside the window, as [start, end) frame ranges.
    const runs: [number, number][] = [];
    for (let f = pos + 1; f < end; ) {
      if (!silent[f]) {
        f++;
        continue;
      }
      const s = f;
      while (f < end && silent[f]) f++;
      runs.push([s, f]);
    }
    // Prefer a real pause (>= 0.3 s) as late as possible; else any gap; else the quietest frame
    // in the window's last third.
    const minPause = Math.round(0.3 / FRAME_SECONDS);
    const pause = runs.filter(([a, b]) => b - a >= minPause).at(-1) ?? runs.filter(([a, b]) => b - a >= 3).at(-1);
    let cut: number;
    if (pause) cut = Math.floor((pause[0] + pause[1]) / 2);
    else {
      cut = end - 1;
      for (let f = pos + Math.floor((maxFrames * 2) / 3); f < end; f++) if (levels[f] < levels[cut]) cut = f;
    }
    if (cut <= pos) cut = end;
    cuts.push(cut);
    pos = cut;
  }
  cuts.push(totalFrames);
  const pad = Math.round((opts.padSeconds ?? 0.3) / FRAME_SECONDS);
  const pieces: AudioPiece[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    let a = cuts[i];
    let b = cuts[i + 1];
    while (a < b && silent[a]) a++;
    while (b > a && silent[b - 1]) b--;
    if (a >= b) continue; // nothing but silence
    a = Math.max(cuts[i], a - pad);
    b = Math.min(cuts[i + 1], b + pad);
    pieces.push({ start: a * frame, end: Math.min(samples.length, b * frame) });
  }
  return pieces;
}
