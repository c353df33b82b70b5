/**
 * A per-window reading of the Silero speech decision, so the turn engine knows at every frame how
 * long the user has been silent. sherpa-onnx's `Vad` keeps its speech probabilities inside and only
 * reports a segment once its whole minimum silence has passed; run with (almost) no minimum
 * speech or silence, a second `Vad` on the same frames answers "speech in this 32 ms window or
 * not" (with Silero's own hysteresis: entering speech needs the threshold, staying in it
 * threshold − 0.15). The early mark and the adaptive end of turn count silence from this.
 *
 * Silero decides per 32 ms window, so a count of whole windows reaches a given silence up to a
 * window late. The samples after the last whole window (less than one) count as silence too when
 * they are as quiet as the quietest window of the silence so far (its noise floor): the count
 * then follows the frames as they arrive, and a window ends within a frame of the silence asked
 * for. Speech coming back is louder than the floor, so it never counts (Silero itself may call its
 * first window silence: the floor is not taken from it); a soft onset that slips under the level
 * can end a turn at most one window early, where a whole-window count would have waited to see it.
 */
import sherpa from 'sherpa-onnx-node';
import { VAD_SAMPLE_RATE } from './vad.js';

/** Silero's window at 16 kHz (as the segmenting detector uses). */
const WINDOW = 512;
/** Below one window: sherpa refuses zero, and any value under a window means "decide per window". */
const TINY_SECONDS = 0.01;
/**
 * Where speech ended, counted back from the window in which the detector lets go of it: sherpa
 * still reports speech for the first window below the threshold (its minimum silence is checked
 * on the next one), so speech ended two windows back, at the end of the first quiet window.
 * Counting from there, this reader's silence starts where the segmenting detector's speech ends
 * (the timeline's speech end), not one window later.
 */
const SPEECH_END_BACK = 2 * WINDOW;
/**
 * The loudest the samples after the last whole window may be to count as silence: this many times
 * the RMS of the quietest window of the silence so far (6 dB over it, room for a noise floor's
 * flutter), and never less than QUIET_FLOOR (about −54 dBFS, under any voiced onset; digital
 * silence would otherwise allow nothing at all).
 */
const QUIET_RATIO = 2;
const QUIET_FLOOR = 0.002;

function rms(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return x.length === 0 ? 0 : Math.sqrt(sum / x.length);
}

export class SpeechFrameReader {
  private readonly vad: InstanceType<typeof sherpa.Vad>;
  private pending = new Float32Array(0);
  private fed = 0;
  private lastSpeechEnd = -1;
  private inSpeech = false;
  /** RMS of the quietest window of the silence so far (Infinity in speech). */
  private floorRms = Infinity;
  /** The samples after the last whole window are quiet enough to count as silence. */
  private quietTail = false;

  constructor(opts: { modelPath: string; threshold?: number }) {
    this.vad = new sherpa.Vad(
      {
        sileroVad: { model: opts.modelPath, threshold: opts.threshold ?? 0.5, minSilenceDuration: TINY_SECONDS, minSpeechDuration: TINY_SECONDS, maxSpeechDuration: 30, windowSize: WINDOW },
        sampleRate: VAD_SAMPLE_RATE,
        numThreads: 1,
        provider: 'cpu',
        debug: 0,
      },
      // As the segmenting detector's: a segment is popped as soon as it ends, but one of
      // continuous speech (up to maxSpeechDuration) is buffered until then.
      40,
    );
  }

  /** Feeds audio (16 kHz mono, any length), in step with the segmenting detector. */
  feed(samples: Float32Array): void {
    const joined = new Float32Array(this.pending.length + samples.length);
    joined.set(this.pending);
    joined.set(samples, this.pending.length);
    const whole = joined.length - (joined.length % WINDOW);
    for (let i = 0; i < whole; i += WINDOW) {
      this.vad.acceptWaveform(joined.subarray(i, i + WINDOW));
      this.fed += WINDOW;
      const detected = this.vad.isDetected();
      this.floorRms = detected ? Infinity : Math.min(this.floorRms, rms(joined.subarray(i, i + WINDOW)));
      if (detected) this.lastSpeechEnd = this.fed;
      else if (this.inSpeech) this.lastSpeechEnd = this.fed - SPEECH_END_BACK;
      this.inSpeech = detected;
      while (!this.vad.isEmpty()) this.vad.pop();
    }
    this.pending = joined.slice(whole);
    this.quietTail = !this.inSpeech && rms(this.pending) <= Math.max(QUIET_FLOOR, QUIET_RATIO * (Number.isFinite(this.floorRms) ? this.floorRms : 0));
  }

  /** Whether the last whole window was speech. */
  get speaking(): boolean {
    return this.inSpeech;
  }

  /**
   * Silence since the last speech window, ms (Infinity before any speech): the whole windows
   * Silero called silence, and the samples after them when they are as quiet.
   */
  get silenceMs(): number {
    if (this.inSpeech) return 0;
    if (this.lastSpeechEnd < 0) return Infinity;
    return ((this.fed + (this.quietTail ? this.pending.length : 0) - this.lastSpeechEnd) / VAD_SAMPLE_RATE) * 1000;
  }
}
