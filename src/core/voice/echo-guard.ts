/**
 * Echo guard: keeps the assistant's own voice, played by the client's speakers and picked up by
 * its microphone, from starting a turn (or barging in on itself).
 *
 * Design. The core knows exactly what it is playing: every TTS sample it sends goes into a
 * reference buffer (16 kHz), anchored on the core's clock at the moment playback starts (the
 * client reports it over /api/voice; until then, the moment the first audio was sent). While that
 * audio plays (plus a tail for room reverberation and output latency), each microphone block of
 * 32 ms is matched against the reference around where playback should be: a coarse normalised
 * cross-correlation at 4 kHz over a delay window (-0.1 s … +0.6 s, the client's output + input
 * latency), refined at 16 kHz. With the best delay and a least-squares gain g, the echo estimate is
 * g·ref and
 *  (a) the VAD is fed the residual mic − g·ref, not the raw microphone, and
 *  (b) a block whose energy is not at least `marginDb` (6 dB) above the echo estimate's energy is
 *      fed as silence: during playback, speech must be clearly louder than the echo to count.
 * A user who talks over the assistant is louder than its echo at their own microphone, so a real
 * barge-in passes; the assistant's voice alone does not. In the browser the page also asks
 * getUserMedia for `echoCancellation: true` (Voice II), which removes most echo before it gets here;
 * this guard covers what that leaves and clients without it.
 */

const RATE = 16_000;
const BLOCK = 512;
const DECIMATE = 4;
/** Microphone history used to estimate the echo's delay and gain (256 ms). */
const WINDOW = 4096;
/** Re-estimate every 128 ms. */
const ESTIMATE_EVERY = 2048;
/** Squared normalised correlation above which a window counts as echo (the model adapts to it). */
const ACQUIRE_SCORE = 0.5;

export interface EchoGuardOptions {
  /** Mic energy must exceed the echo estimate by this much to count as speech (default 6 dB). */
  marginDb?: number;
  /** Playback continues to echo this long after the last sample (default 400 ms). */
  tailMs?: number;
  /** Delay window searched between reference and microphone (default -100 … 600 ms). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface EchoDecision {
  /** What to feed the VAD: the residual, with echo-only blocks silenced. */
  samples: Float32Array;
  /** The residual without silencing: what ASR should hear (the echo taken out, the user kept whole). */
  clean: Float32Array;
  /** Blocks suppressed as echo. */
  suppressed: number;
  blocks: number;
}

export class EchoGuard {
  private ref = new Float32Array(RATE * 8);
  private dec = new Float32Array((RATE * 8) / DECIMATE);
  private len = 0;
  /** Core time (ms) at which reference sample 0 plays; null when nothing is playing. */
  private anchor: number | null = null;
  private anchorReported = false;
  private readonly margin: number;
  private readonly tailMs: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  /** The echo's delay (samples) and gain, once estimated. */
  private lock: number | null = null;
  private gain = 0;
  private readonly mic = new Float32Array(WINDOW);
  private micFilled = 0;
  private sinceEstimate = 0;
  /** A first delay estimate waiting for confirmation by the next window. */
  private candidate: number | null = null;
  private candidateAt = 0;
  /** Microphone samples seen, and the capture clock: sample n was captured at micBase + n/16 ms. */
  private micSamples = 0;
  private micBase: number | null = null;

  constructor(opts: EchoGuardOptions = {}) {
    this.margin = Math.pow(10, (opts.marginDb ?? 6) / 10);
    this.tailMs = opts.tailMs ?? 400;
    this.minDelay = Math.round(((opts.minDelayMs ?? -100) * RATE) / 1000);
    this.maxDelay = Math.round(((opts.maxDelayMs ?? 600) * RATE) / 1000);
  }

  /** Audio the core sent for playback (16 kHz mono float), at core time `now` (ms). */
  addPlayed(samples: Float32Array, now: number): void {
    if (this.anchor === null) this.anchor = now;
    if (this.len + samples.length > this.ref.length) {
      const grown = new Float32Array(Math.max(this.ref.length * 2, this.len + samples.length));
      grown.set(this.ref.subarray(0, this.len));
      this.ref = grown;
      const d = new Float32Array(Math.ceil(grown.length / DECIMATE));
      d.set(this.dec);
      this.dec = d;
    }
    const before = this.len;
    this.ref.set(samples, this.len);
    this.len += samples.length;
    for (let i = Math.floor(before / DECIMATE); i < Math.floor(this.len / DECIMATE); i++) {
      let s = 0;
      for (let k = 0; k < DECIMATE; k++) s += this.ref[i * DECIMATE + k]!;
      this.dec[i] = s / DECIMATE;
    }
  }

  /** The client reported that playback of the current reply started at core time `at`. */
  playbackStarted(at: number): void {
    if (this.len === 0 && this.anchor === null) {
      this.anchor = at;
    } else if (!this.anchorReported) {
      this.anchor = at;
    }
    this.anchorReported = true;
  }

  /** Playback was stopped (barge-in) or a new reply begins: forget the reference. */
  reset(): void {
    this.len = 0;
    this.anchor = null;
    this.anchorReported = false;
    this.lock = null;
    this.gain = 0;
    this.candidate = null;
  }

  /** True while the reference may still be echoing at core time `now`. */
  active(now: number): boolean {
    return this.anchor !== null && now < this.anchor + (this.len / RATE) * 1000 + this.tailMs;
  }

  /**
   * Filters a microphone frame (16 kHz mono) whose last sample arrived at core time `endTime`.
   */
  process(frame: Float32Array, endTime: number): EchoDecision {
    // Frames arrive late by a varying amount (network, event loop), never early: the earliest
    // arrival relative to the sample count is the best estimate of the capture clock.
    this.micSamples += frame.length;
    const base = endTime - (this.micSamples / RATE) * 1000;
    if (this.micBase === null || base < this.micBase) this.micBase = base;
    endTime = this.micBase + (this.micSamples / RATE) * 1000;
    this.remember(frame);
    if (!this.active(endTime - (frame.length / RATE) * 1000)) return { samples: frame, clean: frame, suppressed: 0, blocks: 0 };
    const out = new Float32Array(frame.length);
    const clean = new Float32Array(frame.length);
    let suppressed = 0;
    let blocks = 0;
    for (let off = 0; off < frame.length; off += BLOCK) {
      const block = frame.subarray(off, Math.min(frame.length, off + BLOCK));
      const blockStart = endTime - ((frame.length - off) / RATE) * 1000;
      // Where the reference is at this block's start, with no delay.
      const pos = Math.round(((blockStart - this.anchor!) / 1000) * RATE);
      blocks++;
      this.sinceEstimate += block.length;
      // Searching the whole delay window costs more: while unlocked, every 64 ms.
      if (this.sinceEstimate >= (this.lock === null ? ESTIMATE_EVERY / 2 : ESTIMATE_EVERY)) this.estimate(pos + block.length, frame.length - off - block.length);
      const r = this.cancel(block, pos);
      clean.set(r.residual, off);
      if (r.suppress) suppressed++;
      else out.set(r.residual, off);
    }
    return { samples: out, clean, suppressed, blocks };
  }

  /** Keeps the last WINDOW microphone samples for delay estimation. */
  private remember(frame: Float32Array): void {
    if (frame.length >= WINDOW) {
      this.mic.set(frame.subarray(frame.length - WINDOW));
    } else {
      this.mic.copyWithin(0, frame.length);
      this.mic.set(frame, WINDOW - frame.length);
    }
    this.micFilled = Math.min(WINDOW, this.micFilled + frame.length);
  }

  /** Per block: residual against the echo estimate G·ref at the locked delay, and whether it is only echo. */
  private cancel(block: Float32Array, pos: number): { residual: Float32Array; suppress: boolean } {
    if (this.lock === null) return { residual: block, suppress: false };
    const n = block.length;
    const start = pos - this.lock;
    let micE = 0;
    let echoE = 0;
    const residual = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const e = this.gain * this.refAt(start + i);
      micE += block[i]! * block[i]!;
      echoE += e * e;
      residual[i] = block[i]! - e;
    }
    return { residual, suppress: micE < this.margin * echoE };
  }

  private refAt(i: number): number {
    return i >= 0 && i < this.len ? this.ref[i]! : 0;
  }

  /**
   * Finds the delay and gain of the echo over the last WINDOW microphone samples (256 ms: long
   * enough that a chance match between speech and reference scores low), ending at reference
   * position `endPos`, minus `ahead` samples of the frame not processed yet. Keeps the previous
   * estimate when the window is not dominated by echo (the user is talking over it).
   */
  private estimate(endPos: number, ahead: number): void {
    this.sinceEstimate = 0;
    if (this.micFilled < WINDOW) return;
    const m = WINDOW / DECIMATE;
    const mic = new Float32Array(m);
    let micE = 0;
    const first = WINDOW - ahead - WINDOW;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < DECIMATE; k++) {
        const j = first + i * DECIMATE + k;
        s += j >= 0 ? this.mic[j]! : 0;
      }
      mic[i] = s / DECIMATE;
      micE += mic[i]! * mic[i]!;
    }
    if (micE < 1e-7) return;
    const startPos = endPos - WINDOW;
    if (this.lock !== null) {
      // Double talk (the user speaks over the echo): the window holds more than the echo model
      // explains, so it must not adapt the model.
      let refE = 0;
      for (let x = ahead; x < WINDOW; x++) {
        const r = this.gain * this.refAt(startPos - this.lock + x);
        refE += r * r;
      }
      let full = 0;
      for (let x = 0; x < WINDOW - ahead; x++) full += this.mic[x]! * this.mic[x]!;
      if (full > 2 * refE) return;
    }
    const decLen = Math.floor(this.len / DECIMATE);
    const decAt = (i: number) => (i >= 0 && i < decLen ? this.dec[i]! : 0);
    let best = 0;
    let bestDelay: number | null = null;
    // Once locked, the echo path is physically stable: track it within ±10 ms only, so a user
    // talking over a pause of the reference can never pass for a new echo path.
    const track = this.lock !== null;
    const lo = track ? Math.floor((this.lock! - 160) / DECIMATE) : Math.floor(this.minDelay / DECIMATE);
    const hi = track ? Math.ceil((this.lock! + 160) / DECIMATE) : Math.ceil(this.maxDelay / DECIMATE);
    const base = Math.round(startPos / DECIMATE);
    for (let d = lo; d <= hi; d++) {
      const s = base - d;
      let c = 0;
      let e = 0;
      for (let i = 0; i < m; i++) {
        const r = decAt(s + i);
        c += mic[i]! * r;
        e += r * r;
      }
      if (e < 1e-9 || c <= 0) continue;
      const score = (c * c) / (e * micE);
      if (score > best) {
        best = score;
        bestDelay = d * DECIMATE;
      }
    }
    if (bestDelay === null || best < ACQUIRE_SCORE) return;
    const prev = { lock: this.lock, gain: this.gain };
    // Refine at full rate around the coarse peak; the gain is the least-squares one there.
    let fineBest = -Infinity;
    for (let d = bestDelay - DECIMATE; d <= bestDelay + DECIMATE; d++) {
      const s = startPos - d;
      let c = 0;
      let e = 0;
      for (let x = ahead; x < WINDOW; x++) {
        const r = this.refAt(s + x);
        c += this.mic[x - ahead]! * r;
        e += r * r;
      }
      const score = e > 1e-9 ? (c * c) / e : -Infinity;
      if (score > fineBest) {
        fineBest = score;
        this.lock = d;
        this.gain = e > 1e-9 ? c / e : 0;
      }
    }
    // Nor does its gain jump: a window where it would is the user's voice, not a new echo path.
    if (track && (this.gain > prev.gain * 2 || this.gain < prev.gain / 2)) {
      this.lock = prev.lock;
      this.gain = prev.gain;
    }
    if (!track) {
      // A first lock needs windows 128 ms apart to agree on the delay: voiced speech with the same
      // pitch as the reply can match one window by chance, not two at the same lag.
      const found = this.lock!;
      if (this.candidate === null || Math.abs(this.candidate - found) > 8) {
        this.candidate = found;
        this.candidateAt = this.micSamples;
      }
      if (this.micSamples - this.candidateAt < ESTIMATE_EVERY) {
        this.lock = null;
        this.gain = 0;
      }
    }
  }
}
