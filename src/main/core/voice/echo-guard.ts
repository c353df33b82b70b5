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
  /** What to feed the VAD. */
  samples: Float32Array;
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
  /** Last good delay (samples), to search around first. */
  private lock: number | null = null;

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
  }

  /** True while the reference may still be echoing at core time `now`. */
  active(now: number): boolean {
    return this.anchor !== null && now < this.anchor + (this.len / RATE) * 1000 + this.tailMs;
  }

  /**
   * Filters a microphone frame (16 kHz mono) whose last sample arrived at core time `endTime`.
   */
  process(frame: Float32Array, endTime: number): EchoDecision {
    if (!this.active(endTime - (frame.length / RATE) * 1000)) return { samples: frame, suppressed: 0, blocks: 0 };
    const out = new Float32Array(frame.length);
    let suppressed = 0;
    let blocks = 0;
    for (let off = 0; off < frame.length; off += BLOCK) {
      const block = frame.subarray(off, Math.min(frame.length, off + BLOCK));
      const blockStart = endTime - ((frame.length - off) / RATE) * 1000;
      // Where the reference is at this block's start, with no delay.
      const pos = Math.round(((blockStart - this.anchor!) / 1000) * RATE);
      blocks++;
      const r = this.cancel(block, pos);
      if (r.suppress) suppressed++;
      else out.set(r.residual, off);
    }
    return { samples: out, suppressed, blocks };
  }

  private cancel(block: Float32Array, pos: number): { residual: Float32Array; suppress: boolean } {
    const n = block.length;
    let micE = 0;
    for (let i = 0; i < n; i++) micE += block[i]! * block[i]!;
    const delay = this.bestDelay(block, pos);
    if (delay === null) return { residual: block, suppress: false };
    const start = pos - delay;
    let mr = 0;
    let rr = 0;
    for (let i = 0; i < n; i++) {
      const r = this.refAt(start + i);
      mr += block[i]! * r;
      rr += r * r;
    }
    if (rr < 1e-9) return { residual: block, suppress: false };
    const g = mr / rr;
    const echoE = g * g * rr;
    const residual = new Float32Array(n);
    for (let i = 0; i < n; i++) residual[i] = block[i]! - g * this.refAt(start + i);
    return { residual, suppress: micE < this.margin * echoE };
  }

  private refAt(i: number): number {
    return i >= 0 && i < this.len ? this.ref[i]! : 0;
  }

  /** The delay (samples) that best explains the block as reference audio, or null when none does. */
  private bestDelay(block: Float32Array, pos: number): number | null {
    const m = Math.floor(block.length / DECIMATE);
    if (m < 8) return this.lock;
    const mic = new Float32Array(m);
    let micE = 0;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < DECIMATE; k++) s += block[i * DECIMATE + k]!;
      mic[i] = s / DECIMATE;
      micE += mic[i]! * mic[i]!;
    }
    if (micE < 1e-9) return this.lock;
    const decAt = (i: number) => (i >= 0 && i < this.len / DECIMATE ? this.dec[i]! : 0);
    let best = -1;
    let bestDelay: number | null = null;
    const lo = Math.floor(this.minDelay / DECIMATE);
    const hi = Math.ceil(this.maxDelay / DECIMATE);
    const base = Math.round(pos / DECIMATE);
    for (let d = lo; d <= hi; d++) {
      const s = base - d;
      let c = 0;
      let e = 0;
      for (let i = 0; i < m; i++) {
        const r = decAt(s + i);
        c += mic[i]! * r;
        e += r * r;
      }
      if (e < 1e-9) continue;
      const score = (c * c) / (e * micE);
      if (score > best) {
        best = score;
        bestDelay = d * DECIMATE;
      }
    }
    if (bestDelay === null || best < 0.1) return this.lock;
    // Refine at full rate around the coarse peak.
    let fine = bestDelay;
    let fineBest = -Infinity;
    for (let d = bestDelay - DECIMATE; d <= bestDelay + DECIMATE; d++) {
      const s = pos - d;
      let c = 0;
      let e = 0;
      for (let i = 0; i < block.length; i++) {
        const r = this.refAt(s + i);
        c += block[i]! * r;
        e += r * r;
      }
      const score = e > 1e-9 ? (c * c) / e : -Infinity;
      if (score > fineBest) {
        fineBest = score;
        fine = d;
      }
    }
    this.lock = fine;
    return fine;
  }
}
