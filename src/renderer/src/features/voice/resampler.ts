/**
 * A streaming resampler for microphone audio: any device rate (48 kHz, 44.1 kHz, ...) to the
 * 16 kHz the core's VAD and ASR take. Windowed-sinc interpolation: when downsampling, the kernel
 * is a low-pass at 90 % of the output's Nyquist, so a 12 kHz whistle at 48 kHz does not fold back
 * into speech at 4 kHz. It keeps its history between calls, so 128-sample AudioWorklet blocks
 * give the same output as one long buffer. Pure: runs in the AudioWorklet and in unit tests.
 */

/** Zero crossings of the sinc on each side: 8 gives > 60 dB stop-band with a Blackman window. */
const ZERO_CROSSINGS = 8;
/** Kernel table resolution, entries per input sample (linear interpolation between them). */
const TABLE_STEPS = 512;

export class StreamingResampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Input samples advanced per output sample. */
  private readonly step: number;
  /** Kernel half-width in input samples. */
  private readonly half: number;
  private readonly table: Float32Array;
  private readonly tableScale: number;
  /** Pending input (history + new); `pos` is the next output's position in it. */
  private buf: Float32Array;
  private pos: number;

  constructor(inRate: number, outRate = 16_000) {
    if (!(inRate > 0 && outRate > 0)) throw new Error(`Bad sample rates ${inRate} → ${outRate}`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    // Cutoff as a fraction of the input rate's Nyquist: only below 1 when downsampling.
    const cutoff = Math.min(1, outRate / inRate) * (inRate > outRate ? 0.9 : 1);
    this.half = Math.ceil(ZERO_CROSSINGS / cutoff);
    const n = this.half * TABLE_STEPS + 2;
    this.table = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = i / TABLE_STEPS;
      const u = cutoff * x;
      const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
      const w = x >= this.half ? 0 : 0.42 + 0.5 * Math.cos((Math.PI * x) / this.half) + 0.08 * Math.cos((2 * Math.PI * x) / this.half);
      this.table[i] = sinc * w;
    }
    this.tableScale = TABLE_STEPS;
    // Silence before the first sample, so output 0 lines up with input 0.
    this.buf = new Float32Array(this.half);
    this.pos = this.half;
  }

  /** Resamples the next block of input; returns the output samples it completes (may be empty). */
  process(input: Float32Array): Float32Array {
    if (this.inRate === this.outRate) return input.slice();
    const buf = new Float32Array(this.buf.length + input.length);
    buf.set(this.buf);
    buf.set(input, this.buf.length);
    const out: number[] = [];
    const last = buf.length - 1;
    while (Math.floor(this.pos) + this.half <= last) {
      const center = Math.floor(this.pos);
      let acc = 0;
      let wsum = 0;
      for (let k = center - this.half + 1; k <= center + this.half; k++) {
        const d = Math.abs(this.pos - k) * this.tableScale;
        const i = Math.floor(d);
        const w = this.table[i]! + (this.table[i + 1]! - this.table[i]!) * (d - i);
        acc += w * buf[k]!;
        wsum += w;
      }
      // Normalising by the weights keeps the DC gain exactly 1 at every fractional position.
      out.push(acc / wsum);
      this.pos += this.step;
    }
    // Keep what the next outputs still need.
    const keepFrom = Math.max(0, Math.floor(this.pos) - this.half + 1);
    this.buf = buf.slice(keepFrom);
    this.pos -= keepFrom;
    return Float32Array.from(out);
  }
}
