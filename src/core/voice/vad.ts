/**
 * Voice activity detection for the voice conversation: Silero VAD (v5) run by sherpa-onnx. Feed
 * 16 kHz mono float frames of any length; completed speech segments come back from `feed()` /
 * `flush()` and as `segment` events. Each segment carries `startPaddingSeconds` of audio from before
 * the detected onset (Silero fires a little late on soft onsets and ASR needs the lead-in) and
 * `endPaddingSeconds` after the detected end. Electron-free: plain Node.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import sherpa from 'sherpa-onnx-node';

export const VAD_SAMPLE_RATE = 16_000;

export interface VadOptions {
  /** Path to silero_vad.onnx. */
  modelPath: string;
  /** Speech probability above which a window counts as speech (0-1, default 0.5). */
  threshold?: number;
  /** Silence that ends a segment, seconds (default 0.5). */
  minSilenceSeconds?: number;
  /** Shorter bursts are ignored, seconds (default 0.25). */
  minSpeechSeconds?: number;
  /** A segment longer than this is cut, seconds (default 30). */
  maxSpeechSeconds?: number;
  /** Audio kept before the detected start, seconds (default 0.3). */
  startPaddingSeconds?: number;
  /** Audio kept after the detected end, seconds (default 0.1; at most minSilenceSeconds). */
  endPaddingSeconds?: number;
  /** Threads for the model (default 1: the model is tiny). */
  threads?: number;
}

export interface SpeechSegment {
  /** First sample of the padded segment, counted from the first sample ever fed. */
  startSample: number;
  /** One past the last sample of the padded segment. */
  endSample: number;
  /** Where the detector placed the onset and end, before padding. */
  speechStartSample: number;
  speechEndSample: number;
  /** The padded audio, 16 kHz mono. */
  samples: Float32Array;
}

interface VadEvents {
  segment: [SpeechSegment];
}

/** Silero's window at 16 kHz. */
const WINDOW = 512;
/**
 * sherpa's Vad ends a segment one window after its minimum silence has passed (the silence is
 * checked as each window arrives, counted from the end of the first quiet one): asked for a
 * minimum silence one window shorter, it ends a segment after about the silence asked for.
 */
const DECISION_LAG_SECONDS = WINDOW / VAD_SAMPLE_RATE;
/** The minimum silence sherpa's Vad switches to once a segment outgrows its maximum speech. */
const LONG_SEGMENT_SILENCE_SECONDS = 0.1;

/**
 * How far past the end of speech sherpa's Vad places a segment's end, in samples. It ends a segment
 * at the window where the silence reached its minimum and puts the end that minimum before it, so
 * the end lands where the first quiet window ended plus however much the whole windows overshot
 * the minimum: 0–31 ms, depending on the setting. Taking it off makes the end the same at every
 * minimum silence (a speculation's piece and the turn's segment then end on the same sample).
 */
function endOvershoot(minSilenceSeconds: number): number {
  const m = Math.round(minSilenceSeconds * VAD_SAMPLE_RATE);
  return Math.ceil(m / WINDOW) * WINDOW - m;
}

export class VoiceActivityDetector extends EventEmitter<VadEvents> {
  private readonly vad: InstanceType<typeof sherpa.Vad>;
  private readonly startPad: number;
  private readonly endPad: number;
  private readonly retain: number;
  private readonly overshoot: number;
  private readonly longOvershoot: number;
  private readonly maxSpeechSamples: number;
  /** Recent audio, for padding: `history` holds samples [historyStart, fed). */
  private history: Float32Array[] = [];
  private historyStart = 0;
  private fed = 0;
  /** Samples not yet a whole window. */
  private pending = new Float32Array(0);
  /** Finished segments whose end padding is not fed yet. */
  private waiting: { start: number; end: number }[] = [];

  constructor(opts: VadOptions) {
    super();
    if (!existsSync(opts.modelPath)) throw new Error(`Silero VAD model not found at ${opts.modelPath}`);
    const minSilence = opts.minSilenceSeconds ?? 0.5;
    const maxSpeech = opts.maxSpeechSeconds ?? 30;
    this.startPad = Math.round((opts.startPaddingSeconds ?? 0.3) * VAD_SAMPLE_RATE);
    this.endPad = Math.round(Math.min(opts.endPaddingSeconds ?? 0.1, minSilence) * VAD_SAMPLE_RATE);
    this.retain = Math.round((maxSpeech + minSilence + 2) * VAD_SAMPLE_RATE) + this.startPad;
    const sherpaSilence = Math.max(0.01, minSilence - DECISION_LAG_SECONDS);
    this.overshoot = endOvershoot(sherpaSilence);
    this.longOvershoot = endOvershoot(LONG_SEGMENT_SILENCE_SECONDS);
    this.maxSpeechSamples = Math.round(maxSpeech * VAD_SAMPLE_RATE);
    this.vad = new sherpa.Vad(
      {
        sileroVad: {
          model: opts.modelPath,
          threshold: opts.threshold ?? 0.5,
          minSilenceDuration: sherpaSilence,
          minSpeechDuration: opts.minSpeechSeconds ?? 0.25,
          maxSpeechDuration: maxSpeech,
          windowSize: WINDOW,
        },
        sampleRate: VAD_SAMPLE_RATE,
        numThreads: opts.threads ?? 1,
        provider: 'cpu',
        debug: 0,
      },
      maxSpeech + 10,
    );
  }

  /** True while the detector is inside speech. */
  get speaking(): boolean {
    return this.vad.isDetected();
  }

  /** Samples fed so far. */
  get position(): number {
    return this.fed + this.pending.length;
  }

  /** Feeds audio (16 kHz mono float, any length). Returns the segments completed by it. */
  feed(samples: Float32Array): SpeechSegment[] {
    const joined = new Float32Array(this.pending.length + samples.length);
    joined.set(this.pending);
    joined.set(samples, this.pending.length);
    const whole = joined.length - (joined.length % WINDOW);
    for (let i = 0; i < whole; i += WINDOW) {
      const w = joined.slice(i, i + WINDOW);
      this.remember(w);
      this.vad.acceptWaveform(w);
    }
    this.pending = joined.slice(whole);
    this.collect();
    return this.release(false);
  }

  /** Ends the stream: returns every segment still open or waiting for its end padding. */
  flush(): SpeechSegment[] {
    if (this.pending.length > 0) {
      const w = new Float32Array(WINDOW);
      w.set(this.pending);
      this.remember(this.pending);
      this.vad.acceptWaveform(w);
      this.pending = new Float32Array(0);
      this.collect();
    }
    this.vad.flush();
    this.collect(true);
    return this.release(true);
  }

  /** Forgets all state (a new conversation turn). */
  reset(): void {
    this.vad.reset();
    this.history = [];
    this.historyStart = this.fed = 0;
    this.pending = new Float32Array(0);
    this.waiting = [];
  }

  private remember(w: Float32Array): void {
    this.history.push(w);
    this.fed += w.length;
    while (this.history.length > 1 && this.fed - this.historyStart - this.history[0].length >= this.retain) {
      this.historyStart += this.history.shift()!.length;
    }
  }

  /** `flushed`: the segments a flush cut, which end where the audio does. */
  private collect(flushed = false): void {
    while (!this.vad.isEmpty()) {
      const seg = this.vad.front(false);
      const overshoot = flushed ? 0 : seg.samples.length > this.maxSpeechSamples ? this.longOvershoot : this.overshoot;
      this.waiting.push({ start: seg.start, end: seg.start + Math.max(0, seg.samples.length - overshoot) });
      this.vad.pop();
    }
  }

  private release(all: boolean): SpeechSegment[] {
    const out: SpeechSegment[] = [];
    while (this.waiting.length > 0 && (all || this.waiting[0].end + this.endPad <= this.fed)) {
      const { start, end } = this.waiting.shift()!;
      const a = Math.max(this.historyStart, start - this.startPad);
      const b = Math.min(this.fed, end + this.endPad);
      const seg: SpeechSegment = { startSample: a, endSample: b, speechStartSample: start, speechEndSample: end, samples: this.slice(a, b) };
      out.push(seg);
      this.emit('segment', seg);
    }
    return out;
  }

  private slice(a: number, b: number): Float32Array {
    const out = new Float32Array(Math.max(0, b - a));
    let pos = this.historyStart;
    for (const chunk of this.history) {
      const cs = pos;
      const ce = pos + chunk.length;
      pos = ce;
      if (ce <= a || cs >= b) continue;
      const from = Math.max(a, cs);
      const to = Math.min(b, ce);
      out.set(chunk.subarray(from - cs, to - cs), from - a);
    }
    return out;
  }
}
